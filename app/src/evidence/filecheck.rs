//! What an uploaded file is, judged by its bytes: magic numbers for binary formats, and valid
//! UTF-8 without NULs for text. The name's extension and the browser's declared type must agree
//! with the content. Also the display name (never a path) and the download header.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Webp,
    /// ZIP container: .zip, and the Office Open XML formats (.docx, .xlsx, .pptx).
    Zip,
    /// UTF-8 text without NUL bytes: .txt, .csv, .json, .md, .log.
    Text,
}

impl FileKind {
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "a PDF document",
            FileKind::Png => "a PNG image",
            FileKind::Jpeg => "a JPEG image",
            FileKind::Gif => "a GIF image",
            FileKind::Webp => "a WebP image",
            FileKind::Zip => "a ZIP archive (or DOCX/XLSX)",
            FileKind::Text => "plain text",
        }
    }

    fn default_media_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Gif => "image/gif",
            FileKind::Webp => "image/webp",
            FileKind::Zip => "application/zip",
            FileKind::Text => "text/plain; charset=utf-8",
        }
    }

    /// Types a browser may declare for this content.
    fn accepts_declared(self, declared: &str) -> bool {
        let d = declared
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match self {
            FileKind::Pdf => matches!(d.as_str(), "application/pdf" | "application/x-pdf"),
            FileKind::Png => d == "image/png",
            FileKind::Jpeg => matches!(d.as_str(), "image/jpeg" | "image/jpg" | "image/pjpeg"),
            FileKind::Gif => d == "image/gif",
            FileKind::Webp => d == "image/webp",
            FileKind::Zip => {
                matches!(
                    d.as_str(),
                    "application/zip" | "application/x-zip-compressed" | "application/x-zip"
                ) || d.starts_with("application/vnd.openxmlformats-officedocument.")
            }
            // Windows browsers declare .csv as application/vnd.ms-excel.
            FileKind::Text => {
                d.starts_with("text/")
                    || matches!(
                        d.as_str(),
                        "application/json" | "application/csv" | "application/vnd.ms-excel"
                    )
            }
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

pub const ALLOWED_TYPES: &str =
    "PDF, PNG, JPEG, GIF, WebP, ZIP, DOCX, XLSX, PPTX, or text (TXT, CSV, JSON, MD, LOG)";

/// The allow-list by extension: what the content must be, and the type it is served as.
fn by_extension(ext: &str) -> Option<(FileKind, &'static str)> {
    Some(match ext {
        "pdf" => (FileKind::Pdf, "application/pdf"),
        "png" => (FileKind::Png, "image/png"),
        "jpg" | "jpeg" => (FileKind::Jpeg, "image/jpeg"),
        "gif" => (FileKind::Gif, "image/gif"),
        "webp" => (FileKind::Webp, "image/webp"),
        "zip" => (FileKind::Zip, "application/zip"),
        "docx" => (
            FileKind::Zip,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "xlsx" => (
            FileKind::Zip,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "pptx" => (
            FileKind::Zip,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        "txt" | "log" | "md" => (FileKind::Text, "text/plain; charset=utf-8"),
        "csv" => (FileKind::Text, "text/csv; charset=utf-8"),
        "json" => (FileKind::Text, "application/json"),
        _ => return None,
    })
}

/// Binary formats by their first bytes.
fn magic(head: &[u8]) -> Option<FileKind> {
    if head.starts_with(b"%PDF-") {
        Some(FileKind::Pdf)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileKind::Png)
    } else if head.starts_with(b"\xff\xd8\xff") {
        Some(FileKind::Jpeg)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(FileKind::Gif)
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some(FileKind::Webp)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(FileKind::Zip)
    } else {
        None
    }
}

/// Why a file was refused (the message names the file and the reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    #[error("the file is larger than the upload limit of {}", human_size(*.0))]
    TooLarge(u64),
    #[error("{0}")]
    Type(String),
}

/// Watches an upload as it streams: counts bytes against the limit, keeps the first bytes for
/// the magic check, and validates UTF-8 incrementally (a character may span two chunks).
pub struct Inspector {
    limit: u64,
    size: u64,
    head: Vec<u8>,
    text_ok: bool,
    carry: Vec<u8>,
}

const HEAD_LEN: usize = 16;

impl Inspector {
    pub fn new(limit: u64) -> Self {
        Inspector {
            limit,
            size: 0,
            head: Vec::with_capacity(HEAD_LEN),
            text_ok: true,
            carry: Vec::with_capacity(4),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), FileProblem> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(FileProblem::TooLarge(self.limit));
        }
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if self.text_ok {
            self.text_ok = self.check_text(chunk);
        }
        Ok(())
    }

    fn check_text(&mut self, chunk: &[u8]) -> bool {
        let mut rest = chunk;
        // Complete a character left over from the previous chunk, byte by byte.
        while !self.carry.is_empty() {
            let Some((&b, tail)) = rest.split_first() else {
                return true;
            };
            if b == 0 {
                return false;
            }
            self.carry.push(b);
            rest = tail;
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                Err(e) if e.error_len().is_none() && self.carry.len() < 4 => {}
                Err(_) => return false,
            }
        }
        if rest.contains(&0) {
            return false;
        }
        match std::str::from_utf8(rest) {
            Ok(_) => true,
            Err(e) if e.error_len().is_none() => {
                self.carry.extend_from_slice(&rest[e.valid_up_to()..]);
                true
            }
            Err(_) => false,
        }
    }

    /// What the content is, once all of it has been seen.
    pub fn finish(&self) -> Result<FileKind, FileProblem> {
        if self.size == 0 {
            return Err(FileProblem::Type("the file is empty".into()));
        }
        if let Some(k) = magic(&self.head) {
            return Ok(k);
        }
        if self.text_ok && self.carry.is_empty() {
            return Ok(FileKind::Text);
        }
        Err(FileProblem::Type(format!(
            "its content is not an allowed type (allowed: {ALLOWED_TYPES}); \
             binary files such as programs are refused"
        )))
    }
}

/// Checks the name's extension and the declared type against the content; returns the media
/// type the file is stored and served as.
pub fn media_type_for(
    display_name: &str,
    declared: Option<&str>,
    kind: FileKind,
) -> Result<&'static str, FileProblem> {
    let ext = display_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| !e.is_empty() && !e.contains(' '));
    let media = match ext.as_deref() {
        None => kind.default_media_type(),
        Some(e) => match by_extension(e) {
            None => {
                return Err(FileProblem::Type(format!(
                    "files ending in .{e} are not accepted (allowed: {ALLOWED_TYPES})"
                )))
            }
            Some((want, _)) if want != kind => {
                return Err(FileProblem::Type(format!(
                    "the name ends in .{e} but the content is {kind}; rename the file or upload the right one"
                )))
            }
            Some((_, media)) => media,
        },
    };
    if let Some(d) = declared.map(str::trim).filter(|d| !d.is_empty()) {
        // Browsers send octet-stream when they do not know the type: no claim to check.
        if !d.eq_ignore_ascii_case("application/octet-stream") && !kind.accepts_declared(d) {
            return Err(FileProblem::Type(format!(
                "it was declared as {d} but the content is {kind}"
            )));
        }
    }
    Ok(media)
}

