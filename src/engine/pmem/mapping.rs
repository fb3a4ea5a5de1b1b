//! The memory mapping of the store's file, and how bytes in it are made durable.
//!
//! It exists because persistence on persistent memory is a CPU matter, not a
//! system call: on a DAX file mapped with `MAP_SYNC` a store is durable once
//! its cache lines are written back (clwb, else clflushopt, else clflush)
//! and fenced (sfence). Everywhere else (tmpfs, ext4 without DAX) the page
//! cache sits between the mapping and the medium, and `msync` is the only
//! way. The method is chosen once, at start, from the mapping and the CPU.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;

/// `MAP_SYNC` (Linux uapi, the same value on every architecture); the libc
/// crate does not define it for every target.
const MAP_SYNC: libc::c_int = 0x80000;
const CACHE_LINE: usize = 64;

/// How [`Mapping::persist`] makes a range durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistMethod {
    /// Cache-line write-back that keeps the line cached, then sfence.
    Clwb,
    /// Optimised flush (evicts the line), then sfence.
    ClflushOpt,
    /// The original, serialising flush.
    Clflush,
    /// `msync(MS_SYNC)`: the mapping is not DAX.
    Msync,
}

impl PersistMethod {
    pub fn name(self) -> &'static str {
        match self {
            PersistMethod::Clwb => "clwb+sfence",
            PersistMethod::ClflushOpt => "clflushopt+sfence",
            PersistMethod::Clflush => "clflush+sfence",
            PersistMethod::Msync => "msync",
        }
    }

    /// The best cache-line flush this CPU has (CPUID leaf 7: EBX bit 24 is
    /// CLWB, bit 23 CLFLUSHOPT; SSE2, which x86-64 always has, gives clflush).
    fn best_flush() -> Option<PersistMethod> {
        #[cfg(target_arch = "x86_64")]
        {
            // CPUID is available on every x86-64 CPU.
            let leaf7 = std::arch::x86_64::__cpuid_count(7, 0);
            if leaf7.ebx & (1 << 24) != 0 {
                return Some(PersistMethod::Clwb);
            }
            if leaf7.ebx & (1 << 23) != 0 {
                return Some(PersistMethod::ClflushOpt);
            }
            Some(PersistMethod::Clflush)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }
}

enum Region {
    /// A DAX mapping made with `MAP_SHARED_VALIDATE | MAP_SYNC`.
    Dax { ptr: *mut u8, len: usize },
    /// Kept for its `Drop` (munmap); accessed through `Mapping::ptr`.
    Paged { _map: memmap2::MmapMut },
}

/// The whole file, mapped shared and writable.
///
/// Access is through raw copies: the engine guarantees (with its lock) that
/// no range is written while another thread reads it, so the mapping hands
/// out no references that could alias a write.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
    method: PersistMethod,
    region: Region,
    _file: File,
}

