//! Starts the two systems under test as child processes (real redis-server
//! and strata-server, each on a free loopback port with its own data dir),
//! waits until they answer PING, reads their RSS and disk usage, stops them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which system a process or figure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Redis,
    Strata,
}

impl System {
    pub fn label(self) -> &'static str {
        match self {
            System::Redis => "Redis",
            System::Strata => "Strata",
        }
    }
}

/// A running server.
pub struct ServerProc {
    pub system: System,
    pub port: u16,
    pub data_dir: PathBuf,
    /// The command line, for the report.
    pub command: String,
    child: Child,
}

/// A port nobody listens on right now (bound then released).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Durability settings shared by both systems.
#[derive(Debug, Clone)]
pub struct Durability {
    /// "everysec" or "always".
    pub appendfsync: String,
}

pub fn redis_args(port: u16, dir: &Path, log: &Path, d: &Durability) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir.display().to_string(),
        "--logfile",
        &log.display().to_string(),
        "--appendonly",
        "yes",
        "--appendfsync",
        &d.appendfsync,
        "--save",
        "",
        "--daemonize",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn strata_args(port: u16, dir: &Path, d: &Durability, block_cache: &str) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir.display().to_string(),
        "--appendfsync",
        &d.appendfsync,
        "--rocksdb.block-cache-size",
        block_cache,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn shell_words(bin: &str, args: &[String]) -> String {
    let mut s = bin.to_string();
    for a in args {
        s.push(' ');
        if a.is_empty() || a.contains(' ') {
            s.push_str(&format!("'{a}'"));
        } else {
            s.push_str(a);
        }
    }
    s
}

impl ServerProc {
    /// Spawns `bin args`, stdout/stderr to `log`, and waits for PONG.
    pub fn spawn(
        system: System,
        bin: &str,
        args: Vec<String>,
        port: u16,
        data_dir: PathBuf,
        log: &Path,
    ) -> Result<ServerProc, String> {
        std::fs::create_dir_all(&data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
        let logf = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let logf2 = logf.try_clone().map_err(|e| e.to_string())?;
        let command = shell_words(bin, &args);
        let child = Command::new(bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(logf)
            .stderr(logf2)
            .spawn()
            .map_err(|e| format!("can't start {bin}: {e}"))?;
        let mut proc = ServerProc {
            system,
            port,
            data_dir,
            command,
            child,
        };
        proc.wait_ready(Duration::from_secs(30))?;
        Ok(proc)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited at startup: {status}",
                    self.system.label()
                ));
            }
            if let Ok(reply) = self.command_line(b"*1\r\n$4\r\nPING\r\n") {
                if reply.starts_with(b"+PONG") {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "{} did not answer PING in {limit:?}",
            self.system.label()
        ))
    }

    /// Sends one raw request, returns whatever arrives first (enough for
    /// short replies such as +PONG or +OK).
    pub fn command_line(&self, raw: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.write_all(raw)?;
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Resident set size in bytes, from /proc/<pid>/status VmRSS.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        parse_vmrss_kb(&status).map(|kb| kb * 1024)
    }

    /// Bytes allocated on disk under the data dir (like `du`).
    pub fn disk_bytes(&self) -> u64 {
        dir_bytes(&self.data_dir)
    }

    /// SHUTDOWN NOSAVE, then a kill if it lingers.
    pub fn stop(mut self) {
        let _ = self.command_line(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn parse_vmrss_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn dir_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for e in entries.flatten() {
        let Ok(md) = e.metadata() else { continue };
        if md.is_dir() {
            total += dir_bytes(&e.path());
        } else {
            total += md.blocks() * 512;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vmrss() {
        let status = "Name:\tredis-server\nVmPeak:\t  100 kB\nVmRSS:\t   12345 kB\nThreads: 4\n";
        assert_eq!(parse_vmrss_kb(status), Some(12345));
        assert_eq!(parse_vmrss_kb("Name: x\n"), None);
    }

    #[test]
    fn quotes_empty_args() {
        let a = vec!["--save".to_string(), String::new()];
        assert_eq!(shell_words("redis-server", &a), "redis-server --save ''");
    }
}
