//! The request parser: RESP multibulk and inline (telnet) commands.
//!
//! It follows Redis's `processMultibulkBuffer` / `processInlineBuffer`:
//! the same limits, the same error texts, and the same leniency (the two
//! bytes after a bulk are skipped, not checked). Arguments are sliced out of
//! the read buffer without copying. Parsing resumes where it stopped, so a
//! large request arriving in many reads is scanned once.

use bytes::{Bytes, BytesMut};

/// Redis's `PROTO_INLINE_MAX_SIZE`: the longest inline request or header line.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: i64,
    /// Whether the client still has to authenticate (Redis then caps sizes).
    pub unauthenticated: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_bulk_len: 512 * 1024 * 1024,
            unauthenticated: false,
        }
    }
}

/// A protocol error: the reply text (without the leading `-`) Redis sends
/// before it closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("ERR Protocol error: too big mbulk count string")]
    TooBigMbulkCount,
    #[error("ERR Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("ERR Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("ERR Protocol error: too big bulk count string")]
    TooBigBulkCount,
    #[error("ERR Protocol error: expected '$', got '{}'", *.0 as char)]
    ExpectedDollar(u8),
    #[error("ERR Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("ERR Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    #[error("ERR Protocol error: too big inline request")]
    TooBigInline,
    #[error("ERR Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
}

/// Where a partially received multibulk request stopped.
#[derive(Debug, Default)]
struct Partial {
    /// Arguments still expected.
    remaining: usize,
    /// Offset in the buffer where the next header or bulk starts.
    pos: usize,
    /// Length of the bulk whose header was read but whose body has not fully arrived.
    pending_bulk: Option<usize>,
}

/// A stateful parser over a connection's read buffer.
#[derive(Debug, Default)]
pub struct RequestParser {
    partial: Option<Partial>,
    /// `(start, end)` of each complete argument of the partial request,
    /// relative to the buffer; kept between requests so parsing one
    /// allocates only its argument vector.
    spans: Vec<(usize, usize)>,
}

/// The '\r' ending a header line, found the way Redis finds it (strchr,
/// which stops at a NUL byte): a NUL before the '\r' means "incomplete".
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let i = from + buf[from..].iter().position(|&b| b == b'\r' || b == 0)?;
    (buf[i] == b'\r').then_some(i)
}

pub use crate::num::parse_i64;

