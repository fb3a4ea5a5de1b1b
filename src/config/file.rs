//! Reading redis.conf-syntax files and `--directive value` overrides.
//!
//! Lines are split as Redis splits them (quotes and escapes), `#` starts a
//! comment, `include` pulls in another file. An unknown directive stops the
//! start-up with Redis's own message and the offending line.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use super::{ConfigError, ConfigStore, Kind};
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
        if super::directives::FILE_ONLY
            .iter()
            .any(|d| d.eq_ignore_ascii_case(name))
        {
            // Accepted so any redis.conf loads; Strata has no modules, ACL
            // users, sentinel mode or command renaming (yet).
            if name.eq_ignore_ascii_case("rename-command") {
                eprintln!(
                    "# Warning: 'rename-command' at line {} is ignored by Strata",
                    i + 1
                );
            }
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

/// Quotes a value for a config file line when it needs it (as CONFIG REWRITE writes).
pub fn quote(s: &str) -> String {
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

/// One config-file line for a directive's current value, as CONFIG REWRITE writes it.
fn directive_line(name: &str, kind: Kind, value: &str) -> String {
    match kind {
        Kind::Special if value.is_empty() => format!("{name} \"\""),
        Kind::Special => {
            let words: Vec<String> = value.split_whitespace().map(quote).collect();
            format!("{name} {}", words.join(" "))
        }
        _ => format!("{name} {}", quote(value)),
    }
}

/// Redis's CONFIG REWRITE over `original`: comments, blank lines and lines
/// Strata does not own (include, rename-command, ...) stay; the first line of
/// each directive is replaced by its current value and later duplicates are
/// dropped; directives that differ from their default and had no line are
/// appended after a marker comment.
pub fn rewrite_text(store: &ConfigStore, original: &str) -> String {
    const MARKER: &str = "# Generated by CONFIG REWRITE";
    let values = store.snapshot();
    let mut written: HashSet<&'static str> = HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for raw in original.lines() {
        let line = raw.trim();
        let directive = if line.is_empty() || line.starts_with('#') {
            None
        } else {
            split_args(line.as_bytes())
                .and_then(|w| w.into_iter().next())
                .and_then(|w| super::lookup(&String::from_utf8_lossy(&w)))
        };
        match directive {
            Some(d) => {
                if written.insert(d.name) {
                    let value = values.get(d.name).map(String::as_str).unwrap_or_default();
                    // A server that follows no master has no replicaof line
                    // (Redis drops it rather than writing an empty one).
                    if d.name == "replicaof" && value.is_empty() {
                        continue;
                    }
                    out.push(directive_line(d.name, d.kind, value));
                }
            }
            None => out.push(raw.to_string()),
        }
    }
    let mut marked = out.iter().any(|l| l == MARKER);
    for (name, value) in store.non_defaults() {
        if written.contains(name) {
            continue;
        }
        if !marked {
            out.push(MARKER.to_string());
            marked = true;
        }
        let kind = super::lookup(name).map_or(Kind::Str, |d| d.kind);
        out.push(directive_line(name, kind, &value));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Rewrites `path` in place (through a temporary file and a rename).
pub fn rewrite(store: &ConfigStore, path: &Path) -> std::io::Result<()> {
    let original = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let text = rewrite_text(store, &original);
    let tmp = path.with_extension("rewrite.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
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
        let err = load_str(&store, "timeout 1 2\n", Path::new("x.conf")).unwrap_err();
        assert_eq!(err.reason, "wrong number of arguments");
        let err = load_str(
            &store,
            "client-output-buffer-limit normal 0 0\n",
            Path::new("x.conf"),
        )
        .unwrap_err();
        assert_eq!(
            err.reason,
            "Wrong number of arguments in buffer limit configuration."
        );
        let err = load_str(&store, "\n\ntimeout abc\n", Path::new("x.conf")).unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.reason, "argument couldn't be parsed into an integer");
    }

    #[test]
    fn save_lines_accumulate_and_file_only_directives_load() {
        let store = ConfigStore::defaults();
        load_str(
            &store,
            "save 900 1\nsave 300 10\nrename-command FLUSHALL \"\"\nloadmodule /x.so\nslaveof 10.0.0.1 6379\n",
            Path::new("x.conf"),
        )
        .unwrap();
        assert_eq!(store.get("save").as_deref(), Some("900 1 300 10"));
        assert_eq!(store.get("replicaof").as_deref(), Some("10.0.0.1 6379"));
    }

    #[test]
    fn strata_conf_loads_and_documents_every_directive() {
        let text = include_str!("../../conf/strata.conf");
        let store = ConfigStore::defaults();
        load_str(&store, text, Path::new("strata.conf")).unwrap();
        for d in super::super::DIRECTIVES {
            let mentioned = |name: &str| {
                text.lines().any(|l| {
                    let l = l.trim_start_matches('#').trim_start();
                    l.split_whitespace().next() == Some(name)
                })
            };
            assert!(
                mentioned(d.name),
                "conf/strata.conf does not mention {}",
                d.name
            );
        }
    }

    #[test]
    fn rewrite_keeps_comments_and_updates_in_place() {
        let store = ConfigStore::defaults();
        let original = "# my comment\ntimeout 10\nrename-command FOO BAR\ntimeout 20\n";
        load_str(&store, original, Path::new("x.conf")).unwrap();
        store.set("timeout", "30").unwrap();
        store.set("maxmemory", "1mb").unwrap();
        store.set("save", "").unwrap();
        let text = rewrite_text(&store, original);
        assert_eq!(
            text,
            "# my comment\ntimeout 30\nrename-command FOO BAR\n# Generated by CONFIG REWRITE\nmaxmemory 1048576\nsave \"\"\n"
        );
        let again = ConfigStore::defaults();
        load_str(&again, &text, Path::new("x.conf")).unwrap();
        assert_eq!(again.get("timeout").as_deref(), Some("30"));
        assert_eq!(again.get("save").as_deref(), Some(""));
    }

    #[test]
    fn debian_redis_conf_loads() {
        let path = Path::new("/etc/redis/redis.conf");
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let store = ConfigStore::defaults();
        load_str(&store, &text, path).unwrap();
    }
}
