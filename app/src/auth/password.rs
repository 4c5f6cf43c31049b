//! Password hashing (argon2id, OWASP minimum parameters) off the async runtime with a
//! concurrency cap, and the password policy.

use crate::error::AppError;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;
/// Longer input is never hashed (hashing cost is bounded), only rejected.
const MAX_VERIFY_BYTES: usize = 4 * MAX_LEN;

/// The cost of new hashes. Verification always uses the parameters stored in the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl HashCost {
    /// Argon2id, m = 19 MiB, t = 2, p = 1 (OWASP Password Storage Cheat Sheet minimum).
    pub const PRODUCTION: HashCost = HashCost {
        memory_kib: 19 * 1024,
        iterations: 2,
    };
    /// For test servers whose tests are not about hashing: the same algorithm at its smallest
    /// cost, so a suite that signs in hundreds of times measures behaviour, not argon2.
    pub const TESTS_ONLY: HashCost = HashCost {
        memory_kib: 8,
        iterations: 1,
    };
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost::PRODUCTION
    }
}

fn argon2(cost: HashCost) -> Argon2<'static> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Clone)]
pub struct PasswordHasher {
    cost: HashCost,
    permits: Arc<Semaphore>,
    /// A hash of a random password with the same parameters: unknown users are verified
    /// against it so that their timing matches a wrong password.
    dummy: Arc<str>,
    verifications: Arc<AtomicU64>,
}

impl PasswordHasher {
    /// `concurrency` caps simultaneous hashes (each takes 19 MiB and a core for tens of ms).
    pub fn new(concurrency: usize) -> Result<Self, AppError> {
        Self::with_cost(concurrency, HashCost::PRODUCTION)
    }

    pub fn with_cost(concurrency: usize, cost: HashCost) -> Result<Self, AppError> {
        let dummy = hash_blocking(&crate::util::random_hex(16), cost)?;
        Ok(Self {
            cost,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: dummy.into(),
            verifications: Arc::new(AtomicU64::new(0)),
        })
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let (pw, cost) = (password.to_string(), self.cost);
        tokio::task::spawn_blocking(move || hash_blocking(&pw, cost))
            .await
            .map_err(AppError::internal)?
    }

    /// Verifies against `phc`, or against the dummy hash when there is no user, so both paths
    /// cost the same. Returns false for the dummy path whatever the password.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let real = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy).to_string();
        // Over-long input: do the same work on a fixed string, then fail.
        let too_long = password.len() > MAX_VERIFY_BYTES;
        let pw = if too_long {
            String::from("x")
        } else {
            password.to_string()
        };
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                // The parameters come from the stored hash, whatever the current cost.
                .map(|parsed| {
                    argon2(HashCost::PRODUCTION)
                        .verify_password(pw.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(AppError::internal)?;
        Ok(ok && real && !too_long)
    }

    /// How many verifications ran since start (exported as a metric; tests use it to see that
    /// unknown users cost a verification too).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

fn hash_blocking(password: &str, cost: HashCost) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2(cost)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// The password policy: 12 to 128 characters, not the username, and not a common password
/// (also not a common password with digits or symbols tacked on the end, like `monkey123456`).
pub fn check_policy(password: &str, username: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(AppError::invalid(format!(
            "Password: must be at least {MIN_LEN} characters (it has {n})."
        )));
    }
    if n > MAX_LEN {
        return Err(AppError::invalid(format!(
            "Password: must be at most {MAX_LEN} characters (it has {n})."
        )));
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err(AppError::invalid(
            "Password: must not contain the username.",
        ));
    }
    let common = common_passwords();
    let base = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    if common.contains(lower.as_str()) || (base.chars().count() >= 4 && common.contains(base)) {
        return Err(AppError::invalid(
            "Password: this is a commonly used password; choose another (a few unrelated words work well).",
        ));
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err(AppError::invalid(
            "Password: must not be one repeated character.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(check_policy("short", "bob").is_err());
        assert!(check_policy(&"a".repeat(129), "bob").is_err());
        assert!(check_policy("aaaaaaaaaaaaaa", "bob").is_err());
        assert!(
            check_policy("qwertyuiop123", "bob").is_err(),
            "common with suffix"
        );
        assert!(check_policy("1qaz2wsx3edc", "bob").is_err(), "common exact");
        assert!(
            check_policy("bobbybobby-2026", "bobby").is_err(),
            "contains username"
        );
        assert!(check_policy("violet tractor quietly", "bob").is_ok());
        assert!(check_policy(&"é".repeat(12), "bob").is_err());
        assert!(check_policy("ünïcödé pässwörd", "bob").is_ok());
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = PasswordHasher::new(2).unwrap();
        let phc = h.hash("violet tractor quietly").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h
            .verify("violet tractor quietly", Some(&phc))
            .await
            .unwrap());
        assert!(!h.verify("violet tractor quietl", Some(&phc)).await.unwrap());
        assert!(!h.verify("anything", None).await.unwrap());
        assert!(!h.verify(&"x".repeat(10_000), Some(&phc)).await.unwrap());
        assert_eq!(h.verifications(), 4);
    }
}
