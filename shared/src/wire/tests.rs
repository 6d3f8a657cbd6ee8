use expect_test::expect;
use proptest::prelude::*;

use super::*;

#[test]
fn frames_are_pinned_byte_for_byte() {
    let hello = Frame::Hello(Hello {
        node: "gw-whk".into(),
        have: [0, 7, 300],
        heard: false,
        link: Some(LinkTerms {
            rate_bps: 256_000,
            utc_offset_minutes: 120,
            windows: vec![(2, 1320, 300)],
            daily_bytes: [None, Some(50_000_000), None],
            monthly_bytes: [None, None, Some(1 << 30)],
        }),
        clock: 1_796_000_000_000,
    });
    expect!["5003000667772d77686b0007ac02000180d00ff0010102a80aac02000180e1eb1700000001808080800480a0899fc568"]
        .assert_eq(&hex::encode(hello.encode()));
    let ack = Frame::Ack {
        class: 1,
        epoch: 2,
        chain: 900,
        upto: 1_000,
    };
    expect!["50030201028407e807"].assert_eq(&hex::encode(ack.encode()));
    let items = vec![Item::Doc {
        doc: "case/P1".into(),
        kind: 6,
        scope: "person:P1@WHK".into(),
        changes: vec![vec![1, 2, 3]],
    }];
    let payload = pack_items(&items, 3);
    assert_eq!(unpack_items(&payload).unwrap(), items);
}

#[test]
fn bad_frames_are_errors() {
    assert_eq!(Frame::decode(&[]), Err(WireError::Truncated));
    assert_eq!(Frame::decode(b"X\x01\x00"), Err(WireError::NotPathway));
    assert_eq!(Frame::decode(b"P\x09\x00"), Err(WireError::Version(9)));
    assert_eq!(Frame::decode(b"P\x02\x00"), Err(WireError::Version(2)));
    assert!(matches!(
        Frame::decode(b"P\x03\x63"),
        Err(WireError::Body(_))
    ));
    assert!(matches!(
        Frame::decode(&vec![b'P'; MAX_FRAME + 1]),
        Err(WireError::TooLarge(_))
    ));
    // A zstd bomb: 64 MiB of zeros compress to a few KiB and must be refused.
    let bomb = zstd::bulk::compress(&vec![0u8; 64 << 20], 3).unwrap();
    assert!(matches!(unpack_items(&bomb), Err(WireError::Payload(_))));
    // A length prefix claiming more than the input holds.
    let mut body = vec![b'P', VERSION, 1, 0, 0, 0];
    body.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(Frame::decode(&body).is_err());
}

proptest! {
    #[test]
    fn any_bytes_decode_to_a_frame_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Frame::decode(&bytes);
        let mut framed = vec![b'P', VERSION];
        framed.extend(&bytes);
        let _ = Frame::decode(&framed);
        let _ = unpack_items(&bytes);
    }

    #[test]
    fn frames_round_trip(node in "[a-z0-9-]{0,20}", have in any::<[u64; 3]>(), class in 0u8..3, from in any::<u64>(), to in any::<u64>(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        for f in [Frame::Hello(Hello { node: node.clone(), have, heard: false, link: None, clock: 0 }), Frame::Changes { class, epoch: 3, first: true, from, to, payload: payload.clone() }, Frame::Ack { class, epoch: 3, chain: from, upto: to }] {
            prop_assert_eq!(Frame::decode(&f.encode()).unwrap(), f);
        }
    }
}
