//! What a bulk load knows about the ids it may meet, so that most batches skip the lookup
//! of stored ids ([`super::append`]).
//!
//! The lookup scans the ids of the calls stored within 26 hours of a batch. In a large
//! import that is mostly the import's own calls: about a day and a half of them for every
//! batch of a 10 M-line file over 30 days. While it runs, a bulk load is the store's only
//! writer, so a call already stored is either one stored before the load began, which can
//! only lie in a quarter hour that held calls then ([`KnownIds::occupied`]), or one the load
//! stored itself, whose id's hash it keeps ([`KnownIds::appended`]). A batch far from every
//! quarter hour occupied before the load looks up only the ids whose hash the load has
//! appended before (a repeat, or, rarely, a hash collision: the lookup decides); a batch
//! near one looks up every id, as any other append does.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use duckdb::Connection;
use llmscope_core::store::StoreError;
use xxhash_rust::xxh3::xxh3_64;

use super::db_err;
use super::rollup::{bucket_sql, BUCKET_US};

/// Hashes `u64` keys that are hashes already: as they are.
#[derive(Default)]
pub struct AsIs(u64);

impl Hasher for AsIs {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// See the module's documentation.
#[derive(Default)]
pub struct KnownIds {
    /// The quarter hours (µs, any project) that held calls when the load began, sorted.
    occupied: Vec<i64>,
    /// The hashes of the ids the load has stored (in committed or open transactions; a
    /// rolled-back one's stay, which costs at most a lookup).
    appended: HashSet<u64, BuildHasherDefault<AsIs>>,
}

impl KnownIds {
    /// Reads the quarter hours that hold calls now.
    pub fn load(conn: &Connection) -> Result<Self, StoreError> {
        let mut stmt =
            conn.prepare(&format!("SELECT DISTINCT {} AS q FROM calls ORDER BY q", bucket_sql())).map_err(db_err)?;
        let occupied = stmt.query_map([], |r| r.get::<_, i64>(0)).map_err(db_err)?;
        Ok(KnownIds { occupied: occupied.collect::<Result<_, _>>().map_err(db_err)?, appended: HashSet::default() })
    }

    /// The hash an id is known by.
    pub fn hash(id: &str) -> u64 {
        xxh3_64(id.as_bytes())
    }

    /// Whether a quarter hour that held calls when the load began overlaps `[lo, hi]` (µs).
    pub fn occupied_within(&self, lo: i64, hi: i64) -> bool {
        // The first quarter hour ending after `lo`, if it starts by `hi`.
        let at = self.occupied.partition_point(|&q| q.saturating_add(BUCKET_US) <= lo);
        self.occupied.get(at).is_some_and(|&q| q <= hi)
    }

    /// Whether the load may have stored an id with this hash.
    pub fn may_have_appended(&self, hash: u64) -> bool {
        self.appended.contains(&hash)
    }

    /// Records the ids the load stored, by their hashes ([`KnownIds::hash`]).
    pub fn appended(&mut self, hashes: impl Iterator<Item = u64>) {
        self.appended.extend(hashes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupied_quarter_hours_are_found_within_a_range() {
        let q = BUCKET_US;
        let known = KnownIds { occupied: vec![-4 * q, 2 * q, 10 * q], appended: HashSet::default() };
        assert!(known.occupied_within(2 * q, 2 * q), "a range inside an occupied quarter hour");
        assert!(known.occupied_within(2 * q + q - 1, 3 * q), "the quarter hour of the range's start counts");
        assert!(known.occupied_within(0, 2 * q), "the quarter hour of the range's end counts");
        assert!(!known.occupied_within(3 * q, 10 * q - 1));
        assert!(known.occupied_within(3 * q, 10 * q));
        assert!(!known.occupied_within(11 * q, 100 * q), "past the last");
        assert!(known.occupied_within(-4 * q - q + 1, -4 * q), "before 1970 too");
        assert!(!known.occupied_within(-10 * q, -4 * q - 1));
        assert!(!KnownIds::default().occupied_within(i64::MIN, i64::MAX));
    }

    #[test]
    fn appended_ids_are_known_by_their_hash() {
        let mut known = KnownIds::default();
        known.appended(["a", "b"].into_iter().map(KnownIds::hash));
        assert!(known.may_have_appended(KnownIds::hash("a")));
        assert!(!known.may_have_appended(KnownIds::hash("c")));
    }
}
