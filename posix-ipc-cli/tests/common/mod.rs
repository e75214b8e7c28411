//! Helpers for the `posix-ipc` command-line tests: running the binary, unique names, cleanup
//! guards and the Python skip/require rule (the same as the root package's `tests/common`).
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::io::Write;
use std::process::Command as StdCommand;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assert_cmd::Command;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The binary under test, built by cargo for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_posix-ipc");

/// A `posix-ipc` command with `args`, killed if it runs longer than 60 s (a hung test fails
/// instead of blocking the suite).
pub fn cli(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).timeout(Duration::from_secs(60));
    cmd
}

/// What a finished command printed and how it ended.
pub struct Ran {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output as text (lossy).
    pub stdout: String,
    /// Standard output as bytes.
    pub stdout_bytes: Vec<u8>,
    /// Standard error as text (lossy).
    pub stderr: String,
}

/// Runs `posix-ipc args` to the end.
pub fn run(args: &[&str]) -> Ran {
    finish(cli(args))
}

/// Runs `posix-ipc args` with `stdin` as its standard input.
pub fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Ran {
    let mut cmd = cli(args);
    cmd.write_stdin(stdin.to_vec());
    finish(cmd)
}

fn finish(mut cmd: Command) -> Ran {
    let out = cmd.output().expect("run posix-ipc");
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Ran {
    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Ran {
        self.code(0)
    }

    /// Asserts the exit code and returns self.
    #[track_caller]
    pub fn code(self, want: i32) -> Ran {
        assert_eq!(
            self.code,
            Some(want),
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts a failure reported as exactly one line on stderr starting with `posix-ipc: `
    /// and containing every piece of `needles`, nothing on stdout; returns the line.
    #[track_caller]
    pub fn one_error_line(&self, needles: &[&str]) -> String {
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "one line on stderr: {:?}",
            self.stderr
        );
        assert!(self.stderr.ends_with('\n'));
        assert!(
            self.stderr.starts_with("posix-ipc: "),
            "prefix: {:?}",
            self.stderr
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{needle:?} not in {:?}",
                self.stderr
            );
        }
        self.stderr.trim_end().to_string()
    }
}

/// A name no other test, test binary or concurrent run can share:
/// `/pit-<pid>-cli-<tag>-<counter>`.
pub fn unique_name(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("/pit-{}-cli-{tag}-{n}", std::process::id())
}

/// Which kind of object a [`Cleanup`] guard removes.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Sem,
    Shm,
    Mq,
}

/// Removes the named object when dropped, also when the test fails (panics).
pub struct Cleanup {
    kind: Kind,
    name: String,
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
    (name.clone(), guard(kind, &name))
}

/// A guard for a name chosen elsewhere.
pub fn guard(kind: Kind, name: &str) -> Cleanup {
    Cleanup {
        kind,
        name: name.to_owned(),
    }
}

/// Writes a line the test harness does not capture.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Whether `python3` with `posix_ipc` is available. When it is not: fails if
/// `POSIX_IPC_REQUIRE_PYTHON=1` (CI sets it), otherwise says that `test` was skipped and how to
/// enable it, and returns false.
pub fn python_available(test: &str) -> bool {
    let ok = StdCommand::new("python3")
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

/// Runs `script` with python3 and `args` as `sys.argv[1:]`; returns its stdout, panicking with
/// its stderr if it fails.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = StdCommand::new("python3")
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

/// Parses `posix-ipc ... --json` output.
#[track_caller]
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}
