//! Framework files in, whatever they are: a CISO Assistant library (frameworks and crosswalks),
//! an OSCAL catalog, an OSCAL profile (with the catalogs it selects from, uploaded with it or
//! imported before), a crosswalk CSV, or a framework CSV. Everything is parsed first (off the
//! async runtime), then written in one transaction: all of it, or nothing.

use super::crosswalk::{self, ParsedMappingSet};
use super::import::{self, ParsedFramework};
use super::profile::{self, CatalogSource};
use super::{framework_csv, library, store, ImportOutcome, MappingOutcome};
use crate::audit::chain::AuditCtx;
use crate::db::{Db, WriteTx};
use crate::error::AppError;
use crate::util::sha256_hex;
use std::collections::HashMap;

/// A file as received.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// What the person asked for besides the files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The framework's name (a CSV's; overrides an OSCAL title).
    pub name: Option<String>,
    pub version: Option<String>,
    /// A library's language ("fr"); none keeps the language it was imported in last, or the
    /// library's own.
    pub locale: Option<String>,
}

/// What a file is, by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Library,
    Profile,
    Catalog,
    Crosswalk,
    FrameworkCsv,
}

/// What a file is, by its content (a `.yaml`/`.yml` name is read as a library, so a broken
/// one is told what it lacks rather than taken for a CSV).
pub fn kind(file_name: &str, bytes: &[u8]) -> Kind {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let starts_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if starts_json {
        let text = String::from_utf8_lossy(body);
        if profile::is_profile(&text) {
            return Kind::Profile;
        }
        return Kind::Catalog;
    }
    let lower = file_name.to_ascii_lowercase();
    if library::is_library(bytes) || lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Kind::Library
    } else if crosswalk::is_crosswalk_csv(bytes) {
        Kind::Crosswalk
    } else {
        Kind::FrameworkCsv
    }
}

/// Everything the files hold, parsed: frameworks (with their source name, hash and, for an
/// OSCAL catalog, the text kept for later profiles) and crosswalks.
#[derive(Default)]
struct Parsed {
    frameworks: Vec<(ParsedFramework, String, String, Option<String>)>,
    crosswalks: Vec<(ParsedMappingSet, &'static str, String, String)>,
    notes: Vec<String>,
}

/// All an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub frameworks: Vec<ImportOutcome>,
    pub crosswalks: Vec<MappingOutcome>,
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn describe(&self) -> String {
        let mut lines: Vec<String> = self
            .frameworks
            .iter()
            .map(ImportOutcome::describe)
            .collect();
        lines.extend(self.crosswalks.iter().map(MappingOutcome::describe));
        lines.extend(self.notes.iter().cloned());
        lines.join(". ")
    }

    /// Where to go next: the first framework imported, or the list.
    pub fn framework_id(&self) -> Option<i64> {
        self.frameworks.first().map(|f| f.framework_id)
    }
}

fn stem(file_name: &str) -> String {
    std::path::Path::new(file_name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("Custom framework")
        .to_string()
}

fn text(u: &Upload) -> Result<&str, AppError> {
    let body = u.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&u.bytes);
    std::str::from_utf8(body)
        .map_err(|e| AppError::invalid(format!("{}: not UTF-8 text ({e})", u.file_name)))
}

