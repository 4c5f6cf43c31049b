//! The browser bundle's file names as the build wrote them (`<site>/assets.json`, written by
//! `tools/assets`): `steward.<hash>.js` and `.wasm` (one stem, given to leptos as the output
//! name) and `steward.<hash>.css`. Content-hashed names are what lets the server tell browsers
//! to keep these files forever (`immutable`); a new build brings new names.
//!
//! Process-wide, set once at start: a process serves one build, and error pages are rendered
//! where no request state is at hand.

use std::path::Path;
use std::sync::OnceLock;

/// Hex digits of the content hash in a name (as `tools/assets` writes them).
const HASH_HEX: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assets {
    /// Stem of the JS loader and the wasm module (`steward.<hash>`).
    pub bundle: String,
    /// The stylesheet's URL (`/pkg/steward.<hash>.css`).
    pub stylesheet: String,
}

impl Assets {
    /// The unhashed working names (no manifest: a bundle built before hashing, or none).
    fn unhashed() -> Assets {
        Assets {
            bundle: crate::OUTPUT_NAME.to_string(),
            stylesheet: "/pkg/steward.css".to_string(),
        }
    }

    /// Reads `<site>/assets.json`; the unhashed names when it is missing or unreadable.
    pub fn read(site_root: &Path) -> Assets {
        let Ok(text) = std::fs::read_to_string(site_root.join("assets.json")) else {
            return Assets::unhashed();
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Assets::unhashed();
        };
        match (v["bundle"].as_str(), v["css"].as_str()) {
            (Some(b), Some(c)) if is_hashed_name(&format!("{b}.js")) && is_hashed_name(c) => {
                Assets {
                    bundle: b.to_string(),
                    stylesheet: format!("/pkg/{c}"),
                }
            }
            _ => Assets::unhashed(),
        }
    }
}

static ASSETS: OnceLock<Assets> = OnceLock::new();

/// Sets the names from `site_root` (the first call in a process wins) and returns them.
pub fn init(site_root: &Path) -> &'static Assets {
    ASSETS.get_or_init(|| Assets::read(site_root))
}

/// The names in use (the unhashed ones until `init`).
pub fn get() -> &'static Assets {
    ASSETS.get_or_init(Assets::unhashed)
}

/// True for `steward.<16 hex>.(js|wasm|css)`, with or without `.gz`/`.br`: a file whose name
/// changes with its content, so it may be cached for good.
pub fn is_hashed_name(name: &str) -> bool {
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".br"))
        .unwrap_or(name);
    let Some((hash, ext)) = base
        .strip_prefix("steward.")
        .and_then(|rest| rest.split_once('.'))
    else {
        return false;
    };
    hash.len() == HASH_HEX
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && matches!(ext, "js" | "wasm" | "css")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_manifest_when_it_is_sound() {
        let dir = std::env::temp_dir().join(format!("steward-assets-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Assets::read(&dir), Assets::unhashed(), "no manifest");
        std::fs::write(
            dir.join("assets.json"),
            r#"{"bundle":"steward.0123456789abcdef","css":"steward.fedcba9876543210.css"}"#,
        )
        .unwrap();
        let a = Assets::read(&dir);
        assert_eq!(a.bundle, "steward.0123456789abcdef");
        assert_eq!(a.stylesheet, "/pkg/steward.fedcba9876543210.css");
        std::fs::write(
            dir.join("assets.json"),
            r#"{"bundle":"../etc","css":"x.css"}"#,
        )
        .unwrap();
        assert_eq!(
            Assets::read(&dir),
            Assets::unhashed(),
            "odd names are not used"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_content_hashed_names_are_immutable() {
        assert!(is_hashed_name("steward.0123456789abcdef.wasm"));
        assert!(is_hashed_name("steward.0123456789abcdef.js.br"));
        assert!(is_hashed_name("steward.0123456789abcdef.css.gz"));
        assert!(!is_hashed_name("steward.css"));
        assert!(!is_hashed_name("steward.wasm"));
        assert!(!is_hashed_name("steward.0123456789abcdeX.js"));
        assert!(!is_hashed_name("steward.0123456789abcdef.html"));
    }
}
