//! The demos' child processes: started with their stdout read line by line on threads,
//! watched for an exit (`waitpid` without blocking), and stopped with SIGTERM and, if that is
//! not enough (a stopped or stuck process), SIGKILL. Used by `demo.rs` and `ring_demo.rs`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One child: its role in words ("producer 1"), the process, and how it ended.
pub struct Proc {
    /// What it does, for messages.
    pub role: String,
    /// Its process id.
    pub pid: u32,
    child: Child,
    /// How it ended, once it has.
    pub status: Option<ExitStatus>,
}

/// The children of one demo run, and the lines they print (tagged with their index).
pub struct Children {
    /// The processes, in the order they were started.
    pub procs: Vec<Proc>,
    lines_tx: mpsc::Sender<(usize, String)>,
    /// Every line any child printed on stdout.
    pub lines: mpsc::Receiver<(usize, String)>,
}

impl Children {
    /// No children yet.
    pub fn new() -> Children {
        let (lines_tx, lines) = mpsc::channel();
        Children {
            procs: Vec::new(),
            lines_tx,
            lines,
        }
    }

    /// Starts `exe args` as `role`; returns its index.
    pub fn spawn(
        &mut self,
        role: String,
        exe: &std::path::Path,
        args: &[String],
    ) -> std::io::Result<usize> {
        let mut child = Command::new(exe)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let index = self.procs.len();
        if let Some(out) = child.stdout.take() {
            let tx = self.lines_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send((index, line)).is_err() {
                        break;
                    }
                }
            });
        }
        self.procs.push(Proc {
            role,
            pid: child.id(),
            child,
            status: None,
        });
        Ok(index)
    }

    /// The children that ended since the last call (their status is recorded).
    pub fn reap(&mut self) -> Vec<usize> {
        let mut ended = Vec::new();
        for (i, p) in self.procs.iter_mut().enumerate() {
            if p.status.is_none() {
                if let Ok(Some(status)) = p.child.try_wait() {
                    p.status = Some(status);
                    ended.push(i);
                }
            }
        }
        ended
    }

    /// Whether every child has ended.
    pub fn all_ended(&self) -> bool {
        self.procs.iter().all(|p| p.status.is_some())
    }

    /// Sends `signal` to the children `which` selects that still run.
    pub fn signal(&self, which: impl Fn(usize, &Proc) -> bool, signal: i32) {
        for (i, p) in self.procs.iter().enumerate() {
            if p.status.is_none() && which(i, p) {
                // SAFETY: kill(2) takes two integers; the pid is our own unreaped child, so it
                // cannot have been reused by another process.
                unsafe { libc::kill(p.pid as libc::pid_t, signal) };
            }
        }
    }

    /// Ends every child still running: SIGTERM (a child stops cleanly and reports), then after
    /// `grace` SIGKILL for those that have not ended (a stopped process cannot act on SIGTERM).
    pub fn stop_all(&mut self, grace: Duration) {
        self.signal(|_, _| true, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while !self.all_ended() && Instant::now() < deadline {
            self.reap();
            std::thread::sleep(Duration::from_millis(10));
        }
        self.signal(|_, _| true, libc::SIGKILL);
        while !self.all_ended() {
            self.reap();
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// In a child: asks the kernel to send this process SIGTERM when its parent dies, so a demo
/// killed with SIGKILL does not leave its children running (with `posix_ipc::signals` on, they
/// stop their waits and end cleanly).
pub fn stop_with_parent() {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes integer arguments and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) };
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } == 1 {
        // The parent died before the request: stop now.
        // SAFETY: raise(3) with a valid signal number.
        unsafe { libc::raise(libc::SIGTERM) };
    }
}

/// How a process ended, in words: "exited normally", "exited with code 1", "was killed by
/// SIGKILL".
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => "exited normally".to_string(),
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => format!("was killed by {}", signal_name(sig)),
        _ => format!("ended ({status})"),
    }
}

/// SIGKILL, SIGTERM, ... by number.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        other => format!("signal {other}"),
    }
}