// SAFETY: the mapping is plain shared memory; the engine serialises writes
// and never reads a range while it is being written (see the type's doc).
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `file` (already `len` bytes long). Tries a synchronous DAX
    /// mapping first; the kernel refuses it (EOPNOTSUPP) for files not on a
    /// DAX filesystem, and then an ordinary shared mapping is used.
    pub fn open(file: File, len: usize) -> io::Result<Mapping> {
        let dax = Self::best_dax_method().and_then(|method| {
            // SAFETY: a fresh mapping of a file we own, checked below.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED_VALIDATE | MAP_SYNC,
                    file.as_raw_fd(),
                    0,
                )
            };
            (ptr != libc::MAP_FAILED).then_some((ptr as *mut u8, method))
        });
        let (region, ptr, method) = match dax {
            Some((ptr, method)) => (Region::Dax { ptr, len }, ptr, method),
            None => {
                // SAFETY: the file is ours (the engine's lock file keeps
                // other Strata processes away) and is not truncated while
                // mapped.
                let mut m = unsafe { memmap2::MmapOptions::new().len(len).map_mut(&file)? };
                let ptr = m.as_mut_ptr();
                (Region::Paged { _map: m }, ptr, PersistMethod::Msync)
            }
        };
        Ok(Mapping {
            ptr,
            len,
            method,
            region,
            _file: file,
        })
    }

    fn best_dax_method() -> Option<PersistMethod> {
        PersistMethod::best_flush()
    }

    pub fn method(&self) -> PersistMethod {
        self.method
    }

    pub fn is_dax(&self) -> bool {
        matches!(self.region, Region::Dax { .. })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The bytes at `[off, off + len)`.
    ///
    /// # Safety
    /// No thread may write the range while the returned slice is alive.
    pub unsafe fn slice(&self, off: u64, len: usize) -> &[u8] {
        assert!(off as usize + len <= self.len, "read past the mapping");
        std::slice::from_raw_parts(self.ptr.add(off as usize), len)
    }

    /// Copies `bytes` to `off`.
    ///
    /// # Safety
    /// The caller holds the engine's write lock, and no reader holds a
    /// slice of the range.
    pub unsafe fn write(&self, off: u64, bytes: &[u8]) {
        assert!(
            off as usize + bytes.len() <= self.len,
            "write past the mapping"
        );
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(off as usize), bytes.len());
    }

    /// Makes `[off, off + len)` durable.
    pub fn persist(&self, off: u64, len: usize) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let off = off as usize;
        let end = (off + len).min(self.len);
        match self.method {
            PersistMethod::Msync => {
                let page = page_size();
                let start = off / page * page;
                // SAFETY: the range lies inside our mapping (clamped above).
                let rc = unsafe {
                    libc::msync(
                        self.ptr.add(start) as *mut libc::c_void,
                        end - start,
                        libc::MS_SYNC,
                    )
                };
                if rc != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            }
            method => {
                let mut line = off / CACHE_LINE * CACHE_LINE;
                while line < end {
                    // SAFETY: inside the mapping; flushing a line has no
                    // effect on its contents.
                    unsafe { flush_line(method, self.ptr.add(line)) };
                    line += CACHE_LINE;
                }
                fence();
                Ok(())
            }
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Region::Dax { ptr, len } = self.region {
            // SAFETY: unmapping our own mapping; nothing refers to it now.
            unsafe { libc::munmap(ptr as *mut libc::c_void, len) };
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

#[cfg(target_arch = "x86_64")]
unsafe fn flush_line(method: PersistMethod, p: *const u8) {
    match method {
        PersistMethod::Clwb => std::arch::asm!("clwb [{0}]", in(reg) p, options(nostack)),
        PersistMethod::ClflushOpt => {
            std::arch::asm!("clflushopt [{0}]", in(reg) p, options(nostack))
        }
        _ => std::arch::x86_64::_mm_clflush(p),
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn flush_line(_method: PersistMethod, _p: *const u8) {}

fn fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: sfence has no preconditions.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
    #[cfg(not(target_arch = "x86_64"))]
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_off_dax_is_mapped_with_msync_and_writes_reach_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("create");
        f.set_len(1 << 16).expect("set_len");
        let m = Mapping::open(f, 1 << 16).expect("map");
        // /tmp is not DAX here: the kernel refuses MAP_SYNC.
        assert_eq!(m.method(), PersistMethod::Msync);
        unsafe { m.write(4000, b"durable") };
        m.persist(4000, 7).expect("persist");
        let on_disk = std::fs::read(&path).expect("read");
        assert_eq!(&on_disk[4000..4007], b"durable");
    }

    #[test]
    fn cache_line_flushes_run_on_this_cpu() {
        let Some(method) = PersistMethod::best_flush() else {
            return;
        };
        let buf = vec![1u8; 4096];
        for line in (0..4096).step_by(CACHE_LINE) {
            unsafe { flush_line(method, buf.as_ptr().add(line)) };
        }
        fence();
        assert!(buf.iter().all(|&b| b == 1));
    }
}