/// The common header, read in one pass: after the type byte at `at`, one to
/// nine digits without a leading zero (or a lone "0"), then '\r' with one
/// more byte in the buffer. Returns the number and the '\r''s position, the
/// same as `find_crlf` and `parse_i64` give for such a line; anything else
/// (a sign, a NUL, a long or incomplete line) returns `None` and takes the
/// general path, which owns every error. A request's headers were ~100
/// instructions each through the general path (docs/bench/instructions.md,
/// stop 37).
#[inline]
fn short_header(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let digits = buf.get(at + 1..)?;
    let mut v = 0usize;
    for (i, &c) in digits.iter().enumerate().take(10) {
        match c {
            b'0'..=b'9' if i < 9 && !(i == 1 && v == 0) => v = v * 10 + (c - b'0') as usize,
            b'\r' if i > 0 && at + 2 + i < buf.len() => return Some((v, at + 1 + i)),
            _ => return None,
        }
    }
    None
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the next complete request from `buf`, consuming its bytes.
    ///
    /// Returns `Ok(None)` when more bytes are needed. An empty `Vec` is an
    /// empty request (`*0`, a blank inline line), which Redis silently skips.
    pub fn next(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ParseError> {
        Ok(self.next_frame(buf, limits)?.map(|(argv, _)| argv))
    }

    /// Like [`next`](Self::next), and also returns the exact bytes the
    /// request occupied: a replica counts its offset and forwards its
    /// master's stream byte for byte.
    pub fn next_frame(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<(Vec<Bytes>, Bytes)>, ParseError> {
        if self.partial.is_none() {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf);
            }
            let (count, nl) = match short_header(buf, 0) {
                Some((count, nl)) => (count as i64, nl),
                None => {
                    let Some(nl) = find_crlf(buf, 0) else {
                        if buf.len() > INLINE_MAX_SIZE {
                            return Err(ParseError::TooBigMbulkCount);
                        }
                        return Ok(None);
                    };
                    if nl + 1 >= buf.len() {
                        // "\r" seen but "\n" not yet: Redis needs the whole line too.
                        return Ok(None);
                    }
                    let count = parse_i64(&buf[1..nl]).filter(|&n| n <= i32::MAX as i64);
                    let Some(count) = count else {
                        return Err(ParseError::InvalidMultibulkLength);
                    };
                    (count, nl)
                }
            };
            if count > 10 && limits.unauthenticated {
                return Err(ParseError::UnauthenticatedMultibulkLength);
            }
            if count <= 0 {
                let frame = buf.split_to(nl + 2).freeze();
                return Ok(Some((Vec::new(), frame)));
            }
            self.spans.clear();
            self.partial = Some(Partial {
                remaining: count as usize,
                pos: nl + 2,
                pending_bulk: None,
            });
        }
        let p = self.partial.as_mut().expect("set above");
        while p.remaining > 0 {
            let len = match p.pending_bulk {
                Some(len) => len,
                None => {
                    let fast = match buf.get(p.pos) {
                        Some(b'$') => short_header(buf, p.pos),
                        _ => None,
                    };
                    let (len, nl) = match fast {
                        Some((len, nl)) => (Some(len as i64), nl),
                        None => {
                            let Some(nl) = find_crlf(buf, p.pos) else {
                                if buf.len() - p.pos > INLINE_MAX_SIZE {
                                    return Err(ParseError::TooBigBulkCount);
                                }
                                return Ok(None);
                            };
                            if nl + 1 >= buf.len() {
                                return Ok(None);
                            }
                            if buf[p.pos] != b'$' {
                                return Err(ParseError::ExpectedDollar(buf[p.pos]));
                            }
                            (parse_i64(&buf[p.pos + 1..nl]), nl)
                        }
                    };
                    let len = match len {
                        Some(l) if l >= 0 && l <= limits.max_bulk_len => l,
                        _ => return Err(ParseError::InvalidBulkLength),
                    };
                    if len > 16384 && limits.unauthenticated {
                        return Err(ParseError::UnauthenticatedBulkLength);
                    }
                    p.pos = nl + 2;
                    p.pending_bulk = Some(len as usize);
                    len as usize
                }
            };
            if buf.len() < p.pos + len + 2 {
                // Make room for the rest of this bulk (bounded by what was
                // declared and already vetted against proto-max-bulk-len).
                let missing = p.pos + len + 2 - buf.len();
                buf.reserve(missing.min(1 << 20));
                return Ok(None);
            }
            self.spans.push((p.pos, p.pos + len));
            p.pos += len + 2;
            p.pending_bulk = None;
            p.remaining -= 1;
        }
        let p = self.partial.take().expect("set above");
        let frame = buf.split_to(p.pos).freeze();
        let mut argv = Vec::with_capacity(self.spans.len());
        argv.extend(self.spans.iter().map(|&(s, e)| frame.slice(s..e)));
        if self.spans.capacity() > 1024 {
            // A huge request does not pin its span list for the connection's life.
            self.spans = Vec::new();
        }
        Ok(Some((argv, frame)))
    }
}

