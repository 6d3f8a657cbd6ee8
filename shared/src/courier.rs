//! Courier files, for a site with no link at all: a gateway writes the changes the hub has not
//! acknowledged to a file someone carries to the hub on a USB stick; the hub takes them as a
//! live session would and writes a receipt; the receipt, carried back, moves the gateway's
//! cursors so nothing carried is sent again.
//!
//! A file is `MAGIC`, then a postcard [`Envelope`]: the header (readable: what it is, who wrote
//! it for whom, who carried it, the sender's certificate), the body sealed to the recipient's
//! certificate key and bound to the header, and the sender's signature over both. So a file
//! opens only at the node it was written for, an edited or cut file is refused, and the hub
//! takes a gateway's facility from the certificate (checked against the CA, as TLS would), never
//! from the file. Each node keeps, in its node-local tables, what it wrote or took: a file
//! imported twice changes nothing the second time (the stored receipt is written again), and a
//! receipt is taken only for a file this gateway wrote.
//!
//! The hub's changes travel back the same way: a receipt also carries what the hub holds for
//! the gateway that the gateway has not acknowledged (staff accounts, the catalogue, moves,
//! renewals), which the gateway applies as a live session would; the gateway's next changes
//! file carries its acknowledgement, which moves the hub's cursors. Each side sends again what
//! the other has not acknowledged, and applying a change twice changes nothing.

use serde::{Deserialize, Serialize};

use crate::identity::{self, Credentials, GatewayIdentity, IdentityError};
use crate::model::Millis;
use crate::store::{ReviewReason, Store, StoreError};
use crate::sync::courier::{self as carry, Carried, Taken};
use crate::sync::{Side, SyncError};

/// What every courier file starts with: its kind of file and format version.
pub const MAGIC: &[u8; 8] = b"PWCOUR01";
/// Local table of the files a gateway wrote (id → what they carried).
const WRITTEN: &str = "courier_out";
/// Local table of the files a hub took (id → the receipt it wrote).
const TAKEN: &str = "courier_in";
/// Local table, at the hub: what each receipt carried back to the gateway (id → `Carried`).
const SENT_BACK: &str = "courier_back";
/// Local table, at a gateway: what it took of the hub's changes on the last receipt (`LAST`).
const TOOK_BACK: &str = "courier_took";
const LAST: &str = "last";

/// A changes file's body: the gateway's changes, and its acknowledgement of the hub's changes
/// on the last receipt it took.
#[derive(Serialize, Deserialize)]
struct ChangesBody {
    frames: Vec<Vec<u8>>,
    took: Option<TookBack>,
}

/// What a gateway took of the hub's changes on a receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TookBack {
    /// The receipt's (and its changes file's) id.
    receipt: [u8; 16],
    taken: Taken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileKind {
    /// A gateway's changes, for the hub.
    Changes,
    /// The hub's receipt for a changes file, for the gateway.
    Receipt,
}

/// The readable part of a file; the sealed body is bound to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub kind: FileKind,
    /// The changes file's id; a receipt carries the id of the file it answers.
    pub id: [u8; 16],
    /// The writer: a gateway id, or the hub's name.
    pub from: String,
    /// Whom it is for: the hub's name, or a gateway id.
    pub to: String,
    pub made_at: Millis,
    /// Who took the file away (a changes file) or who imported it (a receipt), as they said.
    pub person: String,
    /// The writer's certificate, DER.
    pub sender: Vec<u8>,
    /// The writer's one-time key for the sealed body.
    one_time: Vec<u8>,
}

impl Header {
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    header: Vec<u8>,
    sealed: Vec<u8>,
    signature: Vec<u8>,
}

/// The body of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub gateway: String,
    pub taken: Taken,
    pub carried_by: String,
    pub imported_at: Millis,
    /// A renewed certificate the national administrator sent for this gateway (`pathway ca
    /// renew`), other than the one the file was signed with: a site with no link takes it
    /// from the receipt.
    pub certificate: Option<String>,
    /// The hub's changes for the gateway that it had not acknowledged, as frames.
    pub back: Vec<Vec<u8>>,
    /// Changes in `back`.
    pub back_changes: u64,
}

/// What the hub keeps of a file it took: the receipt as written (sealed to the gateway) and
/// what it says.
#[derive(Serialize, Deserialize)]
struct TakenFile {
    receipt: Vec<u8>,
    body: Receipt,
}

/// What a gateway keeps of a file it wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub made_at: Millis,
    pub carried_by: String,
    pub carried: Carried,
    /// When its receipt was taken.
    pub receipted_at: Option<Millis>,
}

