//! The build step after the browser bundle: content-hashed copies of `steward.js`,
//! `steward.wasm` and `steward.css` in the bundle folder, each with gzip and brotli variants
//! made once here (the server never compresses a static file per request), and the manifest
//! the server reads to name them in pages (`<site>/assets.json`).
//!
//! A name is a hash of the content, so a file that changes gets a new name and browsers may
//! keep any name forever (`immutable`). The JS loader and the wasm share one name: the loader
//! is generated for that module and they change together.

use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The working names the wasm build and the stylesheet copy write.
const JS: &str = "steward.js";
const WASM: &str = "steward.wasm";
const CSS: &str = "steward.css";
/// Hex digits of the hash kept in a name (64 bits: no collision between builds in practice).
const HASH_HEX: usize = 16;

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The bundle's file stem: `steward.<hash>` (`.js` and `.wasm`).
    pub bundle: String,
    /// The stylesheet's file name: `steward.<hash>.css`.
    pub css: String,
    pub sizes: Vec<Sizes>,
}

/// One hashed file and its compressed variants, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// Writes the hashed files and variants into `pkg` (skipping those already there: same name,
/// same content), removes hashed files of earlier builds, and writes `manifest`.
pub fn build(pkg: &Path, manifest: &Path) -> io::Result<Built> {
    let read = |name: &str| {
        std::fs::read(pkg.join(name))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", pkg.join(name).display())))
    };
    let (js, wasm, css) = (read(JS)?, read(WASM)?, read(CSS)?);
    let bundle = format!("steward.{}", hash(&[&js, &wasm]));
    let css_name = format!("steward.{}.css", hash(&[&css]));
    let mut sizes = Vec::new();
    for (name, bytes) in [
        (format!("{bundle}.js"), &js),
        (format!("{bundle}.wasm"), &wasm),
        (css_name.clone(), &css),
    ] {
        sizes.push(write_variants(pkg, &name, bytes)?);
    }
    let keep: Vec<&str> = sizes.iter().map(|s| s.name.as_str()).collect();
    remove_stale(pkg, &keep)?;
    let json = serde_json::json!({ "bundle": bundle, "css": css_name });
    write_atomic(manifest, json.to_string().as_bytes())?;
    Ok(Built {
        bundle,
        css: css_name,
        sizes,
    })
}

fn hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Lengths first: ("ab", "c") and ("a", "bc") must not share a name.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())[..HASH_HEX].to_string()
}

fn write_variants(pkg: &Path, name: &str, bytes: &[u8]) -> io::Result<Sizes> {
    let raw = pkg.join(name);
    let gz = pkg.join(format!("{name}.gz"));
    let br = pkg.join(format!("{name}.br"));
    if !(raw.is_file() && gz.is_file() && br.is_file()) {
        write_atomic(&raw, bytes)?;
        write_atomic(&gz, &gzip(bytes)?)?;
        write_atomic(&br, &brotli(bytes)?)?;
    }
    let len = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len());
    Ok(Sizes {
        name: name.to_string(),
        raw: len(&raw)?,
        gzip: len(&gz)?,
        brotli: len(&br)?,
    })
}

pub fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes)?;
    e.finish()
}

pub fn brotli(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

fn remove_stale(pkg: &Path, keep: &[&str]) -> io::Result<()> {
    for entry in std::fs::read_dir(pkg)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let base = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".br"))
            .unwrap_or(&name);
        // The folder holds the bundle only: any other `steward.*` file (not a working copy,
        // not this build's) is an earlier build's.
        if name.starts_with("steward.") && ![JS, WASM, CSS].contains(&base) && !keep.contains(&base)
        {
            std::fs::remove_file(pkg.join(&name))?;
        }
    }
    Ok(())
}

/// Written beside, then renamed: a server reading the folder never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp-assets");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn site(js: &str, wasm: &[u8], css: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "steward-assets-{}-{}",
            std::process::id(),
            hash(&[js.as_bytes(), wasm, css.as_bytes()])
        ));
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join(JS), js).unwrap();
        std::fs::write(pkg.join(WASM), wasm).unwrap();
        std::fs::write(pkg.join(CSS), css).unwrap();
        (pkg, dir.join("assets.json"))
    }

    fn names(pkg: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(pkg)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn variants_hold_the_same_bytes_and_a_change_gets_a_new_name() {
        let css = "body { color: black; }\n".repeat(50);
        let (pkg, manifest) = site("import x from './y.js';", b"\0asm\x01\0\0\0", &css);
        let first = build(&pkg, &manifest).unwrap();
        assert!(first.bundle.starts_with("steward.") && first.css.ends_with(".css"));
        let raw = std::fs::read(pkg.join(&first.css)).unwrap();
        assert_eq!(raw, css.as_bytes());
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(
            &std::fs::read(pkg.join(format!("{}.gz", first.css))).unwrap()[..],
        )
        .read_to_end(&mut unzipped)
        .unwrap();
        assert_eq!(unzipped, raw);
        let mut unbrotli = Vec::new();
        brotli_decompressor::Decompressor::new(
            &std::fs::read(pkg.join(format!("{}.br", first.css))).unwrap()[..],
            4096,
        )
        .read_to_end(&mut unbrotli)
        .unwrap();
        assert_eq!(unbrotli, raw);
        let css_sizes = first.sizes.iter().find(|s| s.name == first.css).unwrap();
        assert!(css_sizes.brotli < css_sizes.raw && css_sizes.gzip < css_sizes.raw);
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        assert_eq!(m["bundle"], first.bundle.as_str());
        assert_eq!(m["css"], first.css.as_str());

        // The same inputs: the same names, nothing rewritten.
        assert_eq!(build(&pkg, &manifest).unwrap(), first);

        // A changed stylesheet: a new CSS name, the bundle's unchanged, the old CSS gone.
        std::fs::write(pkg.join(CSS), "body { color: red; }").unwrap();
        let second = build(&pkg, &manifest).unwrap();
        assert_ne!(second.css, first.css);
        assert_eq!(second.bundle, first.bundle);
        let left = names(&pkg);
        assert!(!left.iter().any(|n| n.starts_with(&first.css)), "{left:?}");
        assert!(left.contains(&format!("{}.br", second.css)), "{left:?}");
        // The working copies stay; only hashed names are cleaned.
        assert!(left.contains(&CSS.to_string()));

        // A changed module renames both halves of the bundle.
        std::fs::write(pkg.join(WASM), b"\0asm\x01\0\0\0\x01").unwrap();
        let third = build(&pkg, &manifest).unwrap();
        assert_ne!(third.bundle, second.bundle);
        assert!(pkg.join(format!("{}.js.br", third.bundle)).is_file());
        assert!(!pkg.join(format!("{}.js", second.bundle)).exists());
        let _ = std::fs::remove_dir_all(pkg.parent().unwrap());
    }

    #[test]
    fn parts_are_hashed_with_their_lengths() {
        assert_ne!(hash(&[b"ab", b"c"]), hash(&[b"a", b"bc"]));
        assert_eq!(hash(&[b"x"]).len(), HASH_HEX);
    }
}
