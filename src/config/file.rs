//! Reading redis.conf-syntax files and `--directive value` overrides.
//!
//! Lines are split as Redis splits them (quotes and escapes), `#` starts a
//! comment, `include` pulls in another file. An unknown directive stops the
//! start-up with Redis's own message and the offending line.

use std::path::Path;

use super::{ConfigError, ConfigStore};
use crate::resp::parse::split_args;

#[derive(Debug, thiserror::Error)]
#[error("\n*** FATAL CONFIG FILE ERROR (Strata {version}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}")]
pub struct FileError {
    pub version: &'static str,
    pub line: usize,
    pub text: String,
    pub reason: String,
}

fn fail(line: usize, text: &str, reason: impl ToString) -> FileError {
    FileError {
        version: env!("CARGO_PKG_VERSION"),
        line,
        text: text.to_string(),
        reason: reason.to_string(),
    }
}

/// Applies every directive in `text` (the contents of `origin`).
pub fn load_str(store: &ConfigStore, text: &str, origin: &Path) -> Result<(), FileError> {
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = split_args(line.as_bytes())
            .ok_or_else(|| fail(i + 1, line, "Unbalanced quotes in configuration line"))?;
        let words: Vec<String> = words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect();
        let Some((name, args)) = words.split_first() else {
            continue;
        };
        if name.eq_ignore_ascii_case("include") {
            let [path] = args else {
                return Err(fail(i + 1, line, ConfigError::BadDirective));
            };
            let path = origin
                .parent()
                .map_or_else(|| Path::new(path).to_path_buf(), |dir| dir.join(path));
            load_file(store, &path)?;
            continue;
        }
        store
            .load_directive(name, args)
            .map_err(|e| fail(i + 1, line, e))?;
    }
    Ok(())
}

pub fn load_file(store: &ConfigStore, path: &Path) -> Result<(), FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        fail(
            0,
            &path.display().to_string(),
            format!("Fatal error, can't open config file: {e}"),
        )
    })?;
    load_str(store, &text, path)
}

/// Turns `--port 6390 --save "" --bind 127.0.0.1 ::1` into directive lines,
/// as redis-server does with its command-line options.
pub fn overrides_to_text(args: &[String]) -> String {
    let mut out = String::new();
    for a in args {
        if let Some(name) = a.strip_prefix("--") {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(name);
        } else {
            out.push(' ');
            out.push_str(&quote(a));
        }
    }
    out.push('\n');
    out
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && !s
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'\'' || b == b'\\')
    {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_conf_syntax_and_overrides() {
        let store = ConfigStore::defaults();
        load_str(
            &store,
            "# comment\nport 7000\nappendfsync \"always\"\n\nsave \"\"\n",
            Path::new("x.conf"),
        )
        .unwrap();
        assert_eq!(store.get("port").as_deref(), Some("7000"));
        assert_eq!(store.get("appendfsync").as_deref(), Some("always"));
        assert_eq!(store.get("save").as_deref(), Some(""));
        let text = overrides_to_text(&["--port".into(), "6390".into(), "--save".into(), "".into()]);
        load_str(&store, &text, Path::new("args")).unwrap();
        assert_eq!(store.get("port").as_deref(), Some("6390"));
        let err = load_str(&store, "nonsense 1\n", Path::new("x.conf")).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err
            .to_string()
            .contains("Bad directive or wrong number of arguments"));
    }
}