/// What is wrong with a courier file or its use, in words for the person holding it.
#[derive(Debug, thiserror::Error)]
pub enum CourierError {
    #[error("this is not a Pathway courier file (it does not start as one)")]
    NotCourier,
    #[error("the file is cut short or damaged ({0}); copy it again from the gateway")]
    Damaged(String),
    #[error("the file was changed after it was written: its signature does not match")]
    Signature,
    #[error("the file was not written by {expected}: {detail}")]
    Sender { expected: String, detail: String },
    #[error("the file is for {to}, not this node ({me})")]
    NotForUs { to: String, me: String },
    #[error("the file does not open with this node's key: it was sealed for another {0}")]
    Sealed(&'static str),
    #[error("this is a {found:?} file; {wanted:?} was expected")]
    Kind { found: FileKind, wanted: FileKind },
    #[error(
        "this receipt answers file {0}, which this gateway did not write: it is another gateway's, or this store was restored since"
    )]
    NotOurs(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Carry(#[from] carry::CourierError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).expect("a courier value serialises")
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, CourierError> {
    match postcard::take_from_bytes(bytes) {
        Ok((v, [])) => Ok(v),
        Ok(_) => Err(CourierError::Damaged(format!("bytes after the {what}"))),
        Err(e) => Err(CourierError::Damaged(format!("{what}: {e}"))),
    }
}

fn signed_part(header: &[u8], sealed: &[u8]) -> Vec<u8> {
    let mut m = MAGIC.to_vec();
    m.extend_from_slice(&(header.len() as u64).to_be_bytes());
    m.extend_from_slice(header);
    m.extend_from_slice(sealed);
    m
}

/// Writes a file: `body` sealed to `recipient` (its certificate, DER), signed with `me`.
fn write(
    mut header: Header,
    me: &Credentials,
    recipient: &[u8],
    body: &[u8],
) -> Result<Vec<u8>, CourierError> {
    header.sender = identity::first_cert(&me.cert_pem, "certificate")?.to_vec();
    // The body is bound to the header as it is before the one-time key goes in; the key
    // itself is covered by the signature and by the sealing key's derivation.
    header.one_time = Vec::new();
    let (one_time, sealed) = identity::seal_to(recipient, &encode(&header), body)?;
    header.one_time = one_time;
    let head = encode(&header);
    let signature = identity::sign(me, &signed_part(&head, &sealed))?;
    let mut out = MAGIC.to_vec();
    out.extend(encode(&Envelope {
        header: head,
        sealed,
        signature,
    }));
    Ok(out)
}

/// Reads a file's header and checks its signature against the certificate it carries, which
/// `check_sender` checks first. Nothing is opened yet.
fn read(
    bytes: &[u8],
    check_sender: impl FnOnce(&Header) -> Result<(), CourierError>,
) -> Result<(Header, Envelope), CourierError> {
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(CourierError::NotCourier)?;
    let env: Envelope = decode(body, "file")?;
    let header: Header = decode(&env.header, "header")?;
    check_sender(&header)?;
    if !identity::signed_by(
        &header.sender,
        &signed_part(&env.header, &env.sealed),
        &env.signature,
    ) {
        return Err(CourierError::Signature);
    }
    Ok((header, env))
}

/// The body of a file read with [`read`], opened with `me`'s key.
fn open(
    header: &Header,
    env: &Envelope,
    me: &Credentials,
    what: &'static str,
) -> Result<Vec<u8>, CourierError> {
    let aad = encode(&Header {
        one_time: Vec::new(),
        ..header.clone()
    });
    identity::open_sealed(me, &header.one_time, &aad, &env.sealed).ok_or(CourierError::Sealed(what))
}

fn kind(header: &Header, wanted: FileKind) -> Result<(), CourierError> {
    if header.kind != wanted {
        return Err(CourierError::Kind {
            found: header.kind,
            wanted,
        });
    }
    Ok(())
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub id: String,
    pub changes: u64,
    pub bytes: usize,
}

/// The hub's side of a courier, as a gateway knows it.
pub struct HubEnd<'a> {
    /// The hub's node id in this gateway's cursors.
    pub node: &'a str,
    /// The name in the hub's certificate.
    pub name: &'a str,
    /// The hub's certificate, PEM: what the file is sealed to.
    pub cert_pem: &'a str,
}

/// A gateway writes every change the hub has not acknowledged to a file for `hub`, carried by
/// `carried_by`, with its acknowledgement of the hub's changes on the last receipt. What it
/// carried is kept until the receipt comes back; nothing else changes.
pub fn export(
    store: &Store,
    (gateway, me): (&str, &Credentials),
    hub: &HubEnd<'_>,
    carried_by: &str,
    now: Millis,
) -> Result<(Vec<u8>, ExportSummary), CourierError> {
    let hub_der = identity::first_cert(hub.cert_pem, "hub certificate")?;
    // A file with none of the gateway's changes is written all the same: its receipt brings
    // the hub's changes (and a renewed certificate) to a site that has made nothing new.
    let exported = carry::export(store, Side::Gateway, (gateway, hub.node), now)?;
    let id: [u8; 16] = crate::crypt::random();
    let header = Header {
        kind: FileKind::Changes,
        id,
        from: gateway.to_owned(),
        to: hub.name.to_owned(),
        made_at: now,
        person: carried_by.to_owned(),
        sender: Vec::new(),
        one_time: Vec::new(),
    };
    let body = ChangesBody {
        frames: exported.frames,
        took: store.local::<TookBack>(TOOK_BACK, LAST)?,
    };
    let file = write(header, me, &hub_der, &encode(&body))?;
    let changes = exported.carried.changes;
    store.update_local(WRITTEN, &hex::encode(id), |_: Option<Written>| {
        Ok::<_, StoreError>((
            Some(Written {
                made_at: now,
                carried_by: carried_by.to_owned(),
                carried: exported.carried,
                receipted_at: None,
            }),
            (),
        ))
    })?;
    Ok((
        file.clone(),
        ExportSummary {
            id: hex::encode(id),
            changes,
            bytes: file.len(),
        },
    ))
}

/// What the hub made of a changes file.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The receipt to carry back.
    pub receipt: Vec<u8>,
    pub header: Header,
    pub gateway: GatewayIdentity,
    pub receipt_body: Receipt,
    /// The file had been imported before: nothing changed, and its receipt is written again.
    pub again: bool,
}

