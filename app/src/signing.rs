//! The installation's Ed25519 signing key, kept outside the database it vouches for.
//!
//! Whoever can write the database can rewrite the audit chain and recompute every hash; what
//! they cannot do without this key is sign the result. The key signs audit checkpoints
//! (`audit::checkpoint`) and is meant to sign other evidence later, so the API is plain bytes
//! in, signature out.
//!
//! The key lives in `<data dir>/signing-key.pem` (created on first run) or in the file named by
//! `STEWARD_SIGNING_KEY_FILE`: PKCS#8 PEM (`openssl pkey` reads it, and a key made with
//! `openssl genpkey -algorithm ed25519` works), mode 0600. Like ssh, Steward refuses a key file
//! that group or others may access. Several servers on one database must share the key file.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use ed25519_dalek::Signature;

/// The key's file name inside the data directory.
pub const KEY_FILE_NAME: &str = "signing-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "signing key {path} is accessible by group or others (mode {mode:04o}); \
         restrict it with `chmod 600 {path}`"
    )]
    Permissions { path: String, mode: u32 },
    #[error("signing key {path}: {reason}")]
    Unusable { path: String, reason: String },
    #[error("public key '{0}' is not a base64 Ed25519 public key (32 bytes)")]
    PublicKey(String),
    #[error("signature is not base64 of 64 bytes")]
    Signature,
}

fn unusable(path: &Path, reason: impl fmt::Display) -> KeyError {
    KeyError::Unusable {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// A public key: what a verifier needs, and what the settings page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads a standard-base64 raw 32-byte public key (as `steward public-key` prints it).
    pub fn from_b64(s: &str) -> Result<PublicKey, KeyError> {
        let bad = || KeyError::PublicKey(s.trim().to_string());
        let bytes: [u8; 32] = B64
            .decode(s.trim())
            .map_err(|_| bad())?
            .try_into()
            .map_err(|_| bad())?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| bad())
    }

    pub fn to_b64(&self) -> String {
        B64.encode(self.0.as_bytes())
    }

    /// SubjectPublicKeyInfo PEM, as `openssl pkeyutl -verify -pubin -inkey` reads it.
    pub fn to_pem(&self) -> String {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        self.0
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap_or_default()
    }

    /// A key as given on a command line: base64 (`steward public-key`) or PEM text.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        if text.contains("-----BEGIN PUBLIC KEY-----") {
            VerifyingKey::from_public_key_pem(text.trim())
                .map(PublicKey)
                .map_err(|_| KeyError::PublicKey("(PEM that is not an Ed25519 public key)".into()))
        } else {
            PublicKey::from_b64(text)
        }
    }

    /// The first 16 hex digits of the SHA-256 of the raw public key: short enough to read out,
    /// long enough to tell keys apart.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))[..16].to_string()
    }

    /// Strict verification: also refuses weak keys and non-canonical signatures, so one
    /// message has one valid signature per key.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> bool {
        self.0.verify_strict(msg, sig).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

pub fn signature_to_b64(sig: &Signature) -> String {
    B64.encode(sig.to_bytes())
}

pub fn signature_from_b64(s: &str) -> Result<Signature, KeyError> {
    let bytes: [u8; 64] = B64
        .decode(s.trim())
        .map_err(|_| KeyError::Signature)?
        .try_into()
        .map_err(|_| KeyError::Signature)?;
    Ok(Signature::from_bytes(&bytes))
}

/// The private key, loaded once; cheap to clone (it is shared, never copied).
#[derive(Clone)]
pub struct Signer {
    inner: Arc<Inner>,
}

struct Inner {
    key: SigningKey,
    public: PublicKey,
    path: PathBuf,
}

/// Never prints the secret: only the fingerprint and where the key lives.
impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("fingerprint", &self.inner.public.fingerprint())
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// Where the key is: the explicit file, or `signing-key.pem` in the data directory.
pub fn key_path(data_dir: &Path, explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join(KEY_FILE_NAME))
}

impl Signer {
    /// For the server: an explicit key file must exist (a typo must not silently make a new
    /// key); the data directory's key is created on first run.
    pub fn load_or_create(data_dir: &Path, explicit: Option<&Path>) -> Result<Signer, KeyError> {
        let path = key_path(data_dir, explicit);
        if explicit.is_none() && !path.exists() {
            create_key_file(&path)?;
        }
        Signer::load(&path)
    }

    /// For verifiers: the key if there is one. A missing data-directory key is `None`; a
    /// missing explicit file is an error.
    pub fn load_existing(
        data_dir: &Path,
        explicit: Option<&Path>,
    ) -> Result<Option<Signer>, KeyError> {
        let path = key_path(data_dir, explicit);
        if explicit.is_none() && !path.exists() {
            return Ok(None);
        }
        Signer::load(&path).map(Some)
    }

