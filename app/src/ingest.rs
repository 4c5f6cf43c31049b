//! Request bodies for uploads, bounded on the bytes actually received (chunked bodies
//! included, whatever `Content-Length` claims) and on the client's pace: a body that sends
//! nothing for the idle time fails. Multipart parsing goes through `multipart`, which also
//! bounds what the parser buffers outside a field's data (preamble, part headers, skipped
//! fields), and `spool` receives a file to a temporary file before anything takes the write
//! lock, so no client's pace ever holds it.

use axum::body::{Body, Bytes};
use futures_util::{Stream, StreamExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Why a body could not be received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("The upload is larger than the limit of {}.", crate::util::human_size(*.0))]
    TooLarge(u64),
    #[error("The upload stalled: nothing arrived for {} seconds.", .0.as_secs())]
    Stalled(Duration),
    /// Form framing outside the fields' data (preamble, part headers, unknown fields) beyond
    /// what any browser sends.
    #[error("The form's framing is too large (part headers or unexpected fields over {}).", crate::util::human_size(*.0))]
    Framing(u64),
    #[error("The upload was interrupted: {0}")]
    Broken(String),
}

/// The body as a stream of chunks that fails once more than `max_bytes` have arrived or when
/// nothing arrives for `idle`. `watch` sees every chunk first and may refuse it. After an
/// error the stream ends.
pub fn guarded<W>(
    body: Body,
    max_bytes: u64,
    idle: Duration,
    watch: W,
) -> impl Stream<Item = Result<Bytes, BodyError>> + Send + 'static
where
    W: FnMut(&[u8]) -> Result<(), BodyError> + Send + 'static,
{
    let inner = body.into_data_stream();
    futures_util::stream::unfold(
        (inner, 0u64, false, watch),
        move |(mut inner, received, failed, mut watch)| async move {
            if failed {
                return None;
            }
            let (item, received) = match tokio::time::timeout(idle, inner.next()).await {
                Err(_) => (Err(BodyError::Stalled(idle)), received),
                Ok(None) => return None,
                Ok(Some(Err(e))) => (Err(BodyError::Broken(e.to_string())), received),
                Ok(Some(Ok(chunk))) => {
                    let total = received.saturating_add(chunk.len() as u64);
                    let checked = if total > max_bytes {
                        Err(BodyError::TooLarge(max_bytes))
                    } else {
                        watch(&chunk).map(|()| chunk)
                    };
                    (checked, total)
                }
            };
            let failed = item.is_err();
            Some((item, (inner, received, failed, watch)))
        },
    )
}

/// Follows the multipart framing as the bytes pass, so the part of it a parser must buffer
/// whole (the preamble and each part's header block) stays under `max`: multer collects a
/// header block until its blank line, however long. Matches are found across chunk edges.
pub struct Framing {
    first: Vec<u8>,
    delimiter: Vec<u8>,
    state: Stage,
    /// Bytes of the preamble or header block so far.
    seen: u64,
    /// The end of the previous chunk, for a match that straddles two chunks.
    tail: Vec<u8>,
    max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Preamble,
    Headers,
    Data,
}

const BLANK_LINE: &[u8] = b"\r\n\r\n";

impl Framing {
    pub fn new(boundary: &str, max: u64) -> Framing {
        Framing {
            first: format!("--{boundary}").into_bytes(),
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            state: Stage::Preamble,
            seen: 0,
            tail: Vec::new(),
            max,
        }
    }

    fn needle(&self) -> &[u8] {
        match self.state {
            Stage::Preamble => &self.first,
            Stage::Headers => BLANK_LINE,
            Stage::Data => &self.delimiter,
        }
    }

    /// Where the current stage's needle ends in `chunk` (a match may start in the tail).
    fn find_end(&self, chunk: &[u8]) -> Option<usize> {
        let needle = self.needle();
        if !self.tail.is_empty() {
            let take = chunk.len().min(needle.len() - 1);
            let mut span = self.tail.clone();
            span.extend_from_slice(&chunk[..take]);
            if let Some(at) = memchr::memmem::find(&span, needle) {
                return Some(at + needle.len() - self.tail.len());
            }
        }
        memchr::memmem::find(chunk, needle).map(|at| at + needle.len())
    }

    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), BodyError> {
        loop {
            match self.find_end(chunk) {
                Some(end) => {
                    self.state = match self.state {
                        Stage::Preamble | Stage::Data => Stage::Headers,
                        Stage::Headers => Stage::Data,
                    };
                    self.seen = 0;
                    self.tail.clear();
                    chunk = &chunk[end..];
                }
                None => {
                    if self.state != Stage::Data {
                        self.seen += chunk.len() as u64;
                        if self.seen > self.max {
                            return Err(BodyError::Framing(self.max));
                        }
                    }
                    let keep = self.needle().len() - 1;
                    let mut tail = std::mem::take(&mut self.tail);
                    tail.extend_from_slice(chunk);
                    let cut = tail.len().saturating_sub(keep);
                    self.tail = tail.split_off(cut);
                    return Ok(());
                }
            }
        }
    }
}

