//! SORT and SORT_RO: the elements of a list, set or sorted set, ordered
//! numerically or bytewise, by themselves or by other keys (`BY weight_*`,
//! `BY h_*->field`), projected through `GET` patterns, and optionally stored
//! as a list.
//!
//! SORT is the one command that must hold a whole collection in memory to
//! order it (Redis does the same); everything else about it streams. Rules
//! follow Redis 7.0's `sortCommandGeneric`: a `BY` pattern without `*`
//! skips sorting; a set sorted that way for `STORE` is sorted bytewise
//! instead, so the stored list does not depend on set iteration order;
//! numbers parse with C's `strtod` (so `" 1"` and `""` are numbers, `"1 "`
//! is not); equal scores fall back to comparing the elements' bytes.

use std::cmp::Ordering;

use bytes::Bytes;

use super::{hash, list, set, zset, KeyType, TypeError, TypeResult, WriteContext};

/// What SORT was asked to do (validated by the command layer).
#[derive(Debug, Default)]
pub struct SortSpec {
    pub by: Option<Bytes>,
    pub gets: Vec<Bytes>,
    /// (offset, count) as given; Redis clamps them to the collection.
    pub limit: Option<(i64, i64)>,
    pub desc: bool,
    pub alpha: bool,
    pub store: Option<Bytes>,
}

/// The result of SORT.
#[derive(Debug, PartialEq)]
pub enum Sorted {
    /// The output without STORE: one entry per element, or per GET pattern
    /// of each element (`None` where a GET found nothing).
    Elements(Vec<Option<Bytes>>),
    /// With STORE: the stored list's length and whether it staged a change (`Some`).
    Stored { len: usize, seq: Option<u64> },
}

pub const ERR_NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// Reads the key a `BY`/`GET` pattern names for `element`, as Redis's
/// `lookupKeyByPattern`: `#` is the element itself; the first `*` takes the
/// element; `key->field` reads a hash field; only strings (and hash fields)
/// are values, anything else reads as missing.
pub fn lookup_by_pattern(
    w: &WriteContext<'_>,
    db: u8,
    pattern: &[u8],
    element: &Bytes,
) -> TypeResult<Option<Bytes>> {
    if pattern == b"#" {
        return Ok(Some(element.clone()));
    }
    let Some(star) = pattern.iter().position(|&b| b == b'*') else {
        return Ok(None);
    };
    let after = &pattern[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&a| a + 2 < after.len());
    let (suffix, field) = match arrow {
        Some(a) => (&after[..a], Some(&after[a + 2..])),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + suffix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(suffix);
    let Some(meta) = w.get_live(db, &key)? else {
        return Ok(None);
    };
    match (field, meta.kind) {
        (Some(f), KeyType::Hash) => hash::get(w, db, &key, &meta, f),
        (None, KeyType::String) => Ok(Some(meta.payload)),
        _ => Ok(None),
    }
}

/// C's `strtod` over the bytes up to the first NUL, with Redis's checks:
/// the whole text must be consumed, no range error, not NaN.
pub fn parse_score(text: &[u8]) -> Option<f64> {
    let text = match text.iter().position(|&b| b == 0) {
        Some(n) => &text[..n],
        None => text,
    };
    let c = std::ffi::CString::new(text).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
    // strtod only reads it and stores a pointer into it in `end`; errno is
    // this thread's and is reset first so only strtod's value is seen.
    let (v, rest, erange) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(c.as_ptr(), &mut end);
        (v, *end, *libc::__errno_location() == libc::ERANGE)
    };
    (rest == 0 && !erange && !v.is_nan()).then_some(v)
}