fn is_invisible_control(c: char) -> bool {
    c.is_control()
        // Bidirectional overrides and isolates can disguise an extension ("exe.pdf").
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{feff}')
}

/// The name shown for an uploaded file: its last path component, without control or
/// direction-changing characters, at most 200 characters (the extension kept). Never used
/// as a path: content is stored by its hash.
pub fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !is_invisible_control(*c)).collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().all(|c| c == '.' || c.is_whitespace()) {
        return "file".to_string();
    }
    const MAX: usize = 200;
    if cleaned.chars().count() <= MAX {
        return cleaned.to_string();
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((s, e)) if e.chars().count() <= 10 => (s, format!(".{e}")),
        _ => (cleaned, String::new()),
    };
    let keep = MAX - ext.chars().count();
    format!("{}{ext}", stem.chars().take(keep).collect::<String>())
}

/// `Content-Disposition` for a download (RFC 6266): an ASCII fallback for old clients and the
/// exact name as `filename*=UTF-8''…` (RFC 8187 percent-encoding).
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '%' | ';') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

pub use crate::util::human_size;

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(chunks: &[&[u8]]) -> Result<FileKind, FileProblem> {
        let mut i = Inspector::new(1 << 20);
        for c in chunks {
            i.feed(c)?;
        }
        i.finish()
    }

    #[test]
    fn content_decides_the_kind() {
        assert_eq!(kind_of(&[b"%PDF-1.7\n..."]), Ok(FileKind::Pdf));
        assert_eq!(kind_of(&[b"\x89PN", b"G\r\n\x1a\nrest"]), Ok(FileKind::Png));
        assert_eq!(kind_of(&[b"RIFF\0\0\0\0WEBPVP8 "]), Ok(FileKind::Webp));
        assert_eq!(kind_of(&[b"PK\x03\x04...."]), Ok(FileKind::Zip));
        assert_eq!(kind_of(&[b"a,b\n1,2\n"]), Ok(FileKind::Text));
        // "é" split across two chunks is still text; a truncated one is not.
        assert_eq!(kind_of(&[b"caf\xc3", b"\xa9\n"]), Ok(FileKind::Text));
        assert!(kind_of(&[b"caf\xc3"]).is_err());
        assert!(kind_of(&[b"\x7fELF\x02\x01\x01\0\0\0"]).is_err());
        assert!(kind_of(&[b"text with a \0 NUL"]).is_err());
        assert!(
            kind_of(&[b"\xff\xfeU\0T\0F\0"]).is_err(),
            "UTF-16 is refused"
        );
        assert!(kind_of(&[]).is_err(), "empty");
    }

    #[test]
    fn limit_is_counted_across_chunks() {
        let mut i = Inspector::new(10);
        assert!(i.feed(b"12345").is_ok());
        assert!(i.feed(b"67890").is_ok());
        assert_eq!(i.feed(b"1"), Err(FileProblem::TooLarge(10)));
    }

    #[test]
    fn name_and_declared_type_must_match_content() {
        assert_eq!(
            media_type_for("report.pdf", Some("application/pdf"), FileKind::Pdf),
            Ok("application/pdf")
        );
        let e = media_type_for("report.pdf", Some("application/pdf"), FileKind::Png).unwrap_err();
        assert!(
            e.to_string()
                .contains("ends in .pdf but the content is a PNG image"),
            "{e}"
        );
        let e = media_type_for("shot.png", Some("application/pdf"), FileKind::Png).unwrap_err();
        assert!(e.to_string().contains("declared as application/pdf"), "{e}");
        assert!(media_type_for("page.html", None, FileKind::Text).is_err());
        assert_eq!(
            media_type_for("a.docx", None, FileKind::Zip),
            Ok("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        assert_eq!(
            media_type_for("data.csv", Some("application/vnd.ms-excel"), FileKind::Text),
            Ok("text/csv; charset=utf-8")
        );
        assert_eq!(
            media_type_for("README", Some("application/octet-stream"), FileKind::Text),
            Ok("text/plain; charset=utf-8")
        );
    }

    #[test]
    fn display_names_are_never_paths() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(display_name("a\tb\u{202e}fdp.exe"), "abfdp.exe");
        assert_eq!(display_name(".."), "file");
        assert_eq!(display_name("dir/"), "file");
        let long = format!("{}.pdf", "x".repeat(300));
        let d = display_name(&long);
        assert_eq!(d.chars().count(), 200);
        assert!(d.ends_with(".pdf"));
    }

    #[test]
    fn disposition_has_ascii_fallback_and_utf8_name() {
        assert_eq!(
            content_disposition("Prüfbericht \"Q3\".pdf"),
            "attachment; filename=\"Pr_fbericht _Q3_.pdf\"; \
             filename*=UTF-8''Pr%C3%BCfbericht%20%22Q3%22.pdf"
        );
    }
}