/// Limits for a multipart upload.
#[derive(Debug, Clone, Copy)]
pub struct FormLimits {
    /// All bytes of the request.
    pub max_bytes: u64,
    /// The preamble and each part's header block.
    pub max_header: u64,
    /// Parts in the form.
    pub max_fields: usize,
    /// The data of any part but the file (skipped fields included).
    pub max_field: u64,
    /// The file part's name and the largest file.
    pub file: (&'static str, u64),
    pub idle: Duration,
}

/// Why a multipart form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error("Send the file as a multipart/form-data form.")]
    NotMultipart,
    #[error("The form has too many fields (at most {0}).")]
    TooManyFields(usize),
    #[error("The upload could not be read: field '{field}' is larger than {}.", crate::util::human_size(*.limit))]
    FieldTooLarge { field: String, limit: u64 },
    #[error("The upload could not be read: {0}.")]
    Malformed(String),
}

impl FormError {
    /// A multer error, with our own body errors (limits, idle time) recovered from inside it.
    pub fn from_multer(e: multer::Error) -> FormError {
        match e {
            multer::Error::StreamReadFailed(inner) => match inner.downcast::<BodyError>() {
                Ok(b) => FormError::Body(*b),
                Err(other) => FormError::Malformed(other.to_string()),
            },
            multer::Error::FieldSizeExceeded { limit, field_name } => FormError::FieldTooLarge {
                field: field_name.unwrap_or_default(),
                limit,
            },
            other => FormError::Malformed(other.to_string()),
        }
    }
}

/// A multipart form read part by part, every byte bounded (see the module docs).
pub struct Form {
    inner: multer::Multipart<'static>,
    limits: FormLimits,
    fields: usize,
}

impl Form {
    pub fn new(
        headers: &http::HeaderMap,
        body: Body,
        limits: FormLimits,
    ) -> Result<Form, FormError> {
        let boundary = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| multer::parse_boundary(ct).ok())
            .ok_or(FormError::NotMultipart)?;
        let mut framing = Framing::new(&boundary, limits.max_header);
        let stream = guarded(body, limits.max_bytes, limits.idle, move |c| {
            framing.feed(c)
        });
        let sizes = multer::SizeLimit::new()
            .whole_stream(limits.max_bytes)
            .per_field(limits.max_field)
            .for_field(limits.file.0, limits.file.1);
        let constraints = multer::Constraints::new().size_limit(sizes);
        Ok(Form {
            inner: multer::Multipart::with_constraints(stream, boundary, constraints),
            limits,
            fields: 0,
        })
    }

    /// The next part. Its data is then read with `chunk`, which the caller bounds.
    pub async fn next_field(&mut self) -> Result<Option<multer::Field<'static>>, FormError> {
        let field = self
            .inner
            .next_field()
            .await
            .map_err(FormError::from_multer)?;
        if field.is_some() {
            self.fields += 1;
            if self.fields > self.limits.max_fields {
                return Err(FormError::TooManyFields(self.limits.max_fields));
            }
        }
        Ok(field)
    }
}

/// The next chunk of a field (the body's own idle limit applies).
pub async fn chunk(field: &mut multer::Field<'static>) -> Result<Option<Bytes>, FormError> {
    field.chunk().await.map_err(FormError::from_multer)
}

/// Reads a small text field, refusing more than `max` bytes.
pub async fn text(
    field: &mut multer::Field<'static>,
    name: &str,
    max: usize,
) -> Result<String, String> {
    let mut buf = Vec::new();
    while let Some(c) = chunk(field).await.map_err(|e| e.to_string())? {
        if buf.len() + c.len() > max {
            return Err(format!("{name}: at most {max} bytes."));
        }
        buf.extend_from_slice(&c);
    }
    String::from_utf8(buf).map_err(|_| format!("{name}: not valid UTF-8."))
}

/// A received file in the spool folder, removed when dropped.
pub struct Spooled {
    path: Option<PathBuf>,
    pub size: u64,
}

