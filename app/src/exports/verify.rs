//! `steward verify-export`: checks an export against a public key and says exactly what
//! fails (file, expected, found). Reads untrusted bytes: every read is bounded, nothing
//! panics on any input (fuzz target `export_verify`).

use super::manifest::*;
use crate::audit::checkpoint::{digest_of_raw, raw_hash, Checkpoint};
use crate::signing::PublicKey;
use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufRead, Read, Seek};

/// At most this many entries in an archive.
pub const MAX_ENTRIES: usize = 200_000;
/// `manifest.json`, `SHA256SUMS` and `audit/checkpoints.json` are read whole, up to this.
pub const MAX_JSON: u64 = 128 * 1024 * 1024;
/// One line of the audit excerpt.
pub const MAX_EVENT_LINE: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub what: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<Problem>,
    pub files_checked: usize,
    pub events_checked: usize,
    pub checkpoints_checked: usize,
    pub manifest: Option<Manifest>,
    pub key_fingerprint: String,
}

impl Report {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }

    fn fail(&mut self, file: &str, what: impl Into<String>) {
        self.problems.push(Problem {
            file: file.into(),
            what: what.into(),
        });
    }

    pub fn summary(&self) -> String {
        let scope = self.manifest.as_ref().map_or(String::new(), |m| {
            format!(
                " ({} {}, [{}, {}))",
                m.framework.key, m.framework.version, m.period.start, m.period.end
            )
        });
        if self.intact() {
            format!(
                "export intact{scope}: signature by key {}, {} files, {} audit events and {} checkpoints checked",
                self.key_fingerprint, self.files_checked, self.events_checked, self.checkpoints_checked
            )
        } else {
            format!(
                "export FAILED{scope}: {} problem(s) (key {})",
                self.problems.len(),
                self.key_fingerprint
            )
        }
    }

    pub fn details(&self) -> Vec<String> {
        self.problems
            .iter()
            .map(|p| format!("FAIL {}: {}", p.file, p.what))
            .collect()
    }
}

fn read_bounded(r: &mut dyn Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    r.take(limit + 1).read_to_end(&mut out)?;
    Ok((out.len() as u64 <= limit).then_some(out))
}

/// SHA-256 and size of everything `r` yields.
fn hash_all(r: &mut dyn Read) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(h.finalize()), size))
}

