//! Document content at rest, encrypted: every snapshot, change and stub is sealed with
//! ChaCha20-Poly1305 (ring) under the store's data key, with the value's sled key as the
//! associated data, so a value cannot be read, altered, or moved to another document without
//! the key. The data key is random, made when the store is first opened with a key file, and
//! kept in the store sealed under the key file's key: the key file lives outside the data
//! folder (beside the configuration), so a copy of the data folder alone gives nothing away.
//!
//! What stays readable is what the sync needs to find things: document ids, kinds and scopes,
//! the feed's change hashes, peer cursors. Values written before a store had a key stay
//! readable as they are until compaction rewrites them sealed.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use crate::crypt::{KEY_LEN, random};

/// What a sealed value starts with. Automerge's own bytes start with its magic
/// (`85 6f 4a 83`), so a value written before the store had a key is told apart.
const MAGIC: &[u8; 4] = b"PWs1";
/// The associated data of the sealed data key.
const DATA_KEY_AAD: &[u8] = b"pathway store data key";

/// Why a store's key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the store key file {path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the store key file {path} is not 64 hex digits; restore it from where the store's key is kept"
    )]
    Malformed { path: std::path::PathBuf },
    #[error(
        "the store key file {path} does not open this store: it belongs to another store, or was replaced"
    )]
    Wrong { path: std::path::PathBuf },
    #[error(
        "this store is encrypted and no key file was given (store_key in the configuration, --key for pathway commands)"
    )]
    Missing,
}

/// Seals and opens store values under the data key: [`crate::crypt::Sealer`] behind a magic;
/// and authenticates backups under a key derived from it.
pub(super) struct Sealer(crate::crypt::Sealer, ring::hmac::Key);

impl Sealer {
    fn new(bytes: &[u8]) -> Sealer {
        let key: [u8; KEY_LEN] = bytes.try_into().expect("a 32-byte key");
        // A key of its own for backups, derived so that it is never the sealing key itself.
        let derive = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
        let backup_key = ring::hmac::sign(&derive, b"pathway backup authentication v1");
        Sealer(
            crate::crypt::Sealer::new(&key),
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, backup_key.as_ref()),
        )
    }

    /// The tag that authenticates a backup's `body`.
    pub(super) fn backup_tag(&self, body: &[u8]) -> ring::hmac::Tag {
        ring::hmac::sign(&self.1, body)
    }

    /// Whether `tag` authenticates `body`.
    pub(super) fn backup_verifies(&self, body: &[u8], tag: &[u8]) -> bool {
        ring::hmac::verify(&self.1, body, tag).is_ok()
    }

    /// `plain`, sealed for the sled key `at`: the magic, then the sealed bytes.
    pub(super) fn seal(&self, at: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(self.0.seal(at, plain));
        out
    }

    /// The plaintext of a value stored at `at`.
    fn open(&self, at: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        self.0.open(at, sealed.get(MAGIC.len()..)?)
    }
}

/// Whether stored bytes are sealed.
pub(super) fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

/// Seals `plain` for `at` if the store has a key.
pub(super) fn seal(sealer: Option<&Sealer>, at: &[u8], plain: &[u8]) -> Vec<u8> {
    match sealer {
        Some(s) => s.seal(at, plain),
        None => plain.to_vec(),
    }
}

/// The plaintext of `stored` (kept at `at`): opened if sealed, as it is if written before the
/// store had a key. `Err` says why a sealed value does not open.
pub(super) fn open<'a>(
    sealer: Option<&Sealer>,
    at: &[u8],
    stored: &'a [u8],
) -> Result<Cow<'a, [u8]>, &'static str> {
    if !is_sealed(stored) {
        return Ok(Cow::Borrowed(stored));
    }
    let s = sealer.ok_or("sealed, and the store was opened without its key")?;
    s.open(at, stored)
        .map(Cow::Owned)
        .ok_or("sealed value does not open under the store's key: altered, moved or damaged")
}