impl Spooled {
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Writes a field's bytes to a new file in `dir`. On any error the partial file is removed.
pub async fn spool(
    field: &mut multer::Field<'static>,
    dir: &Path,
    max_bytes: u64,
) -> Result<Spooled, FormError> {
    let io = |e: std::io::Error| FormError::Body(BodyError::Broken(format!("storing it: {e}")));
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let path = dir.join(format!("{}.upload", crate::util::random_hex(16)));
    // From here on the guard removes the file, whatever happens.
    let mut spooled = Spooled {
        path: Some(path.clone()),
        size: 0,
    };
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await
        .map_err(io)?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    while let Some(c) = chunk(field).await? {
        spooled.size += c.len() as u64;
        if spooled.size > max_bytes {
            return Err(FormError::Body(BodyError::TooLarge(max_bytes)));
        }
        out.write_all(&c).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    Ok(spooled)
}

/// Removes spool files left by a crash (older than a day) at start.
pub fn clean_spool(dir: &Path) {
    crate::util::remove_stale_files(dir, Duration::from_secs(24 * 3600));
}

/// Reads a small multipart form whole: the file (at most `max` bytes) and the text
/// fields (500 characters kept of each). For files imported in one piece (frameworks,
/// controls, budgets); large files are spooled instead (`spool`).
pub async fn small_form(
    mp: axum::extract::Multipart,
    max: usize,
) -> Result<(String, Vec<u8>, std::collections::HashMap<String, String>), crate::error::AppError> {
    let (mut files, fields) = small_files(mp, max).await?;
    let (fname, bytes) = files.swap_remove(0);
    Ok((fname, bytes, fields))
}

/// `small_form` for forms that may carry several files (every field named `file`, or, when
/// chosen, `catalog`), `max` bytes in all; empty file fields (nothing chosen) are skipped.
pub async fn small_files(
    mut mp: axum::extract::Multipart,
    max: usize,
) -> Result<
    (
        Vec<(String, Vec<u8>)>,
        std::collections::HashMap<String, String>,
    ),
    crate::error::AppError,
> {
    let mut files = Vec::new();
    let mut total = 0usize;
    let mut fields = std::collections::HashMap::new();
    while let Some(mut field) = mp.next_field().await.map_err(|e| {
        crate::error::AppError::invalid(format!("The upload could not be read: {e}"))
    })? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" || name == "catalog" {
            let fname = field.file_name().unwrap_or("upload").to_string();
            let mut buf = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| {
                crate::error::AppError::invalid(format!("The upload could not be read: {e}"))
            })? {
                total += chunk.len();
                if total > max {
                    return Err(crate::error::AppError::TooLarge(format!(
                        "The file is larger than {}.",
                        crate::util::human_size(max as u64)
                    )));
                }
                buf.extend_from_slice(&chunk);
            }
            // A file input left empty still sends its part, with no name and no bytes.
            if name == "catalog" && buf.is_empty() && fname.is_empty() {
                continue;
            }
            if buf.is_empty() {
                return Err(crate::error::AppError::invalid(format!(
                    "The file '{fname}' is empty."
                )));
            }
            files.push((fname, buf));
        } else {
            let v = field.text().await.map_err(|e| {
                crate::error::AppError::invalid(format!("The form could not be read: {e}"))
            })?;
            fields.insert(name, v.chars().take(500).collect());
        }
    }
    if files.is_empty() {
        return Err(crate::error::AppError::invalid("Choose a file to import."));
    }
    Ok((files, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: Vec<&'static [u8]>) -> Body {
        let s = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c))),
        );
        Body::from_stream(s)
    }

    async fn collect(
        s: impl Stream<Item = Result<Bytes, BodyError>>,
    ) -> Result<Vec<u8>, BodyError> {
        let mut out = Vec::new();
        futures_util::pin_mut!(s);
        while let Some(c) = s.next().await {
            out.extend_from_slice(&c?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn the_limit_counts_bytes_received_not_declared() {
        let idle = Duration::from_secs(5);
        let ok = guarded(body_of(vec![b"abc", b"def"]), 6, idle, |_| Ok(()));
        assert_eq!(collect(ok).await.unwrap(), b"abcdef");
        let over = guarded(body_of(vec![b"abc", b"defg"]), 6, idle, |_| Ok(()));
        assert_eq!(collect(over).await, Err(BodyError::TooLarge(6)));
    }

    #[tokio::test]
    async fn a_silent_client_is_dropped_after_the_idle_time() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        tx.send(Ok(Bytes::from_static(b"x"))).await.unwrap();
        let body = Body::from_stream(tokio_stream_of(rx));
        let started = std::time::Instant::now();
        let s = guarded(body, 100, Duration::from_millis(200), |_| Ok(()));
        assert_eq!(
            collect(s).await,
            Err(BodyError::Stalled(Duration::from_millis(200)))
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(tx);
    }

    fn tokio_stream_of(
        mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    fn form_headers() -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("multipart/form-data; boundary=XyZ"),
        );
        h
    }

    const LIMITS: FormLimits = FormLimits {
        max_bytes: 1 << 20,
        max_header: 1024,
        max_fields: 4,
        max_field: 100,
        file: ("file", 1 << 20),
        idle: Duration::from_secs(5),
    };

    #[test]
    fn framing_is_followed_across_chunk_edges() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue one\r\n--XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n0123456789\r\n--XyZ--\r\n";
        // Any split, any chunk size: small limits hold for this body, and the stages end in
        // the same place.
        for size in 1..body.len() {
            let mut f = Framing::new("XyZ", 64);
            for c in body.chunks(size) {
                f.feed(c)
                    .unwrap_or_else(|e| panic!("chunks of {size}: {e}"));
            }
            assert_eq!(f.state, Stage::Headers, "chunks of {size}");
        }
        // Long header blocks and preambles are refused, whatever the chunking.
        let long = [b"--XyZ\r\nX: ".as_slice(), &[b'a'; 200]].concat();
        for size in [1, 7, 64, 500] {
            let mut f = Framing::new("XyZ", 64);
            let r: Result<(), BodyError> = long.chunks(size).try_for_each(|c| f.feed(c));
            assert_eq!(r, Err(BodyError::Framing(64)), "chunks of {size}");
        }
        let mut f = Framing::new("XyZ", 64);
        assert_eq!(f.feed(&[b'p'; 100]), Err(BodyError::Framing(64)));
        // File data of any size is not framing.
        let mut f = Framing::new("XyZ", 64);
        f.feed(b"--XyZ\r\nA: b\r\n\r\n").unwrap();
        for _ in 0..100 {
            f.feed(&[b'd'; 1000]).unwrap();
        }
    }

    #[tokio::test]
    async fn part_headers_and_skipped_fields_are_bounded() {
        // A part header that never ends: refused once the framing allowance is spent.
        let long: &'static [u8] = Box::leak(
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: {}",
                "p".repeat(8000)
            )
            .into_bytes()
            .into_boxed_slice(),
        );
        let chunks: Vec<&'static [u8]> = long.chunks(500).collect();
        let mut form = Form::new(&form_headers(), body_of(chunks), LIMITS).unwrap();
        assert_eq!(
            form.next_field().await.err(),
            Some(FormError::Body(BodyError::Framing(1024)))
        );
        // A field nobody reads is still bounded when it is skipped.
        let skipped: &'static [u8] = Box::leak(
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"pad\"\r\n\r\n{}\r\n--XyZ--\r\n",
                "x".repeat(5000)
            )
            .into_bytes()
            .into_boxed_slice(),
        );
        let mut form = Form::new(
            &form_headers(),
            body_of(skipped.chunks(700).collect()),
            LIMITS,
        )
        .unwrap();
        assert!(form.next_field().await.unwrap().is_some());
        assert_eq!(
            form.next_field().await.err(),
            Some(FormError::FieldTooLarge {
                field: "pad".into(),
                limit: 100
            })
        );
        // Too many parts.
        let many: String = (0..6)
            .map(|i| format!("--XyZ\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n"))
            .collect::<String>()
            + "--XyZ--\r\n";
        let many: &'static [u8] = Box::leak(many.into_bytes().into_boxed_slice());
        let mut form = Form::new(&form_headers(), body_of(vec![many]), LIMITS).unwrap();
        let mut err = None;
        for _ in 0..10 {
            match form.next_field().await {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err, Some(FormError::TooManyFields(4)));
    }

    #[tokio::test]
    async fn a_spooled_file_is_removed_when_the_upload_fails() {
        let dir =
            std::env::temp_dir().join(format!("steward-spool-{}", crate::util::random_hex(6)));
        let body: &'static [u8] =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n0123456789abcdef";
        let mut form = Form::new(&form_headers(), body_of(vec![body]), LIMITS).unwrap();
        let mut field = form.next_field().await.unwrap().unwrap();
        // The body ends inside the file: an incomplete stream, and no file stays behind.
        assert!(spool(&mut field, &dir, 1 << 20).await.is_err());
        assert_eq!(std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0), 0);
        let _ = std::fs::remove_dir_all(dir);
    }
}
