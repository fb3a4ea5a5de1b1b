//! `strata-server`: reads the configuration (file plus `--directive value`
//! overrides, as redis-server does), opens the engine and serves.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use strata::config::{self, ConfigStore};
use strata::server::Server;

/// mimalloc instead of glibc's malloc for Rust's allocations: a pipelined
/// SET makes about 19 of them, and glibc's free path alone cost ~1.7k
/// instructions per SET (callgrind; figures in docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: Mimalloc = Mimalloc;

/// mimalloc through its plain entry points where the alignment asked for
/// is one every block has anyway (the rule Rust's own `System` allocator
/// applies to malloc: at most 16 and at most the size). The `mimalloc`
/// crate's allocator calls the aligned entry points for every layout, and
/// mimalloc 3 sends those down a generic path for any block over 1 KiB or
/// any page without a free block at hand: ~650 instructions per pipelined
/// SET (callgrind, docs/bench/instructions.md, stop 34).
struct Mimalloc;

/// mimalloc's `MI_MAX_ALIGN_SIZE`: what `mi_malloc` guarantees, like
/// malloc (blocks of 16 bytes or more are 16-aligned, smaller ones 8).
const MI_MAX_ALIGN_SIZE: usize = 16;

/// Whether a plain mimalloc block of `size` bytes is aligned to `align`.
fn plain(align: usize, size: usize) -> bool {
    align <= MI_MAX_ALIGN_SIZE && align <= size
}

// SAFETY: every path hands the layout to a mimalloc allocation function
// that honours its size and alignment (the plain ones by mimalloc's
// guarantee above), and frees with `mi_free`, which takes any block.
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            libmimalloc_sys::mi_malloc(layout.size()).cast()
        } else {
            libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            libmimalloc_sys::mi_zalloc(layout.size()).cast()
        } else {
            libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        libmimalloc_sys::mi_free(ptr.cast());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        if plain(layout.align(), new_size) {
            libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast()
        } else {
            libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "strata-server",
    version,
    about = "Redis-compatible server with data on SSD or persistent memory"
)]
struct Args {
    /// A configuration file in redis.conf syntax (may also be given as the first positional argument).
    #[arg(long = "config", short = 'c')]
    config: Option<PathBuf>,
    /// Print the storage engines this build knows (values of `engine`), one a line, and exit.
    #[arg(long)]
    list_engines: bool,
    /// An optional config file followed by `--directive value ...` overrides, e.g. `--port 6390 --dir ./data`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

/// mimalloc's `arena_eager_commit`: option 4 in v2 and v3 (libmimalloc-sys
/// names only v2's options).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Keeps the allocators' retained memory near what the server uses. Reads
/// offloaded from the workers (`rocksdb.read-offload`) run on many
/// threads, and both allocators keep memory per thread (mimalloc's heaps)
/// or per arena (glibc's, used by RocksDB): 50 clients reading a dataset
/// from the device grew the server from ~120 to ~330 MB, ~220 MB of it
/// in mimalloc's arena, until a 320 MB memory limit killed it
/// (docs/bench/larger-than-ram.md). Measured in that run:
///
/// - mimalloc commits its arenas eagerly by default on Linux and keeps the
///   pages it purges; without eager commit its arena held 25-40 MB;
/// - glibc makes up to eight arenas per core, each keeping freed memory:
///   one per core held ~35 MB less.
///
/// mimalloc reserves its first arena at the process's first allocation,
/// before `main` (Rust's runtime allocates), so this runs as an ELF
/// constructor, before both.
extern "C" fn bound_allocators() {
    // SAFETY: process-wide allocator settings, made before any other
    // thread exists; nothing here allocates (`available_parallelism`
    // would, with mimalloc, before its option is set).
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        let cores = libc::sysconf(libc::_SC_NPROCESSORS_ONLN);
        libc::mallopt(libc::M_ARENA_MAX, cores.clamp(2, 64) as libc::c_int);
    }
}

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static BOUND_ALLOCATORS: extern "C" fn() = bound_allocators;

fn main() -> ExitCode {
    #[cfg(not(target_os = "linux"))]
    bound_allocators();
    let mut args = Args::parse();
    if args.list_engines {
        for name in strata::engine::NAMES {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    let mut overrides = std::mem::take(&mut args.rest);
    if args.config.is_none() && overrides.first().is_some_and(|a| !a.starts_with("--")) {
        args.config = Some(PathBuf::from(overrides.remove(0)));
    }
    let mut store = ConfigStore::defaults();
    if let Some(path) = &args.config {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        store.path = Some(path.clone());
        if let Err(e) = config::file::load_file(&store, &path) {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    if !overrides.is_empty() {
        let text = config::file::overrides_to_text(&overrides);
        if let Err(e) = config::file::load_str(&store, &text, std::path::Path::new("command line"))
        {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    strata::server::logging::init(&store.settings());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(store.settings().worker_threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("can't start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match Server::open(store) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let listeners = match server.bind().await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("{e}");
                // The engine is open and its threads (and the server's)
                // run: returning would tear them down under each other (a
                // segfault in RocksDB's statistics was seen once). Nothing
                // was accepted yet, so leave as at the end of a shutdown.
                std::process::exit(1)
            }
        };
        tracing::info!(
            "Strata {} started, engine {}, listening on {:?}",
            env!("CARGO_PKG_VERSION"),
            server.ks.engine().name(),
            strata::server::describe(&listeners)
        );
        tracing::info!("Ready to accept connections tcp");
        strata::server::signals::install(server.clone());
        server.serve(listeners).await;
        // Everything is flushed and synced (`finish_shutdown`). Leave now,
        // as Redis does with exit(): tearing down a runtime and a RocksDB
        // instance whose background threads may still run can abort the
        // process at exit and turn a clean shutdown into a failure status.
        std::process::exit(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn allocator_bounds_are_set_before_main() {
        // SAFETY: reads a process-wide option.
        let eager = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT) };
        assert_eq!(eager, 0, "the constructor did not run");
        let _ = BOUND_ALLOCATORS;
    }
}
