//! Content-addressed blob storage. Callers see only the `BlobStore` trait (stream in, open by
//! hash, ask whether a hash exists), so an object store can replace the filesystem later.
//!
//! The filesystem store keeps `<data dir>/blobs/<first two hex digits>/<sha256>`. An upload is
//! streamed into `blobs/tmp/` (same filesystem, so the final rename is atomic) while it is
//! hashed, fsynced there, and becomes visible under its hash only on `StagedBlob::commit`
//! (rename, then fsync of the directory). Identical content ends up as one file.

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// The bytes of an upload. An `Err` item aborts the upload (the caller's own reason can travel
/// inside the `io::Error` and comes back in `StoreError::Source`).
pub type ByteStream<'a> = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no stored content with hash {0}")]
    NotFound(String),
    /// The incoming stream failed (client error, limit, type check): nothing was stored.
    #[error("the upload stream failed: {0}")]
    Source(io::Error),
    #[error("blob storage: {0}")]
    Io(#[from] io::Error),
}

/// Stored content, readable from the start.
pub struct BlobReader {
    pub size: u64,
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

/// Content that has been received and hashed but is not yet stored under its hash. Dropping it
/// without `commit` discards it.
pub trait StagedBlob: Send {
    fn sha256(&self) -> &str;
    fn size(&self) -> u64;
    /// Makes the content durable and visible under its hash.
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;
}

pub trait BlobStore: Send + Sync + 'static {
    /// Receives `content` while hashing it. Nothing is visible under a hash until the returned
    /// `StagedBlob` is committed.
    fn put_stream<'a>(
        &'a self,
        content: ByteStream<'a>,
    ) -> BoxFuture<'a, Result<Box<dyn StagedBlob>, StoreError>>;
    fn open<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<BlobReader, StoreError>>;
    fn exists<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Removes a stored blob (retention, once nothing refers to it); absent is not an error.
    fn remove<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Lower-case hex SHA-256, the only names the store accepts (never a user's path).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub struct FsBlobStore {
    root: PathBuf,
}

/// Write buffer: large enough to keep the number of blocking writes low, small enough for a
/// bounded memory footprint per upload.
const WRITE_BUFFER: usize = 256 * 1024;
/// Staging files older than this were left by a crash and are removed at start.
const STALE_STAGING: Duration = Duration::from_secs(24 * 3600);

impl FsBlobStore {
    /// Uses `<data_dir>/blobs`, creating it, and removes stale staging files.
    pub fn new(data_dir: &Path) -> io::Result<Self> {
        let root = data_dir.join("blobs");
        std::fs::create_dir_all(root.join("tmp"))?;
        crate::util::remove_stale_files(&root.join("tmp"), STALE_STAGING);
        Ok(FsBlobStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where content with this hash lives (the hash must be valid hex).
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    fn checked_path(&self, sha256: &str) -> Result<PathBuf, StoreError> {
        if is_sha256_hex(sha256) {
            Ok(self.path_of(sha256))
        } else {
            Err(StoreError::NotFound(sha256.to_string()))
        }
    }

    async fn receive(&self, mut content: ByteStream<'_>) -> Result<FsStaged, StoreError> {
        let tmp = TempFile(Some(
            self.root
                .join("tmp")
                .join(format!("{}.part", crate::util::random_hex(16))),
        ));
        let path = tmp.0.clone().unwrap_or_default();
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        while let Some(chunk) = content.next().await {
            let chunk = chunk.map_err(StoreError::Source)?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        let file = out.into_inner();
        file.sync_all().await?;
        drop(file);
        let sha256 = hex::encode(hasher.finalize());
        Ok(FsStaged {
            final_path: self.path_of(&sha256),
            sha256,
            size,
            tmp,
        })
    }
}

/// Removes a staging file unless it was renamed into place.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

struct FsStaged {
    sha256: String,
    size: u64,
    tmp: TempFile,
    final_path: PathBuf,
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl StagedBlob for FsStaged {
    fn sha256(&self) -> &str {
        &self.sha256
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            let tmp = self.tmp.0.take().unwrap_or_default();
            let dest = self.final_path.clone();
            let res = tokio::task::spawn_blocking(move || -> io::Result<()> {
                let dir = dest.parent().unwrap_or(Path::new("."));
                let created = !dir.is_dir();
                std::fs::create_dir_all(dir)?;
                // Renaming over an existing file of the same hash replaces it with identical,
                // just-verified bytes (which also repairs a damaged copy).
                let renamed = std::fs::rename(&tmp, &dest);
                if renamed.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                renamed?;
                fsync_dir(dir)?;
                if created {
                    if let Some(root) = dir.parent() {
                        fsync_dir(root)?;
                    }
                }
                Ok(())
            })
            .await
            .map_err(io::Error::other)?;
            Ok(res?)
        })
    }
}

impl BlobStore for FsBlobStore {
    fn put_stream<'a>(
        &'a self,
        content: ByteStream<'a>,
    ) -> BoxFuture<'a, Result<Box<dyn StagedBlob>, StoreError>> {
        Box::pin(async move {
            let staged = self.receive(content).await?;
            Ok(Box::new(staged) as Box<dyn StagedBlob>)
        })
    }

    fn open<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<BlobReader, StoreError>> {
        Box::pin(async move {
            let path = self.checked_path(sha256)?;
            let file = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(StoreError::NotFound(sha256.to_string()))
                }
                Err(e) => return Err(e.into()),
            };
            let size = file.metadata().await?.len();
            Ok(BlobReader {
                size,
                reader: Box::pin(file),
            })
        })
    }

    fn exists<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let path = self.checked_path(sha256)?;
            Ok(tokio::fs::try_exists(&path).await?)
        })
    }

    fn remove<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let path = self.checked_path(sha256)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn temp_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("steward-blobs-{}", crate::util::random_hex(8)));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn stream_of(parts: Vec<&'static [u8]>) -> ByteStream<'static> {
        Box::pin(futures_util::stream::iter(
            parts.into_iter().map(|p| Ok(Bytes::from_static(p))),
        ))
    }

    #[tokio::test]
    async fn stores_by_hash_once_and_discards_uncommitted() {
        let dir = temp_dir();
        let store = FsBlobStore::new(&dir).unwrap();
        let staged = store
            .put_stream(stream_of(vec![b"hello ", b"world"]))
            .await
            .unwrap();
        let sha = staged.sha256().to_string();
        assert_eq!(sha, crate::util::sha256_hex(b"hello world"));
        assert_eq!(staged.size(), 11);
        assert!(
            !store.exists(&sha).await.unwrap(),
            "not visible before commit"
        );
        staged.commit().await.unwrap();
        assert!(store.path_of(&sha).is_file());
        let again = store
            .put_stream(stream_of(vec![b"hello world"]))
            .await
            .unwrap();
        again.commit().await.unwrap();
        let files: Vec<_> = std::fs::read_dir(store.path_of(&sha).parent().unwrap())
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
        let mut r = store.open(&sha).await.unwrap();
        let mut s = String::new();
        r.reader.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello world");

        // Dropped without commit, or failed mid-stream: nothing stays behind.
        drop(store.put_stream(stream_of(vec![b"other"])).await.unwrap());
        let failing: ByteStream = Box::pin(futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(io::Error::other("client went away")),
        ]));
        assert!(matches!(
            store.put_stream(failing).await,
            Err(StoreError::Source(_))
        ));
        assert_eq!(
            std::fs::read_dir(store.root().join("tmp")).unwrap().count(),
            0
        );
        assert!(matches!(
            store.open("../../etc/passwd").await,
            Err(StoreError::NotFound(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
