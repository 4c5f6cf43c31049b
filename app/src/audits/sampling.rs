//! Samples an auditor can draw again and check with any tool: each key of the population
//! scores `SHA-256(seed ‖ "\n" ‖ key)` (lower-case hex), the sample is the `size` keys with
//! the lowest scores (ties by key), in score order. The population's digest, SHA-256 of its
//! keys sorted and each followed by "\n", shows it was the same population. In Python:
//!
//! ```text
//! sorted(keys, key=lambda k: (hashlib.sha256((seed + "\n" + k).encode()).hexdigest(), k))[:size]
//! ```

use sha2::{Digest, Sha256};

/// The most items one sample may hold (each becomes a request).
pub const MAX_SIZE: usize = 500;

pub fn score(seed: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update(b"\n");
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

/// The `size` keys with the lowest scores, in score order.
pub fn draw(seed: &str, population: &[String], size: usize) -> Vec<String> {
    let mut scored: Vec<(String, &String)> =
        population.iter().map(|k| (score(seed, k), k)).collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(size)
        .map(|(_, k)| k.clone())
        .collect()
}

pub fn population_digest(population: &[String]) -> String {
    let mut keys: Vec<&String> = population.iter().collect();
    keys.sort();
    keys.dedup();
    let mut h = Sha256::new();
    for k in keys {
        h.update(k.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// A seed as given (trimmed, at most 64 characters of letters, digits, `-` and `_`), or a new
/// random one.
pub fn seed_or_new(given: &str) -> Result<String, String> {
    let s = given.trim();
    if s.is_empty() {
        return Ok(crate::util::random_hex(16));
    }
    if s.len() > 64
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            "seed: at most 64 letters, digits, '-' or '_' (or leave it empty for a random one)"
                .into(),
        );
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("evidence/{i}/v1")).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_in_any_order_of_the_population() {
        let pop = keys(40);
        let mut reversed = pop.clone();
        reversed.reverse();
        let a = draw("audit-2026", &pop, 5);
        assert_eq!(a.len(), 5);
        assert_eq!(a, draw("audit-2026", &reversed, 5));
        assert_ne!(a, draw("audit-2027", &pop, 5));
        assert_eq!(population_digest(&pop), population_digest(&reversed));
    }

    #[test]
    fn the_rule_is_the_documented_one() {
        // Scores computed by the documented formula with sha256sum:
        // printf 'x\nb' | sha256sum  and so on.
        let s = score("x", "b");
        assert_eq!(s, crate::util::sha256_hex(b"x\nb"));
        let pop: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let mut by_hand: Vec<(String, String)> = pop
            .iter()
            .map(|k| {
                (
                    crate::util::sha256_hex(format!("x\n{k}").as_bytes()),
                    k.clone(),
                )
            })
            .collect();
        by_hand.sort();
        let want: Vec<String> = by_hand.into_iter().take(2).map(|(_, k)| k).collect();
        assert_eq!(draw("x", &pop, 2), want);
    }

    #[test]
    fn a_sample_larger_than_the_population_is_the_whole_population() {
        assert_eq!(draw("s", &keys(3), 10).len(), 3);
        assert!(draw("s", &[], 10).is_empty());
    }

    #[test]
    fn seeds_are_checked() {
        assert_eq!(seed_or_new(" fy26 ").unwrap(), "fy26");
        assert_eq!(seed_or_new("").unwrap().len(), 32);
        assert!(seed_or_new("a b").is_err());
        assert!(seed_or_new(&"x".repeat(65)).is_err());
    }
}