/// Parses every file. `stored`: catalogs imported before (for profiles); `locales`: the
/// language each framework key was imported in last.
fn parse(
    files: &[Upload],
    opts: &Options,
    stored: &[CatalogSource],
    locales: &HashMap<String, String>,
) -> Result<Parsed, AppError> {
    let kinds: Vec<Kind> = files.iter().map(|f| kind(&f.file_name, &f.bytes)).collect();
    let has_profile = kinds.contains(&Kind::Profile);
    let mut out = Parsed::default();
    // Catalogs sent with a profile are what it selects from, not frameworks of their own.
    let offered: Vec<CatalogSource> = files
        .iter()
        .zip(&kinds)
        .filter(|(_, k)| has_profile && matches!(k, Kind::Catalog | Kind::Profile))
        .map(|(f, _)| {
            Ok(CatalogSource {
                file_name: f.file_name.clone(),
                text: text(f)?.to_string(),
            })
        })
        .collect::<Result<_, AppError>>()?;
    for (f, k) in files.iter().zip(&kinds) {
        let sha = sha256_hex(&f.bytes);
        let name = opts.name.as_deref();
        match k {
            Kind::Catalog if has_profile => {}
            Kind::Catalog => {
                let t = text(f)?;
                let fw = import::parse_oscal(t, name)?;
                out.frameworks
                    .push((fw, f.file_name.clone(), sha, Some(t.to_string())));
            }
            Kind::Profile => {
                let t = text(f)?;
                let sent = offered.len() > 1;
                let mine: Vec<CatalogSource>;
                let others: &[CatalogSource] = if sent {
                    mine = offered
                        .iter()
                        .filter(|c| c.file_name != f.file_name)
                        .cloned()
                        .collect();
                    &mine
                } else {
                    stored
                };
                let fw = profile::resolve_profile_among(t, others, name, sent)?;
                out.frameworks.push((fw, f.file_name.clone(), sha, None));
            }
            Kind::Library => {
                let mut lib =
                    library::parse_library(&f.bytes, &f.file_name, opts.locale.as_deref())?;
                if opts.locale.is_none() {
                    // Keep the language chosen at the last import, when the library has it.
                    let again = lib.frameworks.iter().find_map(|fw| {
                        locales
                            .get(&fw.key)
                            .filter(|l| !l.is_empty() && **l != fw.locale && fw.locales.contains(l))
                    });
                    if let Some(l) = again {
                        lib = library::parse_library(&f.bytes, &f.file_name, Some(l))?;
                    }
                }
                if !lib.ignored.is_empty() {
                    out.notes.push(format!(
                        "{}: not imported (Steward reads frameworks and crosswalks): {}",
                        f.file_name,
                        lib.ignored.join(", ")
                    ));
                }
                for fw in lib.frameworks {
                    out.frameworks
                        .push((fw, f.file_name.clone(), sha.clone(), None));
                }
                for set in lib.mapping_sets {
                    out.crosswalks
                        .push((set, "ciso-yaml", f.file_name.clone(), sha.clone()));
                }
            }
            Kind::Crosswalk => {
                for set in crosswalk::parse_crosswalk_csv(&f.bytes, &f.file_name)? {
                    out.crosswalks
                        .push((set, "csv", f.file_name.clone(), sha.clone()));
                }
            }
            Kind::FrameworkCsv => {
                let n = name
                    .map(str::to_string)
                    .unwrap_or_else(|| stem(&f.file_name));
                let fw = framework_csv::read_guessed(
                    &f.bytes,
                    &n,
                    opts.version.as_deref().unwrap_or(""),
                )?;
                out.frameworks.push((fw, f.file_name.clone(), sha, None));
            }
        }
    }
    Ok(out)
}

