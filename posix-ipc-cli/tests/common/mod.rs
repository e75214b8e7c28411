//! Helpers for the `posix-ipc` command-line tests: running the binary, unique names, cleanup
//! guards and the Python skip/require rule (the same as the root package's `tests/common`).
#![allow(
    dead_code,
    reason = "each test binary uses a different subset, some of them all of it, so this cannot be an expect"
)]

use std::time::Duration;

use assert_cmd::Command;

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

// Names, cleanup guards and the Python skip/require rule are the root package's test helpers,
// shared rather than copied; the CLI's names carry a `cli-` tag so its `ls`/`clean` tests can
// select them by prefix.
#[path = "../../../tests/common/mod.rs"]
mod shared;

#[allow(
    unused_imports,
    reason = "each test binary uses a different subset, some of them all of it, so this cannot be an expect"
)]
pub use shared::{guard, python_available, run_python, say, Cleanup, Kind};

/// A name no other test, test binary or concurrent run can share:
/// `/pit-<pid>-cli-<tag>-<counter>`.
pub fn unique_name(tag: &str) -> String {
    shared::unique_name(&format!("cli-{tag}"))
}

/// A fresh unique name plus the guard that removes the object of that name at the end.
pub fn guarded(kind: Kind, tag: &str) -> (String, Cleanup) {
    shared::guarded(kind, &format!("cli-{tag}"))
}

/// Parses `posix-ipc ... --json` output.
#[track_caller]
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}
