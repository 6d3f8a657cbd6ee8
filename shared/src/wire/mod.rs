//! The sync protocol's frames: the only code that serialises for the network.
//!
//! A frame on the wire is `b'P'`, the protocol version, then the frame body in postcard. The
//! changes inside a [`Frame::Changes`] are a zstd-compressed postcard list of [`Item`]s. Every
//! decoder here bounds what it reads and allocates: a hostile peer gets an error, never a panic
//! or an unbounded allocation.

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const VERSION: u8 = 3;
const MAGIC: u8 = b'P';
/// The largest frame accepted from a peer.
pub const MAX_FRAME: usize = 1 << 20;
/// The largest decompressed payload accepted from a peer.
pub const MAX_PAYLOAD: usize = 8 << 20;

/// Sync priority class on the wire: 0 urgent, 1 records, 2 bulk.
pub type ClassByte = u8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's node id, for logs and status only: the hub takes a gateway's identity and
    /// facility from its verified certificate, never from this field.
    pub node: String,
    /// Per class, the sender's receive cursor: "I hold everything you sent up to this seq of
    /// yours."
    pub have: [u64; 3],
    /// Whether the sender has already heard the receiver's hello. A hello with `false` that
    /// reaches a session already live is answered with our hello again: the first was lost.
    pub heard: bool,
    /// A gateway's link policy, which the hub applies to what it sends back; `None` from the hub.
    pub link: Option<LinkTerms>,
    /// The sender's clock when it sent this hello: the receiver reports how far the two
    /// clocks differ (status only; nothing depends on the clocks agreeing).
    pub clock: i64,
}

/// A link policy as it travels in a gateway's hello.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkTerms {
    pub rate_bps: u64,
    pub utc_offset_minutes: i32,
    /// `(class, from, to)`: minutes after local midnight.
    pub windows: Vec<(ClassByte, u16, u16)>,
    pub daily_bytes: [Option<u64>; 3],
    pub monthly_bytes: [Option<u64>; 3],
}

/// One document's changes, or the instruction to drop a document that moved away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    Doc {
        doc: String,
        kind: u8,
        scope: String,
        /// Raw Automerge changes, in causal order.
        changes: Vec<Vec<u8>>,
    },
    Drop {
        doc: String,
        moved_to: String,
        at: i64,
        by: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The peer speaks a protocol version this node does not.
    UnsupportedVersion,
    /// A frame could not be decoded.
    Malformed,
    /// The peer is not allowed to sync.
    Forbidden,
    /// This node failed; the peer may retry later.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    Hello(Hello),
    /// The sender's feed entries in `(from, to]` of one class, as documents. `from == to == 0`
    /// marks a repair that answers [`Frame::Need`] and moves no cursor.
    ///
    /// Frames form chains: each of an `epoch` follows the one before it (`from` is its `to`),
    /// and leaves out what that one carried. A sender that resends starts a new epoch with a
    /// `first` frame built only from what the receiver acknowledged. A receiver applies a frame
    /// only where it continues the chain it is on, or starts a newer one.
    Changes {
        class: ClassByte,
        epoch: u32,
        first: bool,
        from: u64,
        to: u64,
        /// zstd-compressed postcard `Vec<Item>`.
        payload: Vec<u8>,
    },
    /// "I hold, durably, everything you sent in this class up to `upto`; of chain `epoch` I
    /// applied every frame up to `chain`."
    Ack {
        class: ClassByte,
        epoch: u32,
        chain: u64,
        upto: u64,
    },
    /// A document's changes were not applied: the receiver refuses them.
    Refused {
        doc: String,
        reason: String,
    },
    /// Changes for `doc` arrived whose dependencies are missing; send what `have` lacks.
    Need {
        doc: String,
        have: Vec<[u8; 32]>,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    /// What the sender still has for the receiver, per class, so that each side can show both
    /// directions. For status only; it moves no cursor.
    Pending {
        changes: [u64; 3],
        bytes: [u64; 3],
        oldest: [Option<i64>; 3],
    },
}

/// A frame that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("frame of {0} bytes is larger than the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    #[error("frame is empty or truncated")]
    Truncated,
    #[error("frame does not start with the protocol marker")]
    NotPathway,
    /// The peer speaks another version of the protocol.
    #[error("peer speaks protocol version {0}; this node speaks version {VERSION}")]
    Version(u8),
    #[error("frame body does not decode: {0}")]
    Body(String),
    #[error("changes payload does not decompress within {MAX_PAYLOAD} bytes: {0}")]
    Payload(String),
}

impl Frame {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![MAGIC, VERSION];
        // postcard writes into a Vec without failing for these types.
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Frame, WireError> {
        if bytes.len() > MAX_FRAME {
            return Err(WireError::TooLarge(bytes.len()));
        }
        match bytes {
            [] | [_] => Err(WireError::Truncated),
            [m, ..] if *m != MAGIC => Err(WireError::NotPathway),
            [_, v, ..] if *v != VERSION => Err(WireError::Version(*v)),
            [_, _, body @ ..] => {
                postcard::from_bytes(body).map_err(|e| WireError::Body(e.to_string()))
            }
        }
    }
}

/// Compresses a list of items for [`Frame::Changes`].
pub fn pack_items(items: &[Item], level: i32) -> Vec<u8> {
    let raw = postcard::to_allocvec(items).unwrap_or_default();
    zstd::bulk::compress(&raw, level).unwrap_or_default()
}

/// The uncompressed size of `items`, for sizing frames.
pub fn raw_size(items: &[Item]) -> usize {
    postcard::experimental::serialized_size(items).unwrap_or(usize::MAX)
}

pub fn unpack_items(payload: &[u8]) -> Result<Vec<Item>, WireError> {
    let raw = zstd::bulk::decompress(payload, MAX_PAYLOAD)
        .map_err(|e| WireError::Payload(e.to_string()))?;
    postcard::from_bytes(&raw).map_err(|e| WireError::Body(e.to_string()))
}

#[cfg(test)]
mod tests;