fn parse_inline(buf: &mut BytesMut) -> Result<Option<(Vec<Bytes>, Bytes)>, ParseError> {
    // Redis finds the newline with strchr(), which stops at a NUL byte: a
    // NUL before the newline means "no complete line yet", so the request
    // waits for more bytes until the inline limit is exceeded.
    let nl = match buf.iter().position(|&b| b == b'\n' || b == 0) {
        Some(i) if buf[i] == b'\n' => Some(i),
        _ => None,
    };
    let Some(nl) = nl else {
        if buf.len() > INLINE_MAX_SIZE {
            return Err(ParseError::TooBigInline);
        }
        return Ok(None);
    };
    let mut end = nl;
    if end > 0 && buf[end - 1] == b'\r' {
        end -= 1;
    }
    let line = buf.split_to(nl + 1).freeze();
    let args = split_args(&line[..end]).ok_or(ParseError::UnbalancedQuotes)?;
    Ok(Some((args.into_iter().map(Bytes::from).collect(), line)))
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Redis's `sdssplitargs`: whitespace-separated words, "double quotes" with
/// escapes (\n \r \t \b \a \\ \" \xHH), 'single quotes' with only \' escaped.
/// A closing quote must be followed by a space or the end. `None` on
/// unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    cur.push(hex_val(line[i + 2])? * 16 + hex_val(line[i + 3])?);
                    i += 3;
                } else if line[i] == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if line[i] == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if line[i] == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> (Vec<Vec<Bytes>>, Option<ParseError>) {
        let mut buf = BytesMut::from(input);
        let mut p = RequestParser::new();
        let mut out = Vec::new();
        loop {
            match p.next(&mut buf, &ParseLimits::default()) {
                Ok(Some(args)) => out.push(args),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// The one-pass header reader gives what the general path gives, for
    /// every short line over digits, signs, NUL and line ends, and takes
    /// the common headers.
    #[test]
    fn short_headers_read_as_the_general_path_reads_them() {
        let alphabet = b"0159-\r\n\0";
        let mut taken = 0;
        for len in 0..=7u32 {
            for n in 0..alphabet.len().pow(len) {
                let mut line = vec![b'$'];
                let mut k = n;
                for _ in 0..len {
                    line.push(alphabet[k % alphabet.len()]);
                    k /= alphabet.len();
                }
                let Some((v, nl)) = short_header(&line, 0) else {
                    continue;
                };
                taken += 1;
                let general = find_crlf(&line, 0).expect("a line end");
                assert_eq!(nl, general, "{line:?}");
                assert!(nl + 1 < line.len(), "{line:?}");
                assert_eq!(parse_i64(&line[1..nl]), Some(v as i64), "{line:?}");
            }
        }
        assert!(taken > 1000, "{taken}");
        assert_eq!(short_header(b"$3\r\nGET", 0), Some((3, 2)));
        assert_eq!(short_header(b"*999999999\r\n", 0), Some((999_999_999, 10)));
        assert_eq!(short_header(b"*1000000000\r\n", 0), None);
        assert_eq!(short_header(b"$3\r", 0), None);
    }

    #[test]
    fn multibulk_and_pipelining() {
        let (reqs, err) = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n");
        assert!(err.is_none());
        assert_eq!(reqs.len(), 2);
        assert_eq!(
            reqs[0],
            vec![Bytes::from_static(b"GET"), Bytes::from_static(b"k")]
        );
        assert_eq!(reqs[1], vec![Bytes::from_static(b"PING")]);
    }

    #[test]
    fn resumes_across_reads_byte_by_byte() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut buf = BytesMut::new();
        let mut p = RequestParser::new();
        let mut got = None;
        for (i, b) in input.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            match p.next(&mut buf, &ParseLimits::default()).unwrap() {
                Some(args) => {
                    assert_eq!(i, input.len() - 1, "complete only at the last byte");
                    got = Some(args);
                }
                None => assert!(i < input.len() - 1),
            }
        }
        assert_eq!(got.unwrap()[2], Bytes::from_static(b"value"));
        assert!(buf.is_empty());
    }

    #[test]
    fn inline_commands_and_quotes() {
        let (reqs, err) = parse_all(b"set a \"b c\\x41\\n\"\r\nPING\n\r\n  \n");
        assert!(err.is_none());
        assert_eq!(reqs[0][2], Bytes::from_static(b"b cA\n"));
        assert_eq!(reqs[1], vec![Bytes::from_static(b"PING")]);
        assert!(reqs[2].is_empty() && reqs[3].is_empty());
        assert_eq!(
            parse_all(b"set a \"b\r\n").1,
            Some(ParseError::UnbalancedQuotes)
        );
        assert_eq!(
            parse_all(b"set a \"b\"c\r\n").1,
            Some(ParseError::UnbalancedQuotes)
        );
        assert_eq!(
            split_args(b"'it\\'s' x").unwrap(),
            vec![b"it's".to_vec(), b"x".to_vec()]
        );
    }

    #[test]
    fn nul_before_newline_stalls_inline_request_like_redis() {
        let (reqs, err) = parse_all(b"PING\r\n\0PING\r\nPING\r\n");
        assert!(err.is_none());
        assert_eq!(reqs.len(), 1, "only the request before the NUL completes");
        let (reqs, err) = parse_all(b"*2\r\n$3\r\nGET\r\n\0$1\r\nk\r\n");
        assert!(
            err.is_none() && reqs.is_empty(),
            "a NUL in a header stalls it too"
        );
        let mut big = b"\0".to_vec();
        big.extend(std::iter::repeat_n(b'a', INLINE_MAX_SIZE + 10));
        big.extend_from_slice(b"\r\n");
        assert_eq!(parse_all(&big).1, Some(ParseError::TooBigInline));
    }

    #[test]
    fn protocol_errors_match_redis() {
        assert_eq!(
            parse_all(b"*x\r\n").1,
            Some(ParseError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*3000000000\r\n").1,
            Some(ParseError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\nfoo\r\n").1,
            Some(ParseError::ExpectedDollar(b'f'))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-1\r\n").1,
            Some(ParseError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$600000000\r\n").1,
            Some(ParseError::InvalidBulkLength)
        );
        assert_eq!(
            ParseError::ExpectedDollar(b'f').to_string(),
            "ERR Protocol error: expected '$', got 'f'"
        );
        let (reqs, err) = parse_all(b"*0\r\n*-1\r\n");
        assert!(err.is_none());
        assert_eq!(reqs.len(), 2);
    }

    #[test]
    fn oversized_headers_and_inline_are_refused() {
        let mut big = b"*".to_vec();
        big.extend(std::iter::repeat_n(b'1', INLINE_MAX_SIZE + 10));
        assert_eq!(parse_all(&big).1, Some(ParseError::TooBigMbulkCount));
        let big_inline = vec![b'a'; INLINE_MAX_SIZE + 10];
        assert_eq!(parse_all(&big_inline).1, Some(ParseError::TooBigInline));
        let mut big_bulk = b"*1\r\n$".to_vec();
        big_bulk.extend(std::iter::repeat_n(b'1', INLINE_MAX_SIZE + 10));
        assert_eq!(parse_all(&big_bulk).1, Some(ParseError::TooBigBulkCount));
    }

    #[test]
    fn declared_huge_bulk_is_not_allocated() {
        let mut buf = BytesMut::from(&b"*1\r\n$536870912\r\nabc"[..]);
        let mut p = RequestParser::new();
        assert_eq!(p.next(&mut buf, &ParseLimits::default()).unwrap(), None);
        assert!(
            buf.capacity() < 4 << 20,
            "capacity {} grew with the declared length",
            buf.capacity()
        );
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = ParseLimits {
            unauthenticated: true,
            ..Default::default()
        };
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            p.next(&mut buf, &limits),
            Err(ParseError::UnauthenticatedMultibulkLength)
        );
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$16385\r\n"[..]);
        assert_eq!(
            p.next(&mut buf, &limits),
            Err(ParseError::UnauthenticatedBulkLength)
        );
    }

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [&b""[..], b"+1", b"01", b" 1", b"1 ", b"-", b"-0", b"1.0"] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    /// Seeded garbage never panics and never leaves the buffer larger than
    /// what was fed in.
    #[test]
    fn garbage_never_panics() {
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"*$\r\n0123456789-abc \"'\\x";
        for _ in 0..20_000 {
            let len = (rnd() % 64) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[(rnd() % alphabet.len() as u64) as usize])
                .collect();
            let mut buf = BytesMut::from(&input[..]);
            let mut p = RequestParser::new();
            for _ in 0..100 {
                match p.next(&mut buf, &ParseLimits::default()) {
                    Ok(Some(_)) => continue,
                    _ => break,
                }
            }
            assert!(buf.len() <= input.len());
        }
    }
}