/// Keeps an OSCAL catalog's text for profiles imported later (written with the import, or on
/// its own audited line when the catalog was imported before Steward kept sources).
async fn keep_source(
    tx: &mut WriteTx,
    ctx: &AuditCtx,
    out: &ImportOutcome,
    file_name: &str,
    text: &str,
) -> Result<bool, AppError> {
    let had: Option<String> =
        sqlx::query_scalar("SELECT file_name FROM framework_sources WHERE framework_id = $1")
            .bind(out.framework_id)
            .fetch_optional(tx.conn())
            .await?;
    if had.is_some() && !out.changed {
        return Ok(false);
    }
    let (uuid, title) = profile::catalog_identity(text).unwrap_or_default();
    sqlx::query("DELETE FROM framework_sources WHERE framework_id = $1")
        .bind(out.framework_id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO framework_sources (framework_id, uuid, title, file_name, content)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(out.framework_id)
    .bind(&uuid)
    .bind(&title)
    .bind(file_name)
    .bind(text)
    .execute(tx.conn())
    .await?;
    if !out.changed {
        tx.audit(ctx.event(
            "framework.source",
            "framework",
            out.framework_id,
            format!("kept the catalog '{title}' ({file_name}) for profiles to select from"),
        ))
        .await?;
    }
    Ok(true)
}

/// Catalogs a profile may select from: those imported, and the built-in ones.
pub async fn stored_catalogs(db: &Db) -> Result<Vec<CatalogSource>, AppError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT file_name, content FROM framework_sources ORDER BY framework_id")
            .fetch_all(db.pool())
            .await?;
    let mut out: Vec<CatalogSource> = rows
        .into_iter()
        .map(|(file_name, text)| CatalogSource { file_name, text })
        .collect();
    for (key, _, bytes) in import::BUILTIN {
        if let Ok(text) = std::str::from_utf8(bytes) {
            out.push(CatalogSource {
                file_name: format!("{key}.json"),
                text: text.to_string(),
            });
        }
    }
    Ok(out)
}

/// Imports the files: parsed off the runtime, written in one transaction.
pub async fn import(
    db: &Db,
    ctx: &AuditCtx,
    files: Vec<Upload>,
    opts: Options,
) -> Result<Outcome, AppError> {
    if files.is_empty() {
        return Err(AppError::invalid("Choose a file to import."));
    }
    let needs_catalogs = files
        .iter()
        .any(|f| kind(&f.file_name, &f.bytes) == Kind::Profile);
    let stored = if needs_catalogs {
        stored_catalogs(db).await?
    } else {
        Vec::new()
    };
    let locales: HashMap<String, String> = sqlx::query_as("SELECT key, locale FROM frameworks")
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .collect();
    let parsed = tokio::task::spawn_blocking(move || parse(&files, &opts, &stored, &locales))
        .await
        .map_err(AppError::internal)??;
    let mut tx = db.write().await?;
    let mut out = Outcome {
        notes: parsed.notes,
        ..Default::default()
    };
    let mut wrote = false;
    for (fw, source, sha, catalog) in &parsed.frameworks {
        let o = store::apply_framework_in(&mut tx, ctx, fw, source, sha).await?;
        if let Some(text) = catalog {
            wrote |= keep_source(&mut tx, ctx, &o, source, text).await?;
        }
        wrote |= o.changed;
        out.frameworks.push(o);
    }
    for (set, format, source, sha) in &parsed.crosswalks {
        let format: &str = format;
        // A person's CSV is held to every line; a library's links may trail its frameworks.
        let strict = format == "csv";
        let o = store::apply_mapping_set(&mut tx, ctx, set, (format, source, sha), strict).await?;
        wrote |= o.changed;
        out.crosswalks.push(o);
    }
    // An unchanged import wrote nothing: the transaction is dropped (rolled back).
    if wrote {
        tx.commit().await?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/frameworks")
            .join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn files_are_told_apart_by_content() {
        let k = |name: &str| kind(name, &fixture(name));
        assert_eq!(k("ca-alpha.yaml"), Kind::Library);
        assert_eq!(k("ca-mapping-alpha-beta.yaml"), Kind::Library);
        assert_eq!(k("tiny-profile.json"), Kind::Profile);
        assert_eq!(k("tiny-catalog.json"), Kind::Catalog);
        assert_eq!(k("crosswalk-alpha-beta.csv"), Kind::Crosswalk);
        assert_eq!(k("anssi-style-fr.csv"), Kind::FrameworkCsv);
        // The same library under another name is still one; a YAML name without the
        // library's keys is read as a library too, so its error says what it lacks.
        assert_eq!(kind("upload", &fixture("ca-alpha.yaml")), Kind::Library);
        assert_eq!(kind("x.yml", b"name: not a library\n"), Kind::Library);
        assert_eq!(kind("x.txt", b"id,title\nA,B\n"), Kind::FrameworkCsv);
    }
}