/// The hub's own end of a courier.
pub struct HubSelf<'a> {
    /// The hub's node id, as gateways know it.
    pub node: &'a str,
    /// The CA certificate, PEM, that a gateway's certificate must chain to.
    pub ca_pem: &'a str,
    /// The hub's certificate and key.
    pub creds: &'a Credentials,
}

/// The hub takes a gateway's changes file, imported by `by`. `admit` may refuse the gateway
/// (revoked, in session now) before anything is applied. Durable on return; a second import of
/// the same file changes nothing and gives the same receipt.
pub fn import(
    store: &Store,
    hub: &HubSelf<'_>,
    file: &[u8],
    by: &str,
    admit: impl FnOnce(&GatewayIdentity) -> Result<(), String>,
    now: Millis,
) -> Result<Imported, CourierError> {
    let mut gateway = None;
    let (header, env) = read(file, |h| {
        let id = identity::verified_gateway(hub.ca_pem, &h.sender).map_err(|e| {
            CourierError::Sender {
                expected: "a gateway enrolled with this hub's CA".into(),
                detail: e.to_string(),
            }
        })?;
        if id.gateway != h.from {
            return Err(CourierError::Sender {
                expected: h.from.clone(),
                detail: format!("its certificate is {}'s", id.gateway),
            });
        }
        gateway = Some(id);
        Ok(())
    })?;
    kind(&header, FileKind::Changes)?;
    let gateway = gateway.expect("checked with the header");
    if let Some(done) = store.local::<TakenFile>(TAKEN, &header.id_hex())? {
        return Ok(Imported {
            receipt: done.receipt,
            header,
            gateway,
            receipt_body: done.body,
            again: true,
        });
    }
    let changes: ChangesBody = decode(&open(&header, &env, hub.creds, "hub")?, "changes")?;
    admit(&gateway).map_err(CourierError::Refused)?;
    let side = Side::Hub {
        facility: gateway.facility.clone(),
    };
    let peers = (hub.node, gateway.gateway.as_str());
    // The gateway's acknowledgement of what an earlier receipt carried back: the hub's cursors
    // move, so the next receipt carries only what is new. One the hub no longer knows (or that
    // a live session overtook) moves nothing; the changes are then simply carried again.
    let acked_back = match &changes.took {
        Some(t) => match store.local::<Carried>(SENT_BACK, &hex::encode(t.receipt))? {
            Some(carried) => {
                carry::take_receipt(store, side.clone(), peers, &carried, &t.taken, now).is_ok()
            }
            None => false,
        },
        None => false,
    };
    let taken = carry::import(store, side.clone(), peers, &changes.frames, now)?;
    let back = carry::export(store, side, peers, now)?;
    let certificate = store
        .get::<crate::model::CertificateList>(&crate::model::certificates_id())?
        .and_then(|l| l.issued.get(&gateway.gateway).cloned())
        .map(|c| c.cert_pem)
        .filter(|pem| {
            identity::first_cert(pem, "renewed certificate")
                .is_ok_and(|der| der.as_ref() != header.sender.as_slice())
        });
    let body = Receipt {
        gateway: gateway.gateway.clone(),
        taken,
        carried_by: header.person.clone(),
        imported_at: now,
        certificate,
        back_changes: back.carried.changes,
        back: back.frames,
    };
    let hub_name = identity::hub_name(&hub.creds.cert_pem)?;
    let receipt = write(
        Header {
            kind: FileKind::Receipt,
            id: header.id,
            from: hub_name,
            to: gateway.gateway.clone(),
            made_at: now,
            person: by.to_owned(),
            sender: Vec::new(),
            one_time: Vec::new(),
        },
        hub.creds,
        &header.sender,
        &encode(&body),
    )?;
    let detail = format!(
        "{} change(s) from {}, carried by {}, imported by {by}{}",
        body.taken.changes,
        gateway.gateway,
        header.person,
        if body.taken.refused.is_empty() {
            String::new()
        } else {
            format!("; {} document(s) refused", body.taken.refused.len())
        }
    );
    let detail = format!(
        "{detail}; {} change(s) of the hub's carried back on the receipt{}",
        body.back_changes,
        if acked_back {
            "; the gateway had taken those of its last receipt"
        } else {
            ""
        }
    );
    store.update_local(SENT_BACK, &header.id_hex(), |_: Option<Carried>| {
        Ok::<_, StoreError>((Some(back.carried.clone()), ()))
    })?;
    store.note_review(
        &format!("courier/{}", header.id_hex()),
        &gateway.facility,
        ReviewReason::CarriedByHand,
        &detail,
        now,
    )?;
    store.update_local(TAKEN, &header.id_hex(), |_: Option<TakenFile>| {
        Ok::<_, StoreError>((
            Some(TakenFile {
                receipt: receipt.clone(),
                body: body.clone(),
            }),
            (),
        ))
    })?;
    Ok(Imported {
        receipt,
        header,
        gateway,
        receipt_body: body,
        again: false,
    })
}

