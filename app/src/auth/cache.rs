//! Sessions held in memory between requests, so a signed-in request does not look its session
//! up again while nothing has changed. An entry is good for the audit chain's head it was read
//! at (`context::DataVersion`): signing in or out, a password change, a role change, disabling
//! an account all write audit events, so any of them, made by any process, sends the next
//! request back to the database. Timeouts are judged from the entry with the request's clock.
//!
//! A leaf (it knows the request context only), so `AppState` can hold one.

use crate::context::CurrentUser;
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// Sessions kept at most; a full cache starts again empty (a miss is one query).
const MAX_ENTRIES: usize = 10_000;

/// A session row with its user, as `auth::session::resolve` judges it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub session_id: i64,
    pub last_seen: Option<OffsetDateTime>,
    pub expires: Option<OffsetDateTime>,
    pub active: i64,
    pub access_expires: Option<String>,
    /// `None`: a role this build does not know (the session is refused).
    pub user: Option<CurrentUser>,
}

#[derive(Default)]
pub struct SessionCache(Mutex<HashMap<String, (i64, SessionRow)>>);

impl SessionCache {
    /// The row kept for `token_hash`, if it was read at head `seq`.
    pub fn get(&self, token_hash: &str, seq: i64) -> Option<SessionRow> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token_hash)
            .filter(|(at, _)| *at == seq)
            .map(|(_, row)| row.clone())
    }

    pub fn put(&self, token_hash: String, seq: i64, row: SessionRow) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES && !map.contains_key(&token_hash) {
            map.clear();
        }
        map.insert(token_hash, (seq, row));
    }

    /// The idle clock was written to the database: keep the entry in step.
    pub fn touch(&self, token_hash: &str, at: OffsetDateTime) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, row)) = map.get_mut(token_hash) {
            row.last_seen = Some(at);
        }
    }

    pub fn remove(&self, token_hash: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(token_hash);
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> SessionRow {
        SessionRow {
            session_id: id,
            last_seen: None,
            expires: None,
            active: 1,
            access_expires: None,
            user: None,
        }
    }

    #[test]
    fn an_entry_is_good_for_the_head_it_was_read_at_only() {
        let c = SessionCache::default();
        assert!(c.get("t", 1).is_none());
        c.put("t".into(), 1, row(7));
        assert_eq!(c.get("t", 1).map(|r| r.session_id), Some(7));
        assert!(c.get("t", 2).is_none(), "the chain moved");
        assert!(c.get("u", 1).is_none(), "another token");
        let at = OffsetDateTime::UNIX_EPOCH;
        c.touch("t", at);
        assert_eq!(c.get("t", 1).and_then(|r| r.last_seen), Some(at));
        c.remove("t");
        assert!(c.get("t", 1).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let c = SessionCache::default();
        for i in 0..(MAX_ENTRIES as i64 + 5) {
            c.put(format!("t{i}"), 1, row(i));
        }
        assert!(c.len() <= MAX_ENTRIES);
        assert!(c.get(&format!("t{}", MAX_ENTRIES + 4), 1).is_some());
    }
}