/// Reads the key file at `path`, making it (owner-only) if it does not exist and `create`.
fn key_file(path: &Path, create: bool) -> Result<Option<Sealer>, KeyError> {
    let file_err = |source| KeyError::File {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .ok()
                .filter(|b| b.len() == KEY_LEN)
                .ok_or_else(|| KeyError::Malformed {
                    path: path.to_owned(),
                })?;
            Ok(Some(Sealer::new(&bytes)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let key: [u8; KEY_LEN] = random();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(file_err)?;
            }
            let mut f = owner_only(path).map_err(file_err)?;
            f.write_all(format!("{}\n", hex::encode(key)).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(file_err)?;
            Ok(Some(Sealer::new(&key)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(file_err(e)),
    }
}

#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// The data key of the store whose sealed copy is `stored` (`None`: the store has none yet),
/// opened with the key file at `key_path`. Returns the sealer and, for a store that had no
/// data key, the sealed copy to keep.
pub(super) fn data_key(
    stored: Option<&[u8]>,
    key_path: Option<&Path>,
) -> Result<(Option<Sealer>, Option<Vec<u8>>), KeyError> {
    match (stored, key_path) {
        (None, None) => Ok((None, None)),
        (Some(_), None) => Err(KeyError::Missing),
        (Some(sealed), Some(path)) => {
            let wrong = || KeyError::Wrong {
                path: path.to_owned(),
            };
            let kek = key_file(path, false)?.ok_or_else(|| KeyError::File {
                path: path.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "missing, and the store is encrypted with it: restore it from where the store's key is kept",
                ),
            })?;
            let key = kek.open(DATA_KEY_AAD, sealed).ok_or_else(wrong)?;
            if key.len() != KEY_LEN {
                return Err(wrong());
            }
            Ok((Some(Sealer::new(&key)), None))
        }
        (None, Some(path)) => {
            let kek = key_file(path, true)?.expect("made if missing");
            let key: [u8; KEY_LEN] = random();
            let sealed = kek.seal(DATA_KEY_AAD, &key);
            Ok((Some(Sealer::new(&key)), Some(sealed)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_where_it_was_sealed_and_only_with_its_key() {
        let s = Sealer::new(&[7; 32]);
        let sealed = s.seal(b"sdoc/a", b"relapsed last week");
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(8).any(|w| w == b"relapsed"));
        assert_eq!(
            open(Some(&s), b"sdoc/a", &sealed).unwrap().as_ref(),
            b"relapsed last week"
        );
        assert!(open(Some(&s), b"sdoc/b", &sealed).is_err(), "moved");
        assert!(open(Some(&Sealer::new(&[8; 32])), b"sdoc/a", &sealed).is_err());
        assert!(open(None, b"sdoc/a", &sealed).is_err());
        let mut bent = sealed.clone();
        *bent.last_mut().unwrap() ^= 1;
        assert!(open(Some(&s), b"sdoc/a", &bent).is_err(), "altered");
        // Written before the store had a key: read as it is.
        assert_eq!(
            open(Some(&s), b"x", b"\x85oJ\x83plain").unwrap().as_ref(),
            b"\x85oJ\x83plain"
        );
    }

    #[test]
    fn the_key_file_is_made_owner_only_and_a_wrong_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("etc/store.key");
        let (made, sealed) = data_key(None, Some(&path)).unwrap();
        let sealed = sealed.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let v = made.unwrap().seal(b"k", b"v");
        let (again, none) = data_key(Some(&sealed), Some(&path)).unwrap();
        assert!(none.is_none());
        assert_eq!(open(again.as_ref(), b"k", &v).unwrap().as_ref(), b"v");
        let other = dir.path().join("other.key");
        data_key(None, Some(&other)).unwrap();
        let err = data_key(Some(&sealed), Some(&other)).err().unwrap();
        assert!(matches!(err, KeyError::Wrong { .. }), "{err}");
        let err = data_key(Some(&sealed), None).err().unwrap();
        assert!(matches!(err, KeyError::Missing), "{err}");
        std::fs::remove_file(&path).unwrap();
        let err = data_key(Some(&sealed), Some(&path)).err().unwrap();
        assert!(err.to_string().contains("restore it"), "{err}");
    }
}
