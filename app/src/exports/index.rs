//! The export's readable files: the Statement of Applicability (`soa.csv`), `index.csv` (one
//! row per requirement, control and evidence version), an `index.html` that opens offline,
//! and `README.txt` (how to check the archive with standard tools).

use super::scope::evidence_path;
use super::store::{Control, Plan, Requirement, Version};
use crate::util::csv_cell;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A requirement's applicability: not applicable when the Statement of Applicability excludes
/// it (with its reason); else from its mapped controls: applicable when any is; not applicable
/// (with the controls' justifications) when all are not; "not addressed" when no control is
/// mapped.
pub fn applicability<'a>(
    r: &Requirement,
    controls: impl Iterator<Item = &'a Control>,
) -> (&'static str, String) {
    if let Some(why) = &r.excluded {
        return ("not applicable", why.clone());
    }
    let mut any = false;
    let mut applicable = false;
    let mut why: Vec<&str> = Vec::new();
    for c in controls {
        any = true;
        if c.applicable {
            applicable = true;
        } else if !c.justification.is_empty() && !why.contains(&c.justification.as_str()) {
            why.push(&c.justification);
        }
    }
    match (any, applicable) {
        (false, _) => ("not addressed", String::new()),
        (true, true) => ("applicable", String::new()),
        (true, false) => ("not applicable", why.join("; ")),
    }
}

fn status_label(c: &Control) -> &'static str {
    c.status.map_or("unknown", |d| d.status.label())
}

fn mapped<'a>(plan: &'a Plan, r: &'a Requirement) -> impl Iterator<Item = &'a Control> + 'a {
    r.controls.iter().filter_map(|id| plan.controls.get(id))
}

