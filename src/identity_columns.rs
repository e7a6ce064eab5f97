//! The ids and digests of keys, one column each, in the order the keys were read.
//!
//! A policy's `keys` section is read straight into these columns (`policy::raw_keys`), and
//! compile moves them into the `KeyIndex` as they are: with a million keys the columns are most
//! of the index, so a reload never holds a second copy of them beside the new index.

/// Key ids (one string of all of them) and digests, by position.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyColumns {
    /// Every id, one after the other.
    ids: String,
    /// Where each id ends in `ids` (it starts where the previous one ends).
    id_ends: Vec<u32>,
    /// Each key's SHA-256 digest.
    digests: Vec<[u8; 32]>,
}

/// The columns cannot hold more: 4 GiB of ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl KeyColumns {
    /// Add a key at the end; its position.
    pub fn push(&mut self, id: &str, digest: [u8; 32]) -> Result<usize, Full> {
        let end = u32::try_from(self.ids.len() + id.len()).map_err(|_| Full)?;
        self.ids.push_str(id);
        self.id_ends.push(end);
        self.digests.push(digest);
        Ok(self.digests.len() - 1)
    }

    /// Add every key of `other` at the end (taking its storage when this holds none).
    pub fn append(&mut self, other: KeyColumns) -> Result<(), Full> {
        if self.digests.is_empty() {
            *self = other;
            return Ok(());
        }
        let base = self.ids.len();
        u32::try_from(base + other.ids.len()).map_err(|_| Full)?;
        self.ids.push_str(&other.ids);
        // Cannot overflow: checked above.
        self.id_ends
            .extend(other.id_ends.iter().map(|&e| e + base as u32));
        self.digests.extend_from_slice(&other.digests);
        Ok(())
    }

    /// Make room for `keys` more keys whose ids take `id_bytes`.
    pub fn reserve(&mut self, keys: usize, id_bytes: usize) {
        self.ids.reserve(id_bytes);
        self.id_ends.reserve(keys);
        self.digests.reserve(keys);
    }

    /// Give back the room the columns grew into.
    pub fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
        self.id_ends.shrink_to_fit();
        self.digests.shrink_to_fit();
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// No key at all.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// The id at `at` (which must be below `len`).
    pub fn id(&self, at: usize) -> &str {
        let start = match at {
            0 => 0,
            _ => self.id_ends[at - 1] as usize,
        };
        &self.ids[start..self.id_ends[at] as usize]
    }

    /// The digest at `at` (which must be below `len`).
    pub fn digest(&self, at: usize) -> &[u8; 32] {
        &self.digests[at]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_digests_by_position_and_appended() {
        let mut a = KeyColumns::default();
        assert_eq!(a.push("k0", [0; 32]), Ok(0));
        assert_eq!(a.push("", [1; 32]), Ok(1));
        assert_eq!(a.push("key2", [2; 32]), Ok(2));
        assert_eq!((a.id(0), a.id(1), a.id(2)), ("k0", "", "key2"));
        let mut b = KeyColumns::default();
        b.push("x", [9; 32]).unwrap();
        b.push("yy", [8; 32]).unwrap();
        let mut empty = KeyColumns::default();
        empty.append(a.clone()).unwrap();
        assert_eq!(
            empty, a,
            "appended to nothing, the columns are taken as they are"
        );
        a.append(b).unwrap();
        assert_eq!(a.len(), 5);
        assert_eq!((a.id(2), a.id(3), a.id(4)), ("key2", "x", "yy"));
        assert_eq!((a.digest(3), a.digest(4)), (&[9; 32], &[8; 32]));
    }
}
