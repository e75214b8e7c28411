//! Helpers shared by the integration tests: unique names, cleanup guards, child processes and
//! the Python interop runner.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset, some of them all of it, so this cannot be an expect"
)]

use std::io::Write;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name no other test, test binary or concurrent test run can share:
/// `/pit-<pid>-<tag>-<counter>`.
pub fn unique_name(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("/pit-{}-{tag}-{n}", std::process::id())
}

/// Which kind of object a [`Cleanup`] guard removes.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Sem,
    Shm,
    Mq,
}

/// Removes the named object when dropped, also when the test fails (panics). Removing an object
/// that is already gone is fine.
pub struct Cleanup {
    kind: Kind,
    name: String,
}

impl Cleanup {
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = match self.kind {
            Kind::Sem => posix_ipc::unlink_semaphore(&self.name),
            Kind::Shm => posix_ipc::unlink_shared_memory(&self.name),
            Kind::Mq => posix_ipc::unlink_message_queue(&self.name),
        };
    }
}

/// A fresh unique name plus the guard that removes the object of that name at the end.
pub fn guarded(kind: Kind, tag: &str) -> (String, Cleanup) {
    let name = unique_name(tag);
    (name.clone(), Cleanup { kind, name })
}

/// A guard for a name chosen elsewhere (for example a random name).
pub fn guard(kind: Kind, name: &str) -> Cleanup {
    Cleanup {
        kind,
        name: name.to_owned(),
    }
}

/// Environment variable that tells a re-executed test binary which child role to play.
pub const CHILD_ROLE: &str = "POSIX_IPC_TEST_CHILD_ROLE";

