//! What a store operation can fail with.

use std::path::PathBuf;

use crate::model::{DocId, Kind};

/// A store operation that failed. Nothing partial is kept: the operation's batch was either
/// applied whole or not at all, and an unacknowledged write may be retried.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened: missing permissions, a file where a folder should be,
    /// another process holding it, or a damaged log.
    #[error("cannot open the store at {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    /// Another process (a second daemon, a `pathway` command) has the store open.
    #[error(
        "another process has the store at {path} open: is the daemon already running (systemctl status pathway-gateway / pathway-hub)? Stop it first, or use another data_dir"
    )]
    InUse { path: PathBuf },
    /// The store's key file is missing, wrong or unreadable.
    #[error("cannot open the store at {path}: {source}")]
    Key {
        path: PathBuf,
        source: super::seal::KeyError,
    },
    /// sled failed to read, write or flush.
    #[error("store at {path}: {source}")]
    Io { path: PathBuf, source: sled::Error },
    /// Stored bytes for one document cannot be decoded. Other documents are unaffected; the
    /// document can be fetched again from a peer.
    #[error("store at {path}: document `{doc}` holds bytes that cannot be decoded ({what})")]
    Corrupt {
        path: PathBuf,
        doc: String,
        what: String,
    },
    /// The document exists but is of another kind.
    #[error("document `{doc}` is a {found}, not a {expected}")]
    WrongKind {
        doc: DocId,
        expected: Kind,
        found: Kind,
    },
    /// The document does not exist.
    #[error("document `{0}` does not exist")]
    NotFound(DocId),
    /// A new document was to be made where one already is.
    #[error("document `{0}` already exists")]
    Exists(DocId),
    /// The document's content does not have the shape of its kind.
    #[error("document `{doc}` does not read as a {kind}: {source}")]
    Shape {
        doc: DocId,
        kind: Kind,
        source: Box<autosurgeon::HydrateError>,
    },
    /// The new content could not be written into the document.
    #[error("document `{doc}` could not be updated: {source}")]
    Reconcile {
        doc: DocId,
        source: Box<autosurgeon::ReconcileError>,
    },
    /// A path inside the document does not lead to a map.
    #[error("document `{doc}` has no map at `{path}`")]
    Path { doc: DocId, path: String },
    /// The value at a path does not have the expected shape.
    #[error("document `{doc}`: the value at `{path}` does not read as expected: {source}")]
    Value {
        doc: DocId,
        path: String,
        source: Box<autosurgeon::HydrateError>,
    },
    /// Received changes could not be applied.
    #[error("document `{doc}`: received changes rejected: {source}")]
    Changes {
        doc: DocId,
        source: Box<automerge::AutomergeError>,
    },
    /// One change is larger than a sync frame may carry: it could never reach a peer. Nothing
    /// was stored; the writer splits what it writes into smaller edits.
    #[error(
        "document `{doc}`: a change of {bytes} bytes is larger than the {limit}-byte limit; \
         write it as several smaller edits"
    )]
    TooLarge {
        doc: DocId,
        bytes: usize,
        limit: usize,
    },
    /// A paired write named one document twice.
    #[error("document `{0}` was named twice in one write")]
    SameDocument(DocId),
}

/// An update that failed: either the caller's closure refused it, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    #[error(transparent)]
    Rejected(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}
