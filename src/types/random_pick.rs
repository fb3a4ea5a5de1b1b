//! Random picks from sorted keys. RocksDB keeps keys sorted, not hashed, so
//! there is no bucket to draw from as Redis does; instead a pick descends
//! the implicit trie of the keys under a prefix, a few seeks per level.
//! RANDOMKEY and HRANDFIELD share it.

use rand::Rng;

use super::{encoding, TypeResult, WriteContext};
use crate::engine::Cf;

/// A random record of `cf` whose key starts with `prefix`, as `(key, value)`,
/// found by descending the implicit trie of the sorted keys: at each depth
/// it lists the bytes that follow the current prefix (one seek each) and
/// picks one at random, or stops at the key equal to the prefix. Every
/// branch at a level is equally likely, so picks spread over the keys
/// without being uniform. After `seek_budget` seeks it settles for the first
/// key under the prefix chosen so far. `None` when nothing is under `prefix`.
pub fn random_under_prefix(
    w: &WriteContext<'_>,
    cf: Cf,
    prefix: &[u8],
    rng: &mut impl Rng,
    seek_budget: usize,
) -> TypeResult<Option<(Vec<u8>, Vec<u8>)>> {
    let end = encoding::prefix_end(prefix);
    let mut it = w.iter(cf, Some(prefix), end.as_deref());
    let mut current = prefix.to_vec();
    let mut seeks = 0;
    loop {
        // `None` stands for the key equal to `current` itself.
        let mut choices: Vec<Option<u8>> = Vec::new();
        let mut probe = current.clone();
        it.seek(&probe);
        while it.valid() && it.key().starts_with(&current) && seeks < seek_budget {
            seeks += 1;
            probe.truncate(current.len());
            match it.key().get(current.len()) {
                None => {
                    choices.push(None);
                    probe.push(0);
                }
                Some(&b) => {
                    choices.push(Some(b));
                    if b == 0xff {
                        break;
                    }
                    probe.push(b + 1);
                }
            }
            it.seek(&probe);
        }
        it.status()?;
        if choices.is_empty() {
            return Ok(None);
        }
        match choices[rng.gen_range(0..choices.len())] {
            None => break,
            Some(b) => current.push(b),
        }
        if seeks >= seek_budget {
            break;
        }
    }
    // Settle on the first key under the chosen prefix.
    it.seek(&current);
    it.status()?;
    if it.valid() && it.key().starts_with(&current) {
        return Ok(Some((it.key().to_vec(), it.value().to_vec())));
    }
    Ok(None)
}
