//! Redis's glob matcher (`stringmatchlen`): `*`, `?`, `[...]` with ranges
//! and `^` negation, `\` escapes, optionally case-insensitive. Used by KEYS,
//! SCAN MATCH, CONFIG GET and, later, pattern subscriptions.

pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    // A nesting limit keeps hostile patterns like "*a*a*a*...b" from
    // exploding, as Redis 7.0 does with its `skipLongerMatches`.
    matches(pattern, string, nocase, &mut false, 0)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn matches(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: usize,
) -> bool {
    if nesting > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if matches(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (p[0], p[2]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let c = s[0];
                        let (start, end, c) = if nocase {
                            (
                                start.to_ascii_lowercase(),
                                end.to_ascii_lowercase(),
                                c.to_ascii_lowercase(),
                            )
                        } else {
                            (start, end, c)
                        };
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if eq(p[0], s[0], nocase) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                // Redis treats a missing ']' as if the class ended at the pattern end.
                if p.is_empty() {
                    p = &p[..0];
                    let hit = if not { !matched } else { matched };
                    if !hit {
                        return false;
                    }
                    s = &s[1..];
                    continue;
                }
                let hit = if not { !matched } else { matched };
                if !hit {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if !eq(p[0], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn redis_glob_semantics() {
        // As in Redis's stringmatchlen, "*" does not match the empty string
        // (KEYS and SCAN special-case a lone "*").
        assert!(!m("*", ""));
        assert!(m("*", "abc"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("a*", "a"));
        assert!(m("a**b", "ab"));
        assert!(!m("abc", "abcd"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(glob_match(b"HELLO", b"hello", true));
    }

    #[test]
    fn hostile_pattern_terminates() {
        let p = "*a".repeat(40) + "b";
        assert!(!m(&p, &"a".repeat(60)));
    }
}
