//! The benchmark harness, under every workload: which implementation runs, a workload's
//! description, unique names and their cleanup, the clocks and the measured loop, the child
//! process of a cross-process workload (start it, collect the CPU time it reports), the
//! frames of the publish-subscribe rows (fill every byte, check every byte), and what iceoryx2
//! leaves in `/dev/shm`.

use std::mem::MaybeUninit;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Which implementation runs the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// The posix-ipc API.
    Ours,
    /// Raw libc calls.
    Raw,
    /// The posixmq crate (queues only).
    Posixmq,
}

impl Impl {
    pub fn name(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Raw => "raw",
            Impl::Posixmq => "posixmq",
        }
    }

    pub(crate) fn parse(s: &str) -> Impl {
        match s {
            "ours" => Impl::Ours,
            "raw" => Impl::Raw,
            _ => Impl::Posixmq,
        }
    }
}

/// A benchmark workload.
pub struct Workload {
    pub name: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
    pub run: fn(Impl, u64) -> Sample,
    pub iters: u64,
    pub quick_iters: u64,
    pub python: bool,
    pub python_divisor: u64,
    pub has_posixmq: bool,
    pub callgrind_iters: Option<u64>,
}

pub const IN_PROCESS: &str = "in-process";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A number no other workload run of this process uses.
pub(crate) fn next_counter() -> usize {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn unique(tag: &str) -> String {
    format!(
        "/pib-{}-{tag}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes the named queues, segment or semaphores when dropped.
pub(crate) struct Cleanup(pub(crate) Vec<(char, String)>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (kind, name) in &self.0 {
            let _ = match kind {
                'q' => posix_ipc::unlink_message_queue(name),
                's' => posix_ipc::unlink_semaphore(name),
                _ => posix_ipc::unlink_shared_memory(name),
            };
        }
    }
}

pub(crate) fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is valid on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// Nanoseconds per operation: CPU time (this thread, plus the peer process's loop for
/// cross-process workloads) and wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub cpu: f64,
    pub wall: f64,
}

/// Times a cross-process loop: wall clock and this thread's CPU clock.
pub(crate) struct Timer {
    wall: Instant,
    cpu: f64,
}

impl Timer {
    pub(crate) fn start() -> Timer {
        Timer {
            wall: Instant::now(),
            cpu: thread_cpu_ns(),
        }
    }

    /// Per-operation figures, adding the peer process's CPU time for its loop.
    pub(crate) fn stop(self, iters: u64, peer_cpu: f64) -> Sample {
        let cpu = thread_cpu_ns() - self.cpu;
        Sample {
            cpu: (cpu + peer_cpu) / iters as f64,
            wall: self.wall.elapsed().as_nanos() as f64 / iters as f64,
        }
    }
}

/// The measured loop. Never inlined, so callgrind can count exactly its instructions
/// (`--toggle-collect=*measured_loop*`); the closure is inlined into it.
#[inline(never)]
pub(crate) fn measured_loop<F: FnMut()>(iters: u64, mut f: F) {
    for _ in 0..iters {
        f();
    }
}

/// Runs `f` `iters` times, timed on the thread's CPU clock; ns per iteration.
pub(crate) fn cpu_timed<F: FnMut()>(iters: u64, f: F) -> Sample {
    let t = Timer::start();
    measured_loop(iters, f);
    t.stop(iters, 0.0)
}

// --- child processes ---------------------------------------------------------------------------

pub(crate) fn spawn_child(
    role: &str,
    imp: Impl,
    a: &str,
    b: &str,
    iters: u64,
    size: usize,
) -> Child {
    Command::new(std::env::current_exe().expect("own path"))
        .args([
            "--child",
            role,
            imp.name(),
            a,
            b,
            &iters.to_string(),
            &size.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn benchmark child")
}

/// Waits for the child; returns the CPU time (ns) it reported for its loop.
pub(crate) fn finish(child: Child) -> f64 {
    let out = child.wait_with_output().expect("wait child");
    assert!(
        out.status.success(),
        "benchmark child failed: {}",
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the child reports its CPU time")
}

/// Tells the parent how much CPU time this child's loop took.
pub(crate) fn report(start_cpu: f64) {
    println!("cpu {}", thread_cpu_ns() - start_cpu);
}

// --- frames ------------------------------------------------------------------------------------

/// Fills a frame: every byte `v`.
#[inline(never)]
pub fn fill(buf: &mut [MaybeUninit<u8>], v: u8) {
    for b in buf {
        b.write(v);
    }
}

/// Sums every byte of a frame (as 64-bit words) and checks it is the frame `fill(_, v)` made.
#[inline(never)]
pub fn check(buf: &[u8], v: u8) {
    let sum = buf
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
        .fold(0u64, |a, w| a.wrapping_add(w));
    let want =
        ((buf.len() / 8) as u64).wrapping_mul(u64::from(v).wrapping_mul(0x0101_0101_0101_0101));
    assert_eq!(sum, want, "a received frame of {} bytes differs", buf.len());
}

// --- iceoryx2's leftovers (its Rust rows and its Python binding's) ----------------------------

/// The `iox2_*` entries of `/dev/shm` now.
pub fn iceoryx2_files() -> std::collections::BTreeSet<String> {
    std::fs::read_dir("/dev/shm")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with("iox2_"))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes what iceoryx2 left in `/dev/shm` during the run (its nodes are dropped by now, but
/// it keeps a global management file, which it never removes), and says so.
pub fn remove_iceoryx2_files(before: &std::collections::BTreeSet<String>) {
    for name in iceoryx2_files().difference(before) {
        if std::fs::remove_file(format!("/dev/shm/{name}")).is_ok() {
            eprintln!("posix-ipc-bench: removed /dev/shm/{name}, left by iceoryx2");
        }
    }
}
