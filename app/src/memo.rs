//! One computed value kept for every request until its version changes (the dashboard's
//! cards). A leaf: it knows nothing of what it holds, so `AppState` can carry one without
//! depending on the area that fills it; the area downcasts to its own type.

use std::any::Any;
use std::sync::{Arc, Mutex};

/// What a value was computed from: the audit chain's head and a time bucket.
pub type Version = (i64, i64);

type Slot = Option<(Version, Arc<dyn Any + Send + Sync>)>;

#[derive(Default)]
pub struct Memo(Mutex<Slot>);

impl Memo {
    /// The value kept for exactly `version`, if it is a `T`.
    pub fn get<T: Any + Send + Sync>(&self, version: Version) -> Option<Arc<T>> {
        let slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (v, value) = slot.as_ref()?;
        (*v == version)
            .then(|| value.clone().downcast::<T>().ok())
            .flatten()
    }

    /// Keeps `value` for `version`, unless a value for a later head is kept already (a slower
    /// request that started before a change must not put older figures back).
    pub fn put<T: Any + Send + Sync>(&self, version: Version, value: Arc<T>) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|(v, _)| v.0 <= version.0) {
            *slot = Some((version, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_for_its_version_only_and_never_replaced_by_an_older_one() {
        let m = Memo::default();
        assert!(m.get::<String>((1, 0)).is_none());
        m.put((2, 5), Arc::new("two".to_string()));
        assert_eq!(
            m.get::<String>((2, 5)).as_deref().map(String::as_str),
            Some("two")
        );
        assert!(m.get::<String>((2, 6)).is_none(), "another minute");
        assert!(m.get::<String>((3, 5)).is_none(), "a later head");
        assert!(m.get::<u32>((2, 5)).is_none(), "another type");
        m.put((1, 9), Arc::new("one".to_string()));
        assert_eq!(
            m.get::<String>((2, 5)).as_deref().map(String::as_str),
            Some("two")
        );
        m.put((3, 5), Arc::new("three".to_string()));
        assert_eq!(
            m.get::<String>((3, 5)).as_deref().map(String::as_str),
            Some("three")
        );
    }
}