/// What a receipt did at the gateway.
#[derive(Debug, Clone)]
pub struct ReceiptSummary {
    pub id: String,
    pub receipt: Receipt,
    pub imported_by: String,
    /// The gateway's acknowledged cursor per class, after.
    pub cursors: [u64; 3],
    /// The receipt had been taken before.
    pub again: bool,
    /// The hub's changes the receipt carried that were new here, applied; or why they were not
    /// (the gateway's own changes are taken all the same).
    pub back: Result<u64, String>,
}

/// The gateway takes the hub's receipt for a file it wrote: the cursors move to what the hub
/// holds, and the hub is known to hold what the file carried. Durable on return.
pub fn take_receipt(
    store: &Store,
    (gateway, me, ca_pem): (&str, &Credentials, &str),
    hub: &HubEnd<'_>,
    file: &[u8],
    now: Millis,
) -> Result<ReceiptSummary, CourierError> {
    let (header, env) = read(file, |h| {
        identity::verify_hub(ca_pem, &h.sender, hub.name).map_err(|e| CourierError::Sender {
            expected: format!("the hub {}", hub.name),
            detail: e.to_string(),
        })
    })?;
    kind(&header, FileKind::Receipt)?;
    if header.to != gateway {
        return Err(CourierError::NotForUs {
            to: header.to.clone(),
            me: gateway.to_owned(),
        });
    }
    let receipt: Receipt = decode(&open(&header, &env, me, "gateway")?, "receipt")?;
    let id = header.id_hex();
    let written: Written = store
        .local(WRITTEN, &id)?
        .ok_or_else(|| CourierError::NotOurs(id.clone()))?;
    let cursors = carry::take_receipt(
        store,
        Side::Gateway,
        (gateway, hub.node),
        &written.carried,
        &receipt.taken,
        now,
    )?;
    store.flush()?;
    // The hub's changes on the receipt, applied as a live session would; what was taken is
    // kept for the next changes file to acknowledge.
    let back = if receipt.back.is_empty() {
        Ok(0)
    } else {
        carry::import(
            store,
            Side::Gateway,
            (gateway, hub.node),
            &receipt.back,
            now,
        )
        .map_err(|e| e.to_string())
        .and_then(|taken| {
            let n = taken.changes;
            store
                .update_local(TOOK_BACK, LAST, |_: Option<TookBack>| {
                    Ok::<_, StoreError>((
                        Some(TookBack {
                            receipt: header.id,
                            taken,
                        }),
                        (),
                    ))
                })
                .map_err(|e| e.to_string())?;
            Ok(n)
        })
    };
    let again = written.receipted_at.is_some();
    store.update_local(WRITTEN, &id, |w: Option<Written>| {
        let w = w.map(|w| Written {
            receipted_at: w.receipted_at.or(Some(now)),
            ..w
        });
        Ok::<_, StoreError>((w, ()))
    })?;
    Ok(ReceiptSummary {
        id,
        receipt,
        imported_by: header.person,
        cursors,
        again,
        back,
    })
}
