//! A segment of the cube kept on disk (`<data dir>/cube/`), so a restarted server has its
//! reports at once instead of decoding every rollup row from the database again (at 10M line
//! items that took tens of seconds). A file is a cache: named by the batch, its rollup
//! revision and the batch's identity (file hash, import time, source), so it can only stand
//! for the rows it was made from; anything unreadable, truncated or failing its checksum is
//! ignored (and removed) and the segment is loaded from the database as before.
//!
//! Layout, little-endian: magic, batch, rev, the daily rows (count, days, six dictionary
//! columns, three amount columns, account names), the tag rows (count, days, five dictionary
//! columns, three amount columns), then a CRC-32 of everything before it. Amounts are
//! `Decimal::serialize` (exact); every id is checked against its dictionary and every day
//! order on the way in.

use super::{Daily, DictCol, Segment, Tags};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"STWCUBE\x02";

/// The file for a segment: `<batch>-<rev>-<identity>.seg`.
pub(super) fn path(dir: &Path, batch: i64, rev: i64, identity: &str) -> PathBuf {
    let id = crate::util::sha256_hex(identity.as_bytes());
    dir.join(format!("{batch}-{rev}-{}.seg", &id[..16]))
}

pub(super) fn encode(s: &Segment) -> Vec<u8> {
    let rows = s.daily.day.len() + s.tags.day.len();
    let mut w = Vec::with_capacity(64 + rows * 80);
    w.extend_from_slice(MAGIC);
    w.extend_from_slice(&s.batch.to_le_bytes());
    w.extend_from_slice(&s.rev.to_le_bytes());
    let d = &s.daily;
    put_days(&mut w, &d.day);
    for c in d.dicts() {
        put_dict(&mut w, c);
    }
    put_amounts(&mut w, &d.amounts);
    put_u32(&mut w, d.account_names.len());
    for (k, v) in &d.account_names {
        put_str(&mut w, k);
        put_str(&mut w, v);
    }
    let t = &s.tags;
    put_days(&mut w, &t.day);
    for c in t.dicts() {
        put_dict(&mut w, c);
    }
    put_amounts(&mut w, &t.amounts);
    let crc = crc32fast::hash(&w);
    w.extend_from_slice(&crc.to_le_bytes());
    w
}

fn put_u32(w: &mut Vec<u8>, n: usize) {
    w.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    put_u32(w, s.len());
    w.extend_from_slice(s.as_bytes());
}

fn put_days(w: &mut Vec<u8>, days: &[i32]) {
    w.extend_from_slice(&(days.len() as u64).to_le_bytes());
    for d in days {
        w.extend_from_slice(&d.to_le_bytes());
    }
}

fn put_dict(w: &mut Vec<u8>, c: &DictCol) {
    put_u32(w, c.names.len());
    for n in &c.names {
        put_str(w, n);
    }
    for id in &c.ids {
        w.extend_from_slice(&id.to_le_bytes());
    }
}

fn put_amounts(w: &mut Vec<u8>, cols: &[Vec<Decimal>; 3]) {
    for col in cols {
        for a in col {
            w.extend_from_slice(&a.serialize());
        }
    }
}