pub fn verify<R: Read + Seek>(archive: R, key: &PublicKey) -> Report {
    let mut report = Report {
        key_fingerprint: key.fingerprint(),
        ..Report::default()
    };
    let mut zip = match zip::ZipArchive::new(archive) {
        Ok(z) => z,
        Err(e) => {
            report.fail("(archive)", format!("not a readable ZIP archive: {e}"));
            return report;
        }
    };
    if zip.len() > MAX_ENTRIES {
        report.fail(
            "(archive)",
            format!(
                "{} entries; an export holds at most {MAX_ENTRIES}",
                zip.len()
            ),
        );
        return report;
    }
    let mut names: HashMap<String, usize> = HashMap::new();
    for i in 0..zip.len() {
        let name = match zip.by_index_raw(i) {
            Ok(f) => f.name().map(|n| n.to_string()),
            Err(e) => Err(e),
        };
        match name {
            Ok(n) => {
                if names.insert(n.clone(), i).is_some() {
                    report.fail(&n, "appears twice in the archive");
                }
            }
            Err(e) => report.fail(&format!("(entry {i})"), format!("unreadable: {e}")),
        }
    }
    let read_whole = |zip: &mut zip::ZipArchive<R>, report: &mut Report, name: &str, limit| {
        let Some(&i) = names.get(name) else {
            report.fail(name, "missing from the archive");
            return None;
        };
        let got = zip
            .by_index(i)
            .map_err(io::Error::other)
            .and_then(|mut f| read_bounded(&mut f, limit));
        match got {
            Ok(Some(b)) => Some(b),
            Ok(None) => {
                report.fail(name, format!("larger than {limit} bytes"));
                None
            }
            Err(e) => {
                report.fail(name, format!("unreadable: {e}"));
                None
            }
        }
    };
    let Some(manifest_bytes) = read_whole(&mut zip, &mut report, MANIFEST, MAX_JSON) else {
        return report;
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            report.fail(MANIFEST, format!("not a Steward export manifest: {e}"));
            return report;
        }
    };
    if manifest.format != FORMAT {
        report.fail(
            MANIFEST,
            format!("format expected {FORMAT}, found {}", manifest.format),
        );
    }
    let mut actual: BTreeMap<String, String> = BTreeMap::new();
    actual.insert(
        MANIFEST.into(),
        hex::encode(Sha256::digest(&manifest_bytes)),
    );
    if let Some(sig) = read_whole(&mut zip, &mut report, SIGNATURE, 64) {
        actual.insert(SIGNATURE.into(), hex::encode(Sha256::digest(&sig)));
        let ok = <[u8; 64]>::try_from(sig.as_slice())
            .map(|b| key.verify(&manifest_bytes, &Signature::from_bytes(&b)))
            .unwrap_or(false);
        if !ok {
            let signer = if manifest.signing_key.fingerprint == key.fingerprint() {
                String::new()
            } else {
                format!(
                    " (the manifest names key {}, not {})",
                    manifest.signing_key.fingerprint,
                    key.fingerprint()
                )
            };
            report.fail(
                SIGNATURE,
                format!(
                    "the signature over manifest.json does not verify with key {}{signer}: \
                     the manifest was changed or another key signed it",
                    key.fingerprint()
                ),
            );
        }
    }
    check_files(&mut zip, &names, &manifest, &mut actual, &mut report);
    if let Some(sums) = read_whole(&mut zip, &mut report, SUMS, MAX_JSON) {
        check_sums(&sums, &actual, &mut report);
    }
    let checkpoints = read_whole(&mut zip, &mut report, CHECKPOINTS, MAX_JSON)
        .and_then(
            |b| match serde_json::from_slice::<Vec<CheckpointEntry>>(&b) {
                Ok(c) => Some(c),
                Err(e) => {
                    report.fail(CHECKPOINTS, format!("not a list of checkpoints: {e}"));
                    None
                }
            },
        )
        .unwrap_or_default();
    let anchored = check_checkpoints(&checkpoints, key, &mut report);
    if let Some(&i) = names.get(EVENTS) {
        match zip.by_index(i) {
            Ok(f) => check_events(io::BufReader::new(f), &anchored, &mut report),
            Err(e) => report.fail(EVENTS, format!("unreadable: {e}")),
        }
    } else {
        report.fail(EVENTS, "missing from the archive");
    }
    report.manifest = Some(manifest);
    report
}

fn check_files<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    names: &HashMap<String, usize>,
    manifest: &Manifest,
    actual: &mut BTreeMap<String, String>,
    report: &mut Report,
) {
    let mut listed: HashSet<&str> = [MANIFEST, SIGNATURE, SUMS].into_iter().collect();
    for f in &manifest.files {
        if !listed.insert(f.path.as_str()) {
            report.fail(&f.path, "listed twice in the manifest");
            continue;
        }
        let Some(&i) = names.get(&f.path) else {
            report.fail(
                &f.path,
                "listed in the manifest but missing from the archive",
            );
            continue;
        };
        let got = zip
            .by_index(i)
            .map_err(io::Error::other)
            .and_then(|mut e| hash_all(&mut e));
        match got {
            Ok((sha, size)) => {
                report.files_checked += 1;
                if sha != f.sha256 {
                    report.fail(
                        &f.path,
                        format!("sha256 expected {}, found {sha}", f.sha256),
                    );
                } else if size != f.size {
                    report.fail(&f.path, format!("size expected {}, found {size}", f.size));
                }
                actual.insert(f.path.clone(), sha);
            }
            Err(e) => report.fail(&f.path, format!("unreadable: {e}")),
        }
    }
    let mut extra: Vec<&String> = names
        .keys()
        .filter(|n| !listed.contains(n.as_str()))
        .collect();
    extra.sort();
    for n in extra {
        report.fail(n, "in the archive but not listed in the manifest");
    }
}

