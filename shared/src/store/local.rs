//! Node-local tables: records a node keeps for itself beside its documents and never syncs (the
//! hub's review queue, its administrators and their password hashes, its audit trail, the
//! fleet's history). Values are postcard, keyed by table and key, and sealed at rest like
//! documents when the store has a key (the sled key is the associated data, so a record cannot
//! be moved to another key); a record written before the store had a key is read as it is.
//! Writes are durable on return and share flushes with every other writer.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, StoreError, keys};

impl Store {
    /// The record `key` of `table`, if there is one.
    pub fn local<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let at = keys::local(table, key);
        match self.inner.db.get(&at).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(v) => self.decode_local(table, key, &v).map(Some),
        }
    }

    /// Every record of `table`, in key order.
    pub fn local_all<T: DeserializeOwned>(
        &self,
        table: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let prefix = keys::local(table, "");
        let mut all = Vec::new();
        for kv in self.inner.db.scan_prefix(&prefix) {
            let (k, v) = kv.map_err(|e| self.io(e))?;
            let key = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let value = self.decode_local(table, &key, &v)?;
            all.push((key, value));
        }
        Ok(all)
    }

    /// The records of `table` whose keys start with `prefix`, in key order, from the first
    /// key at or after `prefix` + `from`.
    pub fn local_from<T: DeserializeOwned>(
        &self,
        table: &str,
        prefix: &str,
        from: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let base = keys::local(table, "");
        let start = keys::local(table, &format!("{prefix}{from}"));
        let end = keys::local(table, prefix);
        let mut all = Vec::new();
        for kv in self.inner.db.range(start..) {
            let (k, v) = kv.map_err(|e| self.io(e))?;
            if !k.starts_with(&end) {
                break;
            }
            let key = String::from_utf8_lossy(&k[base.len()..]).into_owned();
            let value = self.decode_local(table, &key, &v)?;
            all.push((key, value));
        }
        Ok(all)
    }

    /// Removes the records of `table` whose keys start with `prefix` and sort before
    /// `prefix` + `before`. Durable on return.
    pub fn remove_local_before(
        &self,
        table: &str,
        prefix: &str,
        before: &str,
    ) -> Result<usize, StoreError> {
        let start = keys::local(table, prefix);
        let end = keys::local(table, &format!("{prefix}{before}"));
        let mut removed = 0;
        {
            let _one = super::lock(&self.inner.local);
            for kv in self.inner.db.range(start..end) {
                let (k, _) = kv.map_err(|e| self.io(e))?;
                self.inner.db.remove(k).map_err(|e| self.io(e))?;
                removed += 1;
            }
        }
        if removed > 0 {
            self.wait(self.inner.commit.written(0))?;
        }
        Ok(removed)
    }

    /// The last record of `table` in key order.
    pub fn local_last<T: DeserializeOwned>(
        &self,
        table: &str,
    ) -> Result<Option<(String, T)>, StoreError> {
        let prefix = keys::local(table, "");
        match self.inner.db.scan_prefix(&prefix).next_back() {
            None => Ok(None),
            Some(kv) => {
                let (k, v) = kv.map_err(|e| self.io(e))?;
                let key = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                let value = self.decode_local(table, &key, &v)?;
                Ok(Some((key, value)))
            }
        }
    }

    /// Reads the record `key` of `table`, lets `f` change it (or make it, from `None`), and
    /// stores what `f` returns (`None`: leaves it as it was); records of every table are updated
    /// one at a time. Durable on return. `f`'s error leaves the record as it was.
    pub fn update_local<T, R, E>(
        &self,
        table: &str,
        key: &str,
        f: impl FnOnce(Option<T>) -> Result<(Option<T>, R), E>,
    ) -> Result<R, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<StoreError>,
    {
        let r = {
            let _one = super::lock(&self.inner.local);
            let old = self.local::<T>(table, key)?;
            let (new, r) = f(old)?;
            let Some(new) = new else {
                return Ok(r);
            };
            let bytes =
                postcard::to_allocvec(&new).map_err(|e| self.local_corrupt(table, key, e))?;
            let at = keys::local(table, key);
            let sealed = self.seal(&at, &bytes);
            self.inner.db.insert(at, sealed).map_err(|e| self.io(e))?;
            r
        };
        self.wait(self.inner.commit.written(0))?;
        Ok(r)
    }

    /// Writes or removes (`None`) records of `table` for derived data that can be made again
    /// (the indicators' counters), without waiting for a flush: they are durable once a later
    /// write's flush is, since sled keeps its writes in order. Records of every table are
    /// written one at a time, as by [`Store::update_local`].
    pub fn put_local_unflushed<T: Serialize>(
        &self,
        table: &str,
        records: &[(String, Option<T>)],
    ) -> Result<(), StoreError> {
        let _one = super::lock(&self.inner.local);
        for (key, value) in records {
            let at = keys::local(table, key);
            match value {
                None => {
                    self.inner.db.remove(at).map_err(|e| self.io(e))?;
                }
                Some(v) => {
                    let bytes =
                        postcard::to_allocvec(v).map_err(|e| self.local_corrupt(table, key, e))?;
                    let sealed = self.seal(&at, &bytes);
                    self.inner.db.insert(at, sealed).map_err(|e| self.io(e))?;
                }
            }
        }
        Ok(())
    }

    fn decode_local<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
        v: &[u8],
    ) -> Result<T, StoreError> {
        let plain = super::seal::open(self.inner.sealer.as_ref(), &keys::local(table, key), v)
            .map_err(|e| self.local_corrupt(table, key, e))?;
        postcard::from_bytes(&plain).map_err(|e| self.local_corrupt(table, key, e))
    }

    fn local_corrupt(&self, table: &str, key: &str, e: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.inner.path.clone(),
            doc: format!("{table} record {key}"),
            what: e.to_string(),
        }
    }
}