/// Reads a segment back; `Err` says why the file cannot stand for it.
pub(super) fn decode(b: &[u8], batch: i64, rev: i64) -> Result<Segment, String> {
    let body_len = b.len().checked_sub(4).ok_or("shorter than its checksum")?;
    let (body, crc) = b.split_at(body_len);
    let want = u32::from_le_bytes(crc.try_into().map_err(|_| "no checksum")?);
    if crc32fast::hash(body) != want {
        return Err("checksum mismatch".into());
    }
    let mut r = Reader { b: body, pos: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not a cube segment of this version".into());
    }
    if r.i64()? != batch || r.i64()? != rev {
        return Err("made for another batch or revision".into());
    }
    let day = r.days()?;
    let n = day.len();
    let mut cols = (0..7)
        .map(|_| r.dict(n))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    let mut next = || cols.next().unwrap_or_default();
    let (provider, account, service, region, category, currency, billing) =
        (next(), next(), next(), next(), next(), next(), next());
    let amounts = r.amounts(n)?;
    let mut account_names = std::collections::BTreeMap::new();
    for _ in 0..r.u32()? {
        let k = r.string()?;
        // Written from a sorted map: each key after the one before it. A repeated key would be
        // lost and keys out of order come back sorted, so neither file stands for itself.
        if account_names
            .keys()
            .next_back()
            .is_some_and(|last: &String| *last >= k)
        {
            return Err("account names repeated or out of order".into());
        }
        account_names.insert(k, r.string()?);
    }
    let daily = Daily {
        day,
        provider,
        account,
        service,
        region,
        category,
        currency,
        billing,
        amounts,
        account_names,
    };
    let day = r.days()?;
    let n = day.len();
    let mut cols = (0..5)
        .map(|_| r.dict(n))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    let mut next = || cols.next().unwrap_or_default();
    let (provider, service, currency, key, value) = (next(), next(), next(), next(), next());
    let tags = Tags {
        day,
        provider,
        service,
        currency,
        key,
        value,
        amounts: r.amounts(n)?,
    };
    if r.pos != r.b.len() {
        return Err("trailing bytes".into());
    }
    Ok(Segment {
        batch,
        rev,
        daily,
        tags,
    })
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or("truncated")?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn i64(&mut self) -> Result<i64, String> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(i64::from_le_bytes(a))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| "a name is not UTF-8".into())
    }

    /// `n` items of `size` bytes: the length is checked before anything is allocated.
    fn items(&mut self, n: usize, size: usize) -> Result<&'a [u8], String> {
        let bytes = n.checked_mul(size).ok_or("count out of range")?;
        self.take(bytes)
    }

    fn days(&mut self) -> Result<Vec<i32>, String> {
        let n = usize::try_from(self.i64()?).map_err(|_| "negative count")?;
        let days: Vec<i32> = self
            .items(n, 4)?
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        // Reports find a range by binary search.
        if days.windows(2).any(|w| w[0] > w[1]) {
            return Err("days out of order".into());
        }
        Ok(days)
    }

    fn dict(&mut self, n: usize) -> Result<DictCol, String> {
        let count = self.u32()? as usize;
        let mut names = Vec::new();
        let mut index = rustc_hash::FxHashMap::default();
        for id in 0..count {
            let name = self.string()?;
            if index.insert(name.clone(), id as u32).is_some() {
                return Err("a dictionary name twice".into());
            }
            names.push(name);
        }
        let ids: Vec<u32> = self
            .items(n, 4)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        // Reports index the dictionary with these.
        if ids.iter().any(|&id| id as usize >= count) {
            return Err("an id outside its dictionary".into());
        }
        Ok(DictCol { ids, names, index })
    }

    fn amounts(&mut self, n: usize) -> Result<[Vec<Decimal>; 3], String> {
        let mut col = || -> Result<Vec<Decimal>, String> {
            self.items(n, 16)?
                .chunks_exact(16)
                .map(|c| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(c);
                    // Flags: scale in bits 16..24 (at most 28), sign in bit 31, nothing else.
                    let flags = u32::from_le_bytes([a[0], a[1], a[2], a[3]]);
                    if flags & 0x7F00_FFFF != 0 || (flags >> 16) & 0xFF > 28 {
                        return Err("an amount that is not a decimal".to_string());
                    }
                    Ok(Decimal::deserialize(a))
                })
                .collect()
        };
        Ok([col()?, col()?, col()?])
    }
}

