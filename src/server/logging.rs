//! Structured logs with `tracing`, levels mapped from Redis's `loglevel`.

use crate::config::Settings;

pub fn init(s: &Settings) {
    let level = match s.loglevel.as_str() {
        "debug" => "debug",
        "verbose" => "info",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("strata={level},strata_server={level}"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if s.logfile.is_empty() {
        use std::io::IsTerminal;
        let ansi = std::io::stdout().is_terminal();
        let _ = builder
            .with_ansi(ansi)
            .with_writer(std::io::stdout)
            .try_init();
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&s.logfile)
        {
            Ok(f) => {
                let _ = builder
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(f))
                    .try_init();
            }
            Err(e) => {
                eprintln!("Can't open the log file: {e}");
                let _ = builder.with_writer(std::io::stdout).try_init();
            }
        }
    }
}
