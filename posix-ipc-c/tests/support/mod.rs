//! What the C and C++ tests share: the record types (the same fields as `tests/c/pose.h`),
//! compiling against the library, unique names and their removal, valgrind.
#![allow(dead_code, reason = "each test binary uses a part")]

#[path = "install.rs"]
mod install;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};

use posix_ipc_derive::IpcMessage;

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[ipc(crate = "posix_ipc_core")]
#[repr(C)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[ipc(crate = "posix_ipc_core")]
#[repr(C)]
pub struct Pose {
    pub seq: u64,
    pub stamp: f64,
    pub points: [Point; 2],
    pub cov: [f32; 3],
    pub flags: u32,
}

impl Pose {
    /// Pose number `i`, as `pose()` of `pose.h` makes it.
    pub fn number(i: u64) -> Pose {
        Pose {
            seq: i,
            stamp: i as f64 * 0.5,
            points: [0, 1].map(|k| Point {
                x: i as f64 + k as f64,
                y: i as f64 - k as f64,
            }),
            cov: [i as f32, i as f32 * 2.0, i as f32 * 3.0],
            flags: (i ^ 0xA5A5) as u32,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[ipc(crate = "posix_ipc_core")]
#[repr(C)]
pub struct FrameHead {
    pub seq: u64,
    pub width: u32,
    pub height: u32,
}

/// Frame number `i`, as `frame_len` and `frame_byte` of `pose.h` make it.
pub fn frame(i: u64) -> Vec<u8> {
    let len = 1000 + ((i * 997) % 60000) as usize;
    (0..len)
        .map(|j| ((i * 31 + j as u64 * 7) & 0xff) as u8)
        .collect()
}

/// The crate's `include` directory.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// The test programs' sources.
pub fn sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// The library as a user has it: built and installed by `install.sh` into a prefix of this
/// test binary's own (see `install.rs`).
pub fn prefix() -> PathBuf {
    install::c_prefix(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"),
        Path::new(env!("CARGO_TARGET_TMPDIR")),
    )
}

/// Compiles `sources` (in `tests/c`) into `name` with gcc (`cpp`: g++ -std=c++17), strict
/// warnings as errors, against the installed headers and shared library; returns the
/// executable. Compiled once per test binary and name.
pub fn compile(name: &str, sources: &[&str], cpp: bool) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = prefix().join("build");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join(name);
    if exe.exists() {
        return exe;
    }
    let prefix = prefix();
    let (compiler, std) = if cpp {
        ("g++", "-std=c++17")
    } else {
        ("gcc", "-std=c11")
    };
    let out = Command::new(compiler)
        .args([
            std,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-g",
            "-O2",
            "-pthread",
        ])
        .arg("-I")
        .arg(prefix.join("include"))
        .arg("-I")
        .arg(sources_dir())
        .args(sources.iter().map(|s| sources_dir().join(s)))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", prefix.join("lib").display()))
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()))
        .arg("-lposix_ipc")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e} (install gcc and g++)"));
    assert!(
        out.status.success(),
        "{compiler} failed on {sources:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// A name no other test or run shares.
pub fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/pit-{}-c-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes the objects it names when dropped, also when the test fails.
pub struct Cleanup(Vec<(char, String)>);

impl Cleanup {
    /// A topic (or any segment in /dev/shm).
    pub fn topic(name: &str) -> Cleanup {
        Cleanup(vec![('s', name.to_string())])
    }

    /// A ring or shared struct (a segment too).
    pub fn shm(name: &str) -> Cleanup {
        Cleanup::topic(name)
    }

    /// A typed queue and its companion segment.
    pub fn typed_queue(name: &str) -> Cleanup {
        Cleanup(vec![
            ('q', name.to_string()),
            (
                's',
                format!("{name}{}", posix_ipc_core::typed::COMPANION_SUFFIX),
            ),
        ])
    }

    /// Every object `misuse.c` makes under `prefix`: segments, a semaphore, a queue and a
    /// typed queue's companion.
    pub fn all(prefix: &str, tags: &[&str]) -> Cleanup {
        let mut v = Vec::new();
        for t in tags {
            let name = format!("{prefix}-{t}");
            v.push(('s', name.clone()));
            v.push(('e', name.clone()));
            let companion = format!("{name}{}", posix_ipc_core::typed::COMPANION_SUFFIX);
            v.push(('s', companion));
            v.push(('q', name));
        }
        Cleanup(v)
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (kind, name) in &self.0 {
            let _ = match kind {
                's' => posix_ipc_core::unlink_shared_memory(name),
                'e' => posix_ipc_core::unlink_semaphore(name),
                _ => posix_ipc_core::unlink_message_queue(name),
            };
        }
    }
}

/// Reads the child's stdout up to a line equal to `word` (one byte at a time, so the rest
/// stays in the pipe); panics with its stderr if it exits first.
pub fn wait_line(child: &mut Child, word: &str) {
    let out = child.stdout.as_mut().expect("piped stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if out.read(&mut byte).unwrap() == 0 {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the child exited before printing {word:?}; stderr:\n{err}");
        }
        if byte[0] != b'\n' {
            line.push(byte[0]);
        } else if String::from_utf8_lossy(&line).trim() == word {
            return;
        } else {
            line.clear();
        }
    }
}

/// Starts `program` with `args` (stdin, stdout and stderr piped) and waits for its line
/// `word` ("ready", "joined").
pub fn start(program: &Path, args: &[&str], word: &str) -> Child {
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    wait_line(&mut child, word);
    child
}

/// Waits for a child, asserting it succeeded and printed `word` (if not empty).
pub fn succeeded(child: Child, word: &str) {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(word),
        "the peer failed ({}):\nstdout:\n{text}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The arguments valgrind runs the C programs with: memcheck, any error fails (exit 99),
/// definite leaks count as errors.
pub const VALGRIND_ARGS: &[&str] = &[
    "--tool=memcheck",
    "--error-exitcode=99",
    "--leak-check=full",
    "--errors-for-leak-kinds=definite",
    "--quiet",
];

/// valgrind, or `None` (said) outside CI; under CI its absence is a failure.
pub fn valgrind() -> Option<PathBuf> {
    match Command::new("valgrind").arg("--version").output() {
        Ok(o) if o.status.success() => Some(PathBuf::from("valgrind")),
        _ if std::env::var_os("CI").is_some() => panic!("valgrind is needed under CI"),
        _ => {
            eprintln!("SKIPPED: no valgrind");
            None
        }
    }
}