/// The segment in `path`, when the file is there and stands for it; a bad file is removed.
pub(super) fn read(path: &Path, batch: i64, rev: i64) -> Option<Segment> {
    let bytes = std::fs::read(path).ok()?;
    match decode(&bytes, batch, rev) {
        Ok(s) => Some(s),
        Err(why) => {
            tracing::warn!(path = %path.display(), %why, "cost cube file ignored");
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// Writes the segment's file (through a temporary name, so a reader never sees half of it).
pub(super) fn write(path: &Path, s: &Segment) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, encode(s))?;
    std::fs::rename(&tmp, path)
}

/// Removes the files of segments no longer live (`live`: batch and revision).
pub(super) fn prune(dir: &Path, live: &std::collections::HashSet<(i64, i64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let mut parts = name.split('-');
        let key = (
            parts.next().and_then(|b| b.parse::<i64>().ok()),
            parts.next().and_then(|r| r.parse::<i64>().ok()),
        );
        let stale = match key {
            (Some(b), Some(r)) => !live.contains(&(b, r)),
            _ => false,
        };
        // Also temporaries a crash left behind (`.tmp<pid>`), once their segment is gone.
        if stale && (name.ends_with(".seg") || name.contains(".tmp")) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// For the fuzz target (`fuzz/fuzz_targets/cube_file.rs`): `body` as a segment file's bytes
/// without its checksum (added here, so mutations reach the structure), decoded for the batch
/// and revision it names and, when that works, encoded again. `None` or the same bytes back
/// (checksum included), never a panic.
pub fn fuzz_file_roundtrip(body: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let batch = i64::from_le_bytes(body.get(8..16)?.try_into().ok()?);
    let rev = i64::from_le_bytes(body.get(16..24)?.try_into().ok()?);
    let mut bytes = body.to_vec();
    bytes.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    let s = decode(&bytes, batch, rev).ok()?;
    Some((bytes, encode(&s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment() -> Segment {
        let mut d = Daily::default();
        for (day, svc, amt) in [(10, "EC2", "1.00000000001"), (11, "S3", "-0.5")] {
            d.day.push(day);
            d.provider.push("AWS");
            d.account.push("123");
            d.service.push(svc);
            d.region.push("");
            d.category.push("Usage");
            d.currency.push("USD");
            d.billing.push("999");
            for c in d.amounts.iter_mut() {
                c.push(amt.parse().unwrap());
            }
        }
        d.account_names
            .insert("123".into(), "Prod — ünïcode".into());
        let mut t = Tags::default();
        t.day.push(11);
        t.provider.push("AWS");
        t.service.push("S3");
        t.currency.push("USD");
        t.key.push("env");
        t.value.push("prod");
        for c in t.amounts.iter_mut() {
            c.push("123456789.123456789012".parse().unwrap());
        }
        Segment {
            batch: 7,
            rev: 2,
            daily: d,
            tags: t,
        }
    }

    #[test]
    fn the_fuzz_seed_is_a_segment_that_comes_back_byte_for_byte() {
        let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds/cube_file/segment");
        let body = encode(&segment());
        let body = &body[..body.len() - 4];
        if std::env::var_os("STEWARD_WRITE_FUZZ_SEED").is_some() {
            std::fs::write(&seed, body).unwrap();
        }
        let committed = std::fs::read(&seed).unwrap();
        assert_eq!(committed, body, "the seed is today's format");
        let (bytes, again) = super::fuzz_file_roundtrip(&committed).unwrap();
        assert_eq!(again, bytes);
    }

    #[test]
    fn a_segment_comes_back_exactly() {
        let s = segment();
        let b = encode(&s);
        let back = decode(&b, 7, 2).unwrap();
        assert_eq!(back.daily.day, s.daily.day);
        assert_eq!(back.daily.service.names, s.daily.service.names);
        assert_eq!(back.daily.service.ids, s.daily.service.ids);
        assert_eq!(back.daily.billing.names, ["999"]);
        assert_eq!(back.daily.service.index.get("S3"), Some(&1));
        assert_eq!(back.daily.amounts, s.daily.amounts);
        assert_eq!(back.daily.account_names, s.daily.account_names);
        assert_eq!(back.tags.value.names, vec!["prod".to_string()]);
        assert_eq!(back.tags.amounts, s.tags.amounts);
        assert_eq!(
            back.tags.amounts[0][0].to_string(),
            "123456789.123456789012",
            "scale kept"
        );
    }

    #[test]
    fn another_batch_or_revision_or_any_damage_is_refused() {
        let b = encode(&segment());
        assert!(decode(&b, 7, 3).is_err());
        assert!(decode(&b, 8, 2).is_err());
        for cut in [0, 3, 4, 20, b.len() / 2, b.len() - 1] {
            assert!(decode(&b[..cut], 7, 2).is_err(), "cut at {cut}");
        }
        for at in [0, 9, 30, b.len() / 2, b.len() - 5] {
            let mut bad = b.clone();
            bad[at] ^= 0x40;
            assert!(decode(&bad, 7, 2).is_err(), "flipped byte {at}");
        }
    }

    #[test]
    fn account_names_repeated_or_out_of_order_are_refused() {
        // Found by the cube_file fuzz target: account names with the same key were read into
        // the map as one, and keys out of order came back sorted, so the file did not encode
        // back to the same bytes.
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&7i64.to_le_bytes());
        body.extend_from_slice(&2i64.to_le_bytes());
        body.extend_from_slice(&0u64.to_le_bytes());
        body.extend_from_slice(&[0u8; 7 * 4]);
        body.extend_from_slice(&2u32.to_le_bytes());
        body.extend_from_slice(&[0u8; 16]);
        body.extend_from_slice(&0u64.to_le_bytes());
        body.extend_from_slice(&[0u8; 5 * 4]);
        assert!(fuzz_file_roundtrip(&body).is_none());
        let mut bytes = body.clone();
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        assert_eq!(
            decode(&bytes, 7, 2).err().as_deref(),
            Some("account names repeated or out of order")
        );
        // Two names out of order (found by the fuzzer next): refused too.
        let mut two = body[..24 + 8 + 28].to_vec();
        two.extend_from_slice(&2u32.to_le_bytes());
        for (k, v) in [("b", ""), ("a", "")] {
            two.extend_from_slice(&(k.len() as u32).to_le_bytes());
            two.extend_from_slice(k.as_bytes());
            two.extend_from_slice(&(v.len() as u32).to_le_bytes());
        }
        two.extend_from_slice(&body[body.len() - 28..]);
        assert!(fuzz_file_roundtrip(&two).is_none(), "out of order");
        let i = 24 + 8 + 28 + 4;
        two[i + 4] = b'a';
        two[i + 13] = b'b';
        let (bytes, again) = fuzz_file_roundtrip(&two).expect("in order, it reads");
        assert_eq!(again, bytes);
        // One name is fine, and comes back byte for byte.
        let mut one = MAGIC.to_vec();
        one.extend_from_slice(&body[8..24 + 8 + 28]);
        one.extend_from_slice(&1u32.to_le_bytes());
        one.extend_from_slice(&[0u8; 8]);
        one.extend_from_slice(&body[body.len() - 28..]);
        let (bytes, again) = fuzz_file_roundtrip(&one).expect("reads");
        assert_eq!(again, bytes);
    }

    #[test]
    fn well_checksummed_nonsense_is_refused_without_panicking() {
        // The checksum guards against damage, not against a crafted file: the structure is
        // checked too. Random bodies with a valid checksum never decode and never panic.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for len in 0..600usize {
            let mut body = MAGIC.to_vec();
            body.extend_from_slice(&7i64.to_le_bytes());
            body.extend_from_slice(&2i64.to_le_bytes());
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                body.push((seed % 7) as u8);
            }
            let crc = crc32fast::hash(&body);
            body.extend_from_slice(&crc.to_le_bytes());
            let _ = decode(&body, 7, 2);
        }
        // An id past its dictionary, with a valid checksum.
        let s = segment();
        let mut b = encode(&s);
        b.truncate(b.len() - 4);
        let ids_at = 8 + 16 + 8 + 8 + (4 + 4 + 3); // days, then the provider dictionary "AWS"
        b[ids_at] = 9;
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            decode(&b, 7, 2).err().as_deref(),
            Some("an id outside its dictionary")
        );
    }
}
