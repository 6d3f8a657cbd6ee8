/// A console's certificate serves TLS servers only, a gateway's is a client's only: a key
/// taken from one box's console cannot pass as a gateway, nor a gateway's as a console.
#[test]
fn each_certificate_serves_only_the_use_it_was_issued_for() {
    let ca = Ca::generate("Test CA").unwrap();
    let console = ca.issue_hub("whk.pathway.local").unwrap();
    let gateway = ca.issue_gateway("gw-whk01-a", "WHK", 30).unwrap();
    let der = |pem: &str| first_cert(pem, "t").unwrap();
    let now = rustls::pki_types::UnixTime::now();
    assert!(verify_client(&ca.creds.cert_pem, &der(&console.cert_pem), now).is_err());
    assert!(verify_client(&ca.creds.cert_pem, &der(&gateway.cert_pem), now).is_ok());
    assert!(
        verify_hub(
            &ca.creds.cert_pem,
            &der(&console.cert_pem),
            "whk.pathway.local"
        )
        .is_ok()
    );
    assert!(issued_by(&ca.creds.cert_pem, &console.cert_pem).is_ok());
    assert!(issued_by(&ca.creds.cert_pem, &gateway.cert_pem).is_ok());
}

use super::*;

#[test]
fn a_renewed_certificate_keeps_the_gateway_its_facility_and_its_key() {
    let ca = Ca::generate("Pathway test CA").unwrap();
    let old = ca.issue_gateway("gw-whk-1", "WHK", -1).unwrap();
    let renewed = ca.renew_gateway(&old.cert_pem, 400).unwrap();
    let creds = Credentials {
        cert_pem: renewed.clone(),
        key_pem: old.key_pem.clone(),
    };
    check_pair(&creds, "renewed").unwrap();
    issued_by(&ca.creds.cert_pem, &renewed).unwrap();
    assert_eq!(
        gateway_identity(&first_cert(&renewed, "r").unwrap()).unwrap(),
        gateway_identity(&first_cert(&old.cert_pem, "o").unwrap()).unwrap()
    );
    assert!(expires_at(&renewed, "r").unwrap() > expires_at(&old.cert_pem, "o").unwrap());
    let other = Ca::generate("Another CA").unwrap();
    assert!(
        other.renew_gateway(&old.cert_pem, 400).is_err(),
        "only the issuing CA renews"
    );
}

#[test]
fn a_renewed_server_certificate_keeps_its_name_and_its_key() {
    let ca = Ca::generate("Pathway test CA").unwrap();
    let old = ca.issue_server("hub.pathway.test", -1).unwrap();
    let renewed = ca.renew_server(&old.cert_pem, 400).unwrap();
    check_pair(
        &Credentials {
            cert_pem: renewed.clone(),
            key_pem: old.key_pem.clone(),
        },
        "renewed",
    )
    .unwrap();
    verify_hub(
        &ca.creds.cert_pem,
        &first_cert(&renewed, "r").unwrap(),
        "hub.pathway.test",
    )
    .unwrap();
    assert!(expires_at(&renewed, "r").unwrap() > expires_at(&old.cert_pem, "o").unwrap());
    let other = Ca::generate("Another CA").unwrap();
    assert!(
        other.renew_server(&old.cert_pem, 400).is_err(),
        "only the issuing CA renews"
    );
    let gw = ca.issue_gateway("gw-whk-1", "WHK", 30).unwrap();
    let e = ca.renew_server(&gw.cert_pem, 400).unwrap_err();
    assert!(e.to_string().contains("pathway ca renew gw-whk-1"), "{e}");
}

#[test]
fn a_gateway_certificate_names_its_gateway_and_facility() {
    let ca = Ca::generate("Pathway test CA").unwrap();
    let gw = ca.issue_gateway("gw-whk-1", "WHK", 30).unwrap();
    let der = certs(&gw.cert_pem, "cert").unwrap();
    assert_eq!(
        gateway_identity(&der[0]).unwrap(),
        GatewayIdentity {
            gateway: "gw-whk-1".into(),
            facility: "WHK".into()
        }
    );
    let hub = ca.issue_hub("hub.pathway.test").unwrap();
    assert!(gateway_identity(&certs(&hub.cert_pem, "cert").unwrap()[0]).is_err());
    assert!(server_tls(&ca.creds.cert_pem, &hub).is_ok());
    assert!(client_tls(&ca.creds.cert_pem, &gw).is_ok());
    assert!(matches!(
        client_tls("not pem", &gw),
        Err(IdentityError::Pem { .. })
    ));
}

#[test]
fn validity_is_counted_from_the_cas_clock() {
    let day = 86_400_000;
    let now = crate::clock::now_ms();
    let (clock, time) = Clock::manual(now - 40 * day);
    let ca = Ca::generate_at("Pathway test CA", clock).unwrap();
    let read = |pem: &str| {
        let der = certs(pem, "cert").unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der[0]).unwrap();
        let v = cert.validity();
        (v.not_before.timestamp(), v.not_after.timestamp())
    };
    // Issued 40 days ago for 30 days: it ran out ten days ago.
    let (_, until) = read(&ca.issue_gateway("gw-old", "WHK", 30).unwrap().cert_pem);
    assert!((until - (now - 10 * day) / 1000).abs() < 5, "{until}");
    time.set(now);
    let (from, until) = read(&ca.issue_gateway("gw-new", "WHK", 30).unwrap().cert_pem);
    assert!(from <= now / 1000 && until > (now + 29 * day) / 1000);
}