/// Redis's LIMIT clamping: the inclusive output range `[start, end]`
/// (empty when `end < start`).
fn output_range(limit: Option<(i64, i64)>, len: usize) -> (i64, i64) {
    let len = len as i64;
    let (offset, count) = limit.unwrap_or((0, -1));
    let mut start = offset.max(0).min(len);
    let count = count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

/// The elements of the collection at `key` in its natural order (list
/// order, set members bytewise, sorted-set members by score).
fn load(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<(KeyType, Vec<Bytes>)> {
    let Some(meta) = w.get_live(db, key)? else {
        return Ok((KeyType::List, Vec::new()));
    };
    let elements = match meta.kind {
        KeyType::List => list::range(w, db, key, 0, -1)?
            .unwrap_or_default()
            .into_vec(),
        KeyType::Set => set::smembers(w, db, key)?.unwrap_or_default(),
        KeyType::ZSet => zset::stream_version(w, db, key, &meta)
            .map(|r| r.map(|(member, _)| member))
            .collect::<TypeResult<_>>()?,
        _ => return Err(TypeError::WrongType),
    };
    Ok((meta.kind, elements))
}

struct Item {
    element: Bytes,
    score: f64,
    /// The `BY` value for ALPHA sorts by pattern (`None` = missing: first).
    by: Option<Bytes>,
}

/// SORT / SORT_RO.
pub fn sort(w: &WriteContext<'_>, db: u8, key: &[u8], spec: &SortSpec) -> TypeResult<Sorted> {
    let (kind, elements) = load(w, db, key)?;
    let mut by = spec.by.clone();
    let mut alpha = spec.alpha;
    let mut dont_sort = by.as_ref().is_some_and(|p| !p.contains(&b'*'));
    if dont_sort && kind == KeyType::Set && spec.store.is_some() {
        // Stored results must not depend on set iteration order.
        dont_sort = false;
        alpha = true;
        by = None;
    }
    let (start, end) = output_range(spec.limit, elements.len());
    let mut items: Vec<Item> = elements
        .into_iter()
        .map(|element| Item {
            element,
            score: 0.0,
            by: None,
        })
        .collect();
    if dont_sort {
        // Lists and sorted sets keep their order, reversed by DESC.
        if spec.desc && kind != KeyType::Set {
            items.reverse();
        }
    } else {
        let mut not_double = false;
        for item in &mut items {
            let value = match &by {
                Some(pattern) => match lookup_by_pattern(w, db, pattern, &item.element)? {
                    Some(v) => v,
                    None => continue,
                },
                None => item.element.clone(),
            };
            if alpha {
                if by.is_some() {
                    item.by = Some(value);
                }
            } else {
                match parse_score(&value) {
                    Some(s) => item.score = s,
                    None => not_double = true,
                }
            }
        }
        if not_double {
            return Err(TypeError::Reply(ERR_NOT_DOUBLE.into()));
        }
        let by_pattern = by.is_some();
        items.sort_by(|a, b| {
            let cmp = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.element.cmp(&b.element))
            } else if by_pattern {
                a.by.cmp(&b.by)
            } else {
                a.element.cmp(&b.element)
            };
            if spec.desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
    }
    let mut out = Vec::new();
    if end >= start {
        for item in &items[start as usize..=end as usize] {
            if spec.gets.is_empty() {
                out.push(Some(item.element.clone()));
            }
            for pattern in &spec.gets {
                out.push(lookup_by_pattern(w, db, pattern, &item.element)?);
            }
        }
    }
    match &spec.store {
        None => Ok(Sorted::Elements(out)),
        Some(dst) => {
            let len = out.len();
            let values = out.into_iter().map(Option::unwrap_or_default).collect();
            let seq = list::store(w, db, dst, values)?;
            Ok(Sorted::Stored { len, seq })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b" 2"), Some(2.0));
        assert_eq!(parse_score(b""), Some(0.0));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b"abc"), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"3\0junk"), Some(3.0));
    }

    #[test]
    fn limit_clamps_like_redis() {
        assert_eq!(output_range(None, 5), (0, 4));
        assert_eq!(output_range(Some((1, 2)), 5), (1, 2));
        assert_eq!(output_range(Some((-3, 2)), 5), (0, 1));
        assert_eq!(output_range(Some((2, -7)), 5), (2, 4));
        assert_eq!(output_range(Some((10, 2)), 5), (4, 3));
        assert_eq!(output_range(Some((0, 0)), 5), (0, -1));
        assert_eq!(output_range(None, 0), (-1, -2));
    }
}
