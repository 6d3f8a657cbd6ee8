//! Backups: a consistent snapshot of a running store, and a store restored from one.
//!
//! A backup is every key and value of the store (content stays sealed: a backup is no use
//! without the key file, kept apart), taken while writers wait, after a flush, so it is one
//! moment of the store. The file is `PWBACKUP1\n`, then a zstd stream of length-prefixed keys
//! and values, then the SHA-256 of everything before it: a cut or edited file is refused.
//!
//! A restored store takes a new actor id at once (so it never writes changes under the old
//! store's identity, which peers already hold with other contents), starts its feed far above
//! any seq the old store could have reached (so a peer's cursor on the old store never covers a
//! change the restored one writes), and forgets what it had received (so the hub, seeing it
//! hold less than it acknowledged, sends everything it lacks again: the changes made after the
//! backup come back from the hub).

use std::io::{Read, Write};
use std::path::Path;

use super::{Store, StoreError, keys, lock};

const MAGIC: &[u8] = b"PWBACKUP1\n";
/// How far above the backup's last seq a restored store's feed starts.
const SEQ_GAP: u64 = 1 << 40;

/// What a backup held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BackupStats {
    pub entries: u64,
    /// The last feed seq in the backup.
    pub last_seq: u64,
    pub bytes: u64,
}

/// Why a backup file cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0} is not a Pathway backup")]
    NotABackup(String),
    #[error(
        "{0} is cut short or was changed after it was made (its checksum does not match); use another copy"
    )]
    Damaged(String),
    #[error("{path} already holds a store; move it away first (or restore into an empty folder)")]
    NotEmpty { path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

impl Store {
    /// Makes an empty store at `path` for a gateway whose store was lost, to be filled again
    /// from the hub: like a restored one, it writes as a new node far above the old seqs and is
    /// catching up until its first full sync.
    pub fn for_rebuild(path: &Path) -> Result<(), RestoreError> {
        if path.read_dir().is_ok_and(|mut d| d.next().is_some()) {
            return Err(RestoreError::NotEmpty {
                path: path.display().to_string(),
            });
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let db = sled::Config::new()
            .path(path)
            .flush_every_ms(None)
            .open()
            .map_err(open_err)?;
        db.insert(keys::SEQ_FLOOR, &SEQ_GAP.to_be_bytes()[..])
            .map_err(open_err)?;
        db.insert(keys::CATCHING_UP, &[1u8][..]).map_err(open_err)?;
        db.flush().map_err(open_err)?;
        Ok(())
    }

    /// Whether this store was restored or rebuilt and has not yet caught up with the hub:
    /// until it has, its audit trail's newest entries may be only at the hub.
    pub fn catching_up(&self) -> bool {
        self.inner
            .db
            .get(keys::CATCHING_UP)
            .ok()
            .flatten()
            .is_some()
    }

    /// Marks the store caught up. Durable on return.
    pub fn caught_up(&self) -> Result<(), StoreError> {
        self.inner
            .db
            .remove(keys::CATCHING_UP)
            .map_err(|e| self.io(e))?;
        self.flush()
    }

    /// A consistent backup of the store, written to `out`. Writers wait while it is read.
    pub fn backup(&self, out: &mut impl Write) -> Result<BackupStats, StoreError> {
        let io = |e: std::io::Error| StoreError::Io {
            path: self.inner.path.clone(),
            source: sled::Error::Io(e),
        };
        let mut raw = Vec::new();
        let mut entries = 0;
        let last_seq;
        {
            // Feed seqs are assigned and applied under this lock: holding it, no write is half
            // done, and the flush makes everything read durable.
            let _writers = lock(&self.inner.next_seq);
            self.inner.db.flush().map_err(|e| self.io(e))?;
            last_seq = self.durable_seq();
            for kv in self.inner.db.iter() {
                let (k, v) = kv.map_err(|e| self.io(e))?;
                put_bytes(&mut raw, &k);
                put_bytes(&mut raw, &v);
                entries += 1;
            }
        }
        let mut body = MAGIC.to_vec();
        body.extend(zstd::bulk::compress(&raw, 3).map_err(io)?);
        let digest = ring::digest::digest(&ring::digest::SHA256, &body);
        out.write_all(&body).map_err(io)?;
        out.write_all(digest.as_ref()).map_err(io)?;
        out.flush().map_err(io)?;
        Ok(BackupStats {
            entries,
            last_seq,
            bytes: (body.len() + digest.as_ref().len()) as u64,
        })
    }

    /// Makes a store at `path` (which must not hold one) from the backup `file`. Open it with
    /// the same key file as the store it came from.
    pub fn restore(path: &Path, file: &Path) -> Result<BackupStats, RestoreError> {
        let shown = file.display().to_string();
        let mut bytes = Vec::new();
        std::fs::File::open(file)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|source| RestoreError::Read {
                path: shown.clone(),
                source,
            })?;
        if !bytes.starts_with(MAGIC) {
            return Err(RestoreError::NotABackup(shown));
        }
        if bytes.len() < MAGIC.len() + 32 {
            return Err(RestoreError::Damaged(shown));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if ring::digest::digest(&ring::digest::SHA256, body).as_ref() != digest {
            return Err(RestoreError::Damaged(shown));
        }
        let raw = zstd::stream::decode_all(&body[MAGIC.len()..])
            .map_err(|_| RestoreError::Damaged(shown.clone()))?;
        if path.read_dir().is_ok_and(|mut d| d.next().is_some()) {
            return Err(RestoreError::NotEmpty {
                path: path.display().to_string(),
            });
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        // No background flusher: the database is closed, and its lock free, when this returns.
        let db = sled::Config::new()
            .path(path)
            .flush_every_ms(None)
            .open()
            .map_err(open_err)?;
        let mut batch = sled::Batch::default();
        let mut at = 0;
        let mut entries = 0;
        let take = |at: &mut usize| -> Option<Vec<u8>> {
            let len = u32::from_be_bytes(raw.get(*at..*at + 4)?.try_into().ok()?) as usize;
            let v = raw.get(*at + 4..*at + 4 + len)?.to_vec();
            *at += 4 + len;
            Some(v)
        };
        let mut last_seq = 0;
        while at < raw.len() {
            let (Some(k), Some(v)) = (take(&mut at), take(&mut at)) else {
                return Err(RestoreError::Damaged(shown));
            };
            if k.starts_with(keys::FEED_PREFIX) {
                last_seq = last_seq.max(keys::feed_seq(&k).unwrap_or(0));
            }
            let forget = k == keys::NODE_ACTOR || keys::is_recv_cursor(&k);
            if !forget {
                batch.insert(k, v);
            }
            entries += 1;
        }
        batch.insert(keys::SEQ_FLOOR, &(last_seq + SEQ_GAP).to_be_bytes()[..]);
        batch.insert(keys::CATCHING_UP, &[1u8][..]);
        db.apply_batch(batch).map_err(open_err)?;
        db.flush().map_err(open_err)?;
        drop(db);
        Ok(BackupStats {
            entries,
            last_seq,
            bytes: bytes.len() as u64,
        })
    }
}