/// The command that starts this test binary again as a child process running the ignored
/// test `entry` (which dispatches on `role`), with `args` in `POSIX_IPC_TEST_CHILD_ARGS`, its
/// stdout and stderr piped.
fn child_command(entry: &str, role: &str, args: &[&str]) -> Command {
    let mut cmd =
        Command::new(std::env::current_exe().expect("the test binary knows its own path"));
    cmd.args([
        "--ignored",
        "--exact",
        entry,
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ROLE, role)
    .env("POSIX_IPC_TEST_CHILD_ARGS", args.join("\u{1f}"))
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    cmd
}

/// Starts this test binary again as a child process running the ignored test `entry`
/// (which dispatches on `role`), with `args` passed in `POSIX_IPC_TEST_CHILD_ARGS`.
pub fn spawn_child(entry: &str, role: &str, args: &[&str]) -> std::process::Child {
    child_command(entry, role, args)
        .spawn()
        .expect("spawn the test binary as a child")
}

/// As [`spawn_child`], with the child's stdin piped too (for children that wait for a line).
pub fn spawn_child_with_stdin(entry: &str, role: &str, args: &[&str]) -> std::process::Child {
    child_command(entry, role, args)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the test binary as a child")
}

/// Compiles the C program `source` as `name` in a fresh folder of the temporary directory
/// (`cc -std=c11 -Wall -Werror`, plus `flags`, linked with `-lrt`); returns the folder and the
/// executable, or `None` (after saying so) when there is no C compiler.
pub fn compile_c(
    test: &str,
    name: &str,
    source: &str,
    flags: &[&str],
) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    if Command::new("cc").arg("--version").output().is_err() {
        say(&format!(
            "SKIPPED {test}: no C compiler (`cc`); install gcc to run it"
        ));
        return None;
    }
    let dir = std::env::temp_dir().join(format!("posix-ipc-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("make a folder for the C program");
    let (c, exe) = (dir.join(format!("{name}.c")), dir.join(name));
    std::fs::write(&c, source).expect("write the C program");
    let built = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror"])
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(&c)
        .arg("-lrt")
        .output()
        .expect("run cc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    Some((dir, exe))
}

/// Inside a child: its role and arguments, or `None` when run as an ordinary test.
pub fn child_role() -> Option<(String, Vec<String>)> {
    let role = std::env::var(CHILD_ROLE).ok()?;
    let args = std::env::var("POSIX_IPC_TEST_CHILD_ARGS").unwrap_or_default();
    let args = if args.is_empty() {
        Vec::new()
    } else {
        args.split('\u{1f}').map(str::to_owned).collect()
    };
    Some((role, args))
}

/// Reads the child's stdout until a line ending in `word` (the harness prints its own text
/// first, "test child_entry ... ", on the same line), one byte at a time so nothing after that
/// line is taken out of the pipe: the rest stays in `child.stdout` for the caller. Panics,
/// with the child's stderr, if the child exits first.
pub fn wait_line(child: &mut std::process::Child, word: &str) {
    use std::io::Read;
    let out = child.stdout.as_mut().expect("piped stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let n = out.read(&mut byte).expect("read the child's stdout");
        if n == 0 {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the child exited before printing {word:?}; stderr:\n{err}");
        }
        if byte[0] != b'\n' {
            line.push(byte[0]);
            continue;
        }
        if String::from_utf8_lossy(&line).trim_end().ends_with(word) {
            return;
        }
        line.clear();
    }
}

/// Waits for a child and asserts it succeeded, showing its output otherwise.
pub fn expect_success(child: std::process::Child, what: &str) -> Output {
    let out = child.wait_with_output().expect("wait for child");
    assert!(
        out.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes a line the test harness does not capture, so a person running `cargo test` sees it
/// (libtest captures only the `print!` family of macros).
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Whether `python3` with `posix_ipc` is available. When it is not: fails if
/// `POSIX_IPC_REQUIRE_PYTHON=1` (CI sets it), otherwise says plainly that `test` was skipped and
/// how to enable it, and returns false.
pub fn python_available(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import posix_ipc"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        let msg = format!(
            "SKIPPED {test}: python3 with posix_ipc is not installed; enable with \
             `python3 -m pip install posix-ipc==1.3.2`"
        );
        if std::env::var("POSIX_IPC_REQUIRE_PYTHON").as_deref() == Ok("1") {
            panic!("{msg} (POSIX_IPC_REQUIRE_PYTHON=1 makes this a failure)");
        }
        say(&msg);
    }
    ok
}

/// Runs `script` with python3, passing `args` as `sys.argv[1:]`; returns its stdout. Panics with
/// the script's stderr if it fails.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (at most 10 s) until thread `tid` of process `pid` is asleep in the kernel (state `S`
/// in `/proc/PID/task/TID/stat`): the wait it was about to start has begun. Returns whether it
/// did.
pub fn wait_until_sleeping(pid: u32, tid: i32) -> bool {
    let path = format!("/proc/{pid}/task/{tid}/stat");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(stat) = std::fs::read_to_string(&path) {
            if stat
                .rsplit(')')
                .next()
                .map(str::trim_start)
                .is_some_and(|s| s.starts_with('S'))
            {
                return true;
            }
        }
        std::thread::yield_now();
    }
    false
}

/// The kernel thread id of the calling thread.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() }
}

/// Whether a process with this pid runs (and is not a zombie).
pub fn process_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .map(str::trim_start)
            .is_some_and(|s| s.starts_with('Z') || s.starts_with('X'))
    })
}

/// An example program built by `cargo test` (which builds every example before running the
/// tests), found beside the test binary: `target/<profile>/examples/NAME`.
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run the whole suite with `cargo test` (it builds the examples), or \
         `cargo build --examples` first",
        path.display()
    );
    path
}