    /// Reads a key file, refusing one that others may read (as ssh does) or that does not parse.
    pub fn load(path: &Path) -> Result<Signer, KeyError> {
        let meta = std::fs::metadata(path).map_err(|e| unusable(path, e))?;
        if !meta.is_file() {
            return Err(unusable(path, "not a regular file"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.display().to_string(),
                    mode,
                });
            }
        }
        let pem = std::fs::read_to_string(path).map_err(|e| unusable(path, e))?;
        let key = SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| unusable(path, format!("not a PKCS#8 PEM Ed25519 private key ({e})")))?;
        Ok(Signer::from_key(key, path.to_path_buf()))
    }

    fn from_key(key: SigningKey, path: PathBuf) -> Signer {
        let public = PublicKey(key.verifying_key());
        Signer {
            inner: Arc::new(Inner { key, public, path }),
        }
    }

    pub fn sign(&self, msg: &[u8]) -> Signature {
        use ed25519_dalek::Signer as _;
        self.inner.key.sign(msg)
    }

    pub fn verify(&self, msg: &[u8], sig: &Signature) -> bool {
        self.inner.public.verify(msg, sig)
    }

    pub fn public_key(&self) -> PublicKey {
        self.inner.public
    }

    pub fn public_key_b64(&self) -> String {
        self.inner.public.to_b64()
    }

    pub fn fingerprint(&self) -> String {
        self.inner.public.fingerprint()
    }

    /// The key file's path (never its content).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

/// Makes a new key at `path` without ever exposing it or replacing an existing one: the PEM
/// goes to a fresh 0600 temporary file beside it, which is then hard-linked into place (a
/// link, unlike a rename, fails when the target exists, so two servers starting at once keep
/// one key between them).
fn create_key_file(path: &Path) -> Result<(), KeyError> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| unusable(path, e))?;
    let key = SigningKey::from_bytes(&crate::util::random_bytes::<32>());
    // PKCS#8 v1 (no embedded public key): the form `openssl genpkey` writes and every reader takes.
    let pem = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .map_err(|e| unusable(path, e))?;
    let tmp = dir.join(format!(
        ".{KEY_FILE_NAME}.{}.tmp",
        crate::util::random_hex(6)
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(pem.as_bytes())?;
        f.sync_all()
    });
    let placed = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&tmp);
    placed.map_err(|e| unusable(path, format!("cannot create: {e}")))?;
    // The new name must survive a crash too.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    tracing::info!(path = %path.display(), "created a new audit signing key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("steward-key-{}", crate::util::random_hex(8)));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn created_once_with_mode_0600_and_loaded_again() {
        let dir = temp_dir();
        let a = Signer::load_or_create(&dir, None).unwrap();
        let path = dir.join(KEY_FILE_NAME);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        // A second start keeps the key.
        let b = Signer::load_or_create(&dir, None).unwrap();
        assert_eq!(a.public_key_b64(), b.public_key_b64());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn refuses_keys_others_can_read_missing_explicit_files_and_garbage() {
        let dir = temp_dir();
        let s = Signer::load_or_create(&dir, None).unwrap();
        let path = s.path().to_path_buf();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Signer::load(&path).unwrap_err().to_string();
        assert!(e.contains("mode 0644") && e.contains("chmod 600"), "{e}");
        // The server refuses rather than replacing it.
        assert!(Signer::load_or_create(&dir, None).is_err());
        let missing = dir.join("nope.pem");
        assert!(Signer::load_or_create(&dir, Some(&missing)).is_err());
        assert!(!missing.exists(), "an explicit key file is never created");
        let junk = dir.join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = Signer::load(&junk).unwrap_err().to_string();
        assert!(e.contains("not a PKCS#8 PEM Ed25519 private key"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let dir = temp_dir();
        let s = Signer::load_or_create(&dir, None).unwrap();
        let secret = s.inner.key.to_bytes();
        let shown = format!("{s:?} {:?}", s.public_key());
        assert!(shown.contains(&s.fingerprint()), "{shown}");
        for needle in [
            hex::encode(secret),
            B64.encode(secret),
            format!("{:?}", secret),
        ] {
            assert!(!shown.contains(&needle), "{shown}");
        }
        assert!(!shown.to_lowercase().contains("secret"), "{shown}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn signatures_round_trip_and_bind_message_and_key() {
        let dir = temp_dir();
        let s = Signer::load_or_create(&dir, None).unwrap();
        let sig = s.sign(b"checkpoint");
        assert!(s.verify(b"checkpoint", &sig));
        assert!(!s.verify(b"checkpoinT", &sig));
        let again = signature_from_b64(&signature_to_b64(&sig)).unwrap();
        let pk = PublicKey::from_b64(&s.public_key_b64()).unwrap();
        assert!(pk.verify(b"checkpoint", &again));
        assert_eq!(pk.fingerprint().len(), 16);
        let other = Signer::from_key(
            SigningKey::from_bytes(&crate::util::random_bytes::<32>()),
            PathBuf::new(),
        );
        assert!(!other.verify(b"checkpoint", &sig));
        assert!(PublicKey::from_b64("not base64!").is_err());
        assert!(PublicKey::from_b64(&B64.encode([1u8; 31])).is_err());
        assert!(signature_from_b64(&B64.encode([1u8; 63])).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    /// `openssl pkey` reads the file and derives the same public key (skipped without openssl).
    #[test]
    fn openssl_reads_the_key_file() {
        let dir = temp_dir();
        let s = Signer::load_or_create(&dir, None).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-in"])
            .arg(s.path())
            .args(["-pubout", "-outform", "DER"])
            .output();
        match out {
            Err(e) => eprintln!("openssl not available ({e}); skipped"),
            Ok(out) => {
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                // SubjectPublicKeyInfo DER for Ed25519 ends with the 32 raw key bytes.
                let raw = &out.stdout[out.stdout.len() - 32..];
                assert_eq!(B64.encode(raw), s.public_key_b64());
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