fn check_sums(sums: &[u8], actual: &BTreeMap<String, String>, report: &mut Report) {
    let Ok(text) = std::str::from_utf8(sums) else {
        report.fail(SUMS, "not UTF-8 text");
        return;
    };
    let mut seen = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let parsed = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .filter(|(h, _)| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some((hash, path)) = parsed else {
            report.fail(SUMS, format!("line {}: not '<sha256>  <path>'", n + 1));
            continue;
        };
        seen.insert(path);
        match actual.get(path) {
            Some(found) if found.eq_ignore_ascii_case(hash) => {}
            Some(found) => report.fail(
                path,
                format!("SHA256SUMS line {} expects {hash}, found {found}", n + 1),
            ),
            None => report.fail(
                SUMS,
                format!(
                    "line {} names {path}, which the manifest does not list",
                    n + 1
                ),
            ),
        }
    }
    for path in actual.keys().filter(|p| !seen.contains(p.as_str())) {
        report.fail(path, "not listed in SHA256SUMS");
    }
}

/// Checks each checkpoint's signature and digest; returns the signed hash of each event seq.
fn check_checkpoints(
    checkpoints: &[CheckpointEntry],
    key: &PublicKey,
    report: &mut Report,
) -> HashMap<i64, String> {
    let mut anchored = HashMap::new();
    for c in checkpoints {
        let name = format!("{CHECKPOINTS} (checkpoint #{})", c.seq);
        let cp = Checkpoint {
            seq: c.seq,
            hash: c.hash.clone(),
            at: c.at.clone(),
            prev_seq: c.prev_seq,
            digest: c.digest.clone(),
            signature: c.signature.clone(),
        };
        report.checkpoints_checked += 1;
        if !cp.signed_by(key) {
            report.fail(
                &name,
                format!(
                    "its signature does not verify with key {}",
                    key.fingerprint()
                ),
            );
            continue;
        }
        let span = c.seq.saturating_sub(c.prev_seq);
        if span != c.event_hashes.len() as i64 {
            report.fail(
                &name,
                format!(
                    "signs {span} events but lists {} hashes",
                    c.event_hashes.len()
                ),
            );
            continue;
        }
        let raw: Vec<u8> = c.event_hashes.iter().flat_map(|h| raw_hash(h)).collect();
        let digest = digest_of_raw(&raw);
        if digest != c.digest {
            report.fail(
                &name,
                format!("digest expected {}, found {digest}", c.digest),
            );
            continue;
        }
        if c.event_hashes.last() != Some(&c.hash) {
            report.fail(&name, "its last event hash is not the head it signs");
            continue;
        }
        for (i, h) in c.event_hashes.iter().enumerate() {
            anchored.insert(c.prev_seq + 1 + i as i64, h.clone());
        }
    }
    anchored
}

fn check_events(mut r: impl BufRead, anchored: &HashMap<i64, String>, report: &mut Report) {
    let mut prev: Option<(i64, String)> = None;
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        n += 1;
        let got = (&mut r)
            .take(MAX_EVENT_LINE + 1)
            .read_until(b'\n', &mut line);
        match got {
            Ok(0) => break,
            Ok(_) if line.len() as u64 > MAX_EVENT_LINE => {
                report.fail(
                    EVENTS,
                    format!("line {n} is longer than {MAX_EVENT_LINE} bytes"),
                );
                return;
            }
            Ok(_) => {}
            Err(e) => {
                report.fail(EVENTS, format!("unreadable at line {n}: {e}"));
                return;
            }
        }
        let e: EventLine = match serde_json::from_slice(&line) {
            Ok(e) => e,
            Err(err) => {
                report.fail(EVENTS, format!("line {n} is not an audit event: {err}"));
                continue;
            }
        };
        report.events_checked += 1;
        let here = format!("{EVENTS} line {n} (event #{})", e.seq);
        if e.computed_hash() != e.hash {
            report.fail(
                &here,
                "its content does not match its hash (the event was altered)",
            );
        }
        if let Some((pseq, phash)) = &prev {
            if e.seq <= *pseq {
                report.fail(
                    &here,
                    format!("comes after event #{pseq}: events must be in order"),
                );
            } else if e.seq == pseq + 1 && &e.prev_hash != phash {
                report.fail(
                    &here,
                    format!("does not follow event #{pseq} (prev_hash differs)"),
                );
            }
        }
        match anchored.get(&e.seq) {
            Some(signed) if signed == &e.hash => {}
            Some(signed) => report.fail(
                &here,
                format!(
                    "hash {} differs from the signed checkpoint's {signed}",
                    e.hash
                ),
            ),
            None => report.fail(&here, "no checkpoint in the export signs it"),
        }
        prev = Some((e.seq, e.hash));
    }
}