/// posix_ipc 1.3.2's source distribution, fetched at test time into cargo's temporary folder
/// for integration tests and unpacked there (`python3 -m pip download --no-deps --no-binary
/// :all: posix-ipc==1.3.2`): its demos and tests are used from there, never copied into this
/// repository. `None` (the test is skipped, or fails with `POSIX_IPC_REQUIRE_PYTHON=1`) if
/// Python with posix_ipc is missing or the download fails.
pub fn posix_ipc_sdist(test: &str) -> Option<std::path::PathBuf> {
    static TREE: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);
    if !python_available(test) {
        return None;
    }
    let mut tree = TREE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(t) = tree.as_ref() {
        return Some(t.clone());
    }
    let base = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("posix-ipc-1.3.2-sdist");
    let unpacked = base.join("posix_ipc-1.3.2");
    if !unpacked.join("demos").exists() {
        let _ = std::fs::create_dir_all(&base);
        let fetched = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args([
                "--no-deps",
                "--no-binary",
                ":all:",
                "posix-ipc==1.3.2",
                "-d",
            ])
            .arg(&base)
            .output();
        let ok = fetched.as_ref().is_ok_and(|o| o.status.success())
            && Command::new("tar")
                .arg("xzf")
                .arg(base.join("posix_ipc-1.3.2.tar.gz"))
                .arg("-C")
                .arg(&base)
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            let why = match &fetched {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            let msg = format!(
                "SKIPPED {test}: cannot fetch posix_ipc 1.3.2's source distribution from the \
                 package index: {why}"
            );
            if std::env::var("POSIX_IPC_REQUIRE_PYTHON").as_deref() == Ok("1") {
                panic!("{msg} (POSIX_IPC_REQUIRE_PYTHON=1 makes this a failure)");
            }
            say(&msg);
            return None;
        }
    }
    *tree = Some(unpacked.clone());
    Some(unpacked)
}

/// Iterations of a fault scenario loop: `POSIX_IPC_FAULT_ITERATIONS`, default 100 (the CI size).
pub fn iterations() -> u64 {
    std::env::var("POSIX_IPC_FAULT_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// The Python environment for the `posix_ipc_rs` tests: a virtual environment in cargo's
/// temporary folder with the packages of `posix-ipc-python/tests/requirements.txt` from the
/// package index, and the module built from this tree (`maturin develop --release`, in its own
/// target folder so that it never waits on the running `cargo test`). Built once per test
/// binary. `None` (the test is skipped, or fails with `POSIX_IPC_REQUIRE_PYTHON=1`, as CI sets)
/// if it cannot be built.
pub fn python_module(test: &str) -> Option<std::path::PathBuf> {
    static ENV: std::sync::OnceLock<Result<std::path::PathBuf, String>> =
        std::sync::OnceLock::new();
    let built = ENV.get_or_init(build_python_module);
    match built {
        Ok(python) => Some(python.clone()),
        Err(why) => {
            let msg = format!("SKIPPED {test}: cannot build the posix_ipc_rs module: {why}");
            if std::env::var("POSIX_IPC_REQUIRE_PYTHON").as_deref() == Ok("1") {
                panic!("{msg} (POSIX_IPC_REQUIRE_PYTHON=1 makes this a failure)");
            }
            say(&msg);
            None
        }
    }
}

fn build_python_module() -> Result<std::path::PathBuf, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let venv = tmp.join("python-venv");
    let python = venv.join("bin").join("python");
    let run = |what: &str, cmd: &mut Command| -> Result<(), String> {
        say(&format!("python module: {what}"));
        let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    if !python.exists() {
        run(
            "creating a virtual environment",
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
        )?;
    }
    run(
        "installing posix-ipc-python/tests/requirements.txt from the package index",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(root.join("posix-ipc-python/tests/requirements.txt")),
    )?;
    run(
        "building and installing posix_ipc_rs (maturin develop --release)",
        Command::new(venv.join("bin").join("maturin"))
            .args(["develop", "--release", "--quiet", "--manifest-path"])
            .arg(root.join("posix-ipc-python/Cargo.toml"))
            .env("VIRTUAL_ENV", &venv)
            .env("CARGO_TARGET_DIR", tmp.join("python-target")),
    )?;
    Ok(python)
}

/// Runs `python` with `args` in `posix-ipc-python/tests`, its output going straight to this
/// test's output (so that a suite's own summary line shows in the test run) and into the
/// returned string. Panics, with the output, if it fails.
pub fn run_module_python(python: &std::path::Path, args: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python)
        .args(args)
        .current_dir(root.join("posix-ipc-python/tests"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the virtual environment's python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    say(&text);
    assert!(
        out.status.success(),
        "python {args:?} failed ({})",
        out.status
    );
    text
}
