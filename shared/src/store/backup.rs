//! Backups: a consistent snapshot of a running store, and a store restored from one.
//!
//! A backup is every key and value of the store (content stays sealed: a backup is no use
//! without the key file, kept apart), taken while writers wait, after a flush, so it is one
//! moment of the store. The file of a store with a key is `PWBACKUP2\n`, then a zstd stream of
//! length-prefixed keys and values, then an HMAC-SHA256 of everything before it under a key
//! derived from the store's data key: without the key file nobody can make or alter one that
//! verifies, and the key file is checked against the backup before anything is touched. A
//! store with no key writes `PWBACKUP1\n` with a plain SHA-256, which only catches damage.
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
/// A backup authenticated under the store's key.
const MAGIC_KEYED: &[u8] = b"PWBACKUP2\n";
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
    #[error(
        "{file} was made by a store with another key: the key file {key} does not open it; restore the key file that was kept with this backup, or, if that key is lost, run `pathway rebuild` to fill a new store from the hub"
    )]
    WrongKey { file: String, key: String },
    #[error(
        "{file} comes from an encrypted store and needs its key file to be checked and restored (store_key in the configuration)"
    )]
    KeyNeeded { file: String },
    #[error(
        "{0} is a backup of an earlier kind, which nothing authenticates: anyone could have altered it. Restore it only if you trust where it was kept (pathway restore --trust-unauthenticated)"
    )]
    Unauthenticated(String),
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
        let compressed = zstd::bulk::compress(&raw, 3).map_err(io)?;
        let (body, tag) = match &self.inner.sealer {
            Some(sealer) => {
                let mut body = MAGIC_KEYED.to_vec();
                body.extend(compressed);
                let tag = sealer.backup_tag(&body).as_ref().to_vec();
                (body, tag)
            }
            None => {
                let mut body = MAGIC.to_vec();
                body.extend(compressed);
                let digest = ring::digest::digest(&ring::digest::SHA256, &body);
                (body, digest.as_ref().to_vec())
            }
        };
        out.write_all(&body).map_err(io)?;
        out.write_all(&tag).map_err(io)?;
        out.flush().map_err(io)?;
        Ok(BackupStats {
            entries,
            last_seq,
            bytes: (body.len() + tag.len()) as u64,
        })
    }

    /// Checks the backup `file` against the key file `key` (the store's `store_key`) without
    /// touching any store: it is whole, it verifies under that key, and that key opens the
    /// store it holds. Returns its entries, decompressed. `trust_unauthenticated` takes a
    /// backup of the earlier kind, which nothing authenticates.
    pub fn check_backup(
        file: &Path,
        key: Option<&Path>,
        trust_unauthenticated: bool,
    ) -> Result<Vec<u8>, RestoreError> {
        let shown = file.display().to_string();
        let mut bytes = Vec::new();
        std::fs::File::open(file)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|source| RestoreError::Read {
                path: shown.clone(),
                source,
            })?;
        let keyed = bytes.starts_with(MAGIC_KEYED);
        if !keyed && !bytes.starts_with(MAGIC) {
            return Err(RestoreError::NotABackup(shown));
        }
        if bytes.len() < MAGIC.len() + 32 {
            return Err(RestoreError::Damaged(shown));
        }
        let (body, tag) = bytes.split_at(bytes.len() - 32);
        if !keyed {
            if ring::digest::digest(&ring::digest::SHA256, body).as_ref() != tag {
                return Err(RestoreError::Damaged(shown));
            }
            if key.is_some() && !trust_unauthenticated {
                return Err(RestoreError::Unauthenticated(shown));
            }
        }
        let raw = zstd::stream::decode_all(&body[MAGIC.len()..])
            .map_err(|_| RestoreError::Damaged(shown.clone()))?;
        if keyed {
            let Some(key) = key else {
                return Err(RestoreError::KeyNeeded { file: shown });
            };
            let sealed = entries_of(&raw)
                .ok_or_else(|| RestoreError::Damaged(shown.clone()))?
                .into_iter()
                .find(|(k, _)| k.as_slice() == keys::DATA_KEY)
                .map(|(_, v)| v)
                .ok_or_else(|| RestoreError::Damaged(shown.clone()))?;
            let wrong = || RestoreError::WrongKey {
                file: shown.clone(),
                key: key.display().to_string(),
            };
            let (sealer, _) =
                super::seal::data_key(Some(&sealed), Some(key)).map_err(|_| wrong())?;
            let sealer = sealer.ok_or_else(wrong)?;
            if !sealer.backup_verifies(body, tag) {
                return Err(RestoreError::Damaged(shown));
            }
        }
        Ok(raw)
    }

    /// Makes a store at `path` (which must not hold one) from the backup `file`, once
    /// [`Store::check_backup`] passes with the key file `key` it will be opened with.
    pub fn restore(
        path: &Path,
        file: &Path,
        key: Option<&Path>,
        trust_unauthenticated: bool,
    ) -> Result<BackupStats, RestoreError> {
        let shown = file.display().to_string();
        let raw = Store::check_backup(file, key, trust_unauthenticated)?;
        let bytes_len = std::fs::metadata(file).map_or(0, |m| m.len());
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
        let mut entries = 0;
        let mut last_seq = 0;
        for (k, v) in entries_of(&raw).ok_or_else(|| RestoreError::Damaged(shown.clone()))? {
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
            bytes: bytes_len,
        })
    }
}

/// The length-prefixed keys and values of a backup; `None` if cut short.
fn entries_of(raw: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut at = 0;
    let take = |at: &mut usize| -> Option<Vec<u8>> {
        let len = u32::from_be_bytes(raw.get(*at..*at + 4)?.try_into().ok()?) as usize;
        let v = raw.get(*at + 4..*at + 4 + len)?.to_vec();
        *at += 4 + len;
        Some(v)
    };
    while at < raw.len() {
        out.push((take(&mut at)?, take(&mut at)?));
    }
    Some(out)
}