fn csv_bytes(header: &[&str], rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(row.iter().map(|c| csv_cell(c).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

pub fn soa_csv(plan: &Plan) -> Vec<u8> {
    soa(&plan.requirements, &plan.controls)
}

/// The Statement of Applicability of these requirements and controls, as CSV.
pub fn soa(requirements: &[Requirement], controls: &BTreeMap<i64, Control>) -> Vec<u8> {
    let mapped = |r: &Requirement| -> Vec<&Control> {
        r.controls
            .iter()
            .filter_map(|id| controls.get(id))
            .collect()
    };
    let rows = requirements
        .iter()
        .map(|r| {
            let m = mapped(r);
            let (applicable, why) = applicability(r, m.iter().copied());
            let refs: Vec<&str> = m.iter().map(|c| c.reference.as_str()).collect();
            let statuses: Vec<String> = m
                .iter()
                .map(|c| format!("{}: {}", c.reference, status_label(c)))
                .collect();
            vec![
                r.label.clone(),
                r.title.clone(),
                r.group.clone(),
                applicable.to_string(),
                why,
                refs.join("; "),
                statuses.join("; "),
            ]
        })
        .collect();
    csv_bytes(
        &[
            "requirement",
            "title",
            "group",
            "applicability",
            "justification",
            "controls",
            "control_status",
        ],
        rows,
    )
}

/// Versions in scope by evidence id.
fn by_evidence(plan: &Plan) -> BTreeMap<i64, Vec<&Version>> {
    let mut m: BTreeMap<i64, Vec<&Version>> = BTreeMap::new();
    for v in &plan.versions {
        m.entry(v.evidence_id).or_default().push(v);
    }
    m
}

fn location(v: &Version) -> String {
    match (&v.sha256, &v.url) {
        (Some(_), _) => evidence_path(v.evidence_id, v.version, &v.filename),
        (None, Some(url)) => url.clone(),
        _ => String::new(),
    }
}

pub fn index_csv(plan: &Plan) -> Vec<u8> {
    let versions = by_evidence(plan);
    let mut rows = Vec::new();
    for r in &plan.requirements {
        let before = rows.len();
        for c in mapped(plan, r) {
            let mut any = false;
            for v in c.evidence.iter().filter_map(|e| versions.get(e)).flatten() {
                any = true;
                rows.push(vec![
                    r.label.clone(),
                    r.title.clone(),
                    c.reference.clone(),
                    c.title.clone(),
                    status_label(c).to_string(),
                    v.evidence_id.to_string(),
                    v.version.to_string(),
                    v.title.clone(),
                    v.effective_date.clone(),
                    location(v),
                    v.sha256.clone().unwrap_or_default(),
                ]);
            }
            if !any {
                rows.push(vec![
                    r.label.clone(),
                    r.title.clone(),
                    c.reference.clone(),
                    c.title.clone(),
                    status_label(c).to_string(),
                ]);
            }
        }
        if rows.len() == before {
            rows.push(vec![r.label.clone(), r.title.clone()]);
        }
    }
    for row in &mut rows {
        row.resize(11, String::new());
    }
    csv_bytes(
        &[
            "requirement",
            "requirement_title",
            "control",
            "control_title",
            "control_status",
            "evidence_id",
            "version",
            "evidence_title",
            "effective_date",
            "file_or_link",
            "sha256",
        ],
        rows,
    )
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a path segment keeps as is in a link: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A relative link to a file in the archive, each path segment percent-encoded.
fn href(path: &str) -> String {
    path.split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

pub fn index_html(plan: &Plan) -> String {
    let versions = by_evidence(plan);
    let fw = &plan.framework;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Evidence: {} {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:70em}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;\
         padding:.3em;text-align:left;vertical-align:top}}h2{{margin-top:2em}}</style>\
         </head><body>\n<h1>{} {} — evidence for [{}, {})</h1>\n\
         <p>Data as of audit event #{} ({}). The period is half-open: it ends before {}. \
         Check this archive: see README.txt.</p>\n",
        esc(&fw.name),
        esc(&fw.version),
        esc(&fw.name),
        esc(&fw.version),
        plan.scope.period.start,
        plan.scope.period.end,
        plan.head.seq,
        esc(&plan.head.at),
        plan.scope.period.end,
    );
    h.push_str(
        "<h2>Statement of Applicability</h2>\n<table><tr><th>Requirement</th><th>Title</th>\
         <th>Applicability</th><th>Justification</th><th>Controls (status)</th></tr>\n",
    );
    for r in &plan.requirements {
        let (applicable, why) = applicability(r, mapped(plan, r));
        let ctl: Vec<String> = mapped(plan, r)
            .map(|c| format!("{} ({})", esc(&c.reference), status_label(c)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#r{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.id,
            esc(&r.label),
            esc(&r.title),
            applicable,
            esc(&why),
            ctl.join(", ")
        );
    }
    h.push_str("</table>\n<h2>Requirements, controls and evidence</h2>\n");
    for r in &plan.requirements {
        let _ = writeln!(
            h,
            "<h3 id=\"r{}\">{} — {}</h3>",
            r.id,
            esc(&r.label),
            esc(&r.title)
        );
        let mut any = false;
        for c in mapped(plan, r) {
            any = true;
            let _ = writeln!(
                h,
                "<p><b>{}</b> {} — {} (owner: {})</p><ul>",
                esc(&c.reference),
                esc(&c.title),
                status_label(c),
                esc(if c.owner.is_empty() { "none" } else { &c.owner })
            );
            let mut listed = false;
            for v in c.evidence.iter().filter_map(|e| versions.get(e)).flatten() {
                listed = true;
                let what = match (&v.sha256, &v.url) {
                    (Some(_), _) => {
                        let p = evidence_path(v.evidence_id, v.version, &v.filename);
                        format!("<a href=\"{}\">{}</a>", esc(&href(&p)), esc(&p))
                    }
                    (None, Some(url)) => format!("link: {}", esc(url)),
                    _ => String::new(),
                };
                let _ = writeln!(
                    h,
                    "<li>#{} v{} “{}”, effective {}{}: {}</li>",
                    v.evidence_id,
                    v.version,
                    esc(&v.title),
                    esc(&v.effective_date),
                    v.test_result
                        .as_deref()
                        .map(|t| format!(", test {t}"))
                        .unwrap_or_default(),
                    what
                );
            }
            if !listed {
                h.push_str("<li>No evidence effective in the period.</li>");
            }
            h.push_str("</ul>\n");
        }
        if !any {
            h.push_str("<p>No control is mapped to this requirement.</p>\n");
        }
    }
    h.push_str("</body></html>\n");
    h
}

pub fn readme(plan: &Plan, signer: &crate::signing::Signer) -> String {
    format!(
        "Steward evidence export: {} {} for the period [{}, {}) (it ends before {}).\n\
         Data as of audit event #{} at {}.\n\
         Signed with the Ed25519 key whose fingerprint is {} (public key: {}).\n\n\
         Check it with standard tools:\n\
         \x20 sha256sum -c SHA256SUMS\n\
         \x20 openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig\n\
         Compare the key's fingerprint with the one your organisation publishes: a key inside the\n\
         archive proves nothing by itself. Or, with Steward:\n\
         \x20 steward verify-export THIS.zip --public-key {}\n\n\
         index.html (opens offline) and index.csv map requirement -> control -> evidence;\n\
         soa.csv is the Statement of Applicability; audit/ holds the period's audit trail with the\n\
         signed checkpoints that cover it; manifest.json lists every file with its SHA-256.\n",
        plan.framework.name,
        plan.framework.version,
        plan.scope.period.start,
        plan.scope.period.end,
        plan.scope.period.end,
        plan.head.seq,
        plan.head.at,
        signer.fingerprint(),
        signer.public_key_b64(),
        signer.public_key_b64(),
    )
}
