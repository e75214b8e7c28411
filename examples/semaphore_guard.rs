//! posix_ipc's demo4: a semaphore "context manager" across two processes. In Rust the
//! `with sem:` block is a guard, [`Semaphore::acquire_guard`], that releases the semaphore when
//! its scope ends, also when the scope is left early by `?`.
//!
//! ```text
//! cargo run --release --example semaphore_guard
//! ```
//!
//! The parent creates a semaphore with a random name and value 1 (posix_ipc's
//! `Semaphore(None, O_CREX, initial_value=1)`), takes it, and starts this same program again as
//! the child (`--child NAME`). The child blocks in `acquire_guard()`. The parent releases; the
//! child gets the semaphore, and its scope then fails with an error that `?` propagates: the
//! guard releases anyway. The parent, which meanwhile waits to acquire again (with a timeout, so
//! it can never hang), gets the semaphore back, releases it and removes it.
//!
//! The Python child raises half the time; this one always leaves by the error path, so that
//! every run shows it. The order of events is driven by what the child reports on its stdout,
//! not by sleeps (the one 100 ms pause only makes the blocked child visible). The semaphore is
//! removed also on any error (it is [`posix_ipc::Owned`]), and a child still running then is killed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use posix_ipc::{Owned, Semaphore};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The longest the parent waits for anything.
const TIMEOUT: Duration = Duration::from_secs(5);

const WAITING: &str = "waiting in acquire_guard()";
const HOLDING: &str = "holding the semaphore";

/// The child's part: hold the semaphore through a guard and leave the scope with an error.
fn hold(sem: &Semaphore) -> AnyResult<u32> {
    let _guard = sem.acquire_guard()?;
    println!("{HOLDING}");
    thread::sleep(Duration::from_millis(100));
    // Something goes wrong while the semaphore is held (the Python child raises ValueError):
    let count: u32 = "three".parse()?;
    Ok(count) // not reached; `_guard` is dropped on the error path above as well
}

fn child(name: &str) -> AnyResult<()> {
    let sem = Semaphore::open(name)?;
    println!("opened {name}; {WAITING}");
    match hold(&sem) {
        Ok(n) => Err(format!("the scope was expected to fail, it returned {n}").into()),
        Err(e) => {
            println!("left the guarded scope early with an error ({e}); the guard released it");
            Ok(())
        }
    }
}

/// The child process; killed and reaped if still running when dropped.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn wait_timeout(&mut self, timeout: Duration) -> AnyResult<()> {
        let deadline = Instant::now() + timeout;
        let child = self.0.as_mut().ok_or("no child process")?;
        loop {
            if let Some(status) = child.try_wait()? {
                self.0 = None;
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("the child failed ({status})").into())
                };
            }
            if Instant::now() > deadline {
                return Err(format!("the child did not exit within {timeout:?}").into());
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if let Ok(None) = child.try_wait() {
                eprintln!("parent: stopping the child (pid {})", child.id());
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// The child's stdout, line by line, read on a thread so that every wait can time out.
struct ChildOutput(mpsc::Receiver<std::io::Result<String>>);

impl ChildOutput {
    /// Waits for the next line, echoes it, and checks that it contains `expected`.
    fn expect(&self, expected: &str) -> AnyResult<()> {
        let line = self.0.recv_timeout(TIMEOUT).map_err(|_| {
            format!("the child said nothing within {TIMEOUT:?} (expected {expected:?})")
        })??;
        println!("child:  {line}");
        if !line.contains(expected) {
            return Err(format!("expected the child to say {expected:?}").into());
        }
        Ok(())
    }

    /// Echoes the remaining lines until the child closes its stdout.
    fn drain(&self) -> AnyResult<()> {
        while let Ok(line) = self.0.recv_timeout(TIMEOUT) {
            println!("child:  {}", line?);
        }
        Ok(())
    }
}

fn parent() -> AnyResult<()> {
    // Owned: removed at the end, and on every error path.
    let sem = Owned::new(Semaphore::create_random(1)?);
    println!("parent: created semaphore {} with value 1", sem.name());
    sem.acquire_timeout(TIMEOUT)?;
    println!("parent: acquired it; value now {}", sem.value()?);

    let mut child = ChildGuard(None);
    let mut process = Command::new(std::env::current_exe()?)
        .args(["--child", sem.name()])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = process.stdout.take().ok_or("no pipe to the child")?;
    println!("parent: started the child, pid {}", process.id());
    child.0 = Some(process);
    let (lines, output) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let output = ChildOutput(output);

    output.expect(WAITING)?;
    // Only to let the child really block; the demo is correct without it.
    thread::sleep(Duration::from_millis(100));
    println!("parent: releasing the semaphore");
    sem.release()?;
    output.expect(HOLDING)?;

    println!("parent: acquiring again; this waits until the child's guard releases");
    let started = Instant::now();
    sem.acquire_timeout(TIMEOUT)?;
    println!(
        "parent: acquired after {:.0?}; value now {}",
        started.elapsed(),
        sem.value()?
    );
    output.drain()?;
    child.wait_timeout(TIMEOUT)?;

    sem.release()?;
    println!("parent: released; value now {}", sem.value()?);
    let name = sem.name().to_owned();
    sem.remove()?;
    println!("parent: removed semaphore {name}");
    println!("semaphore_guard: the child's guard released the semaphore on its early return; semaphore removed");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => parent(),
        [flag, name] if flag == "--child" => child(name),
        _ => Err("usage: semaphore_guard (the parent starts itself with --child NAME)".into()),
    };
    if let Err(e) = result {
        eprintln!("semaphore_guard: error: {e}");
        std::process::exit(1);
    }
}
