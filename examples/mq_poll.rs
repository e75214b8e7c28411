//! posix_ipc's demo5: waiting for a message queue with `poll(2)`, as the Python demo does with
//! `selectors`. On Linux a queue descriptor is a file descriptor and `MessageQueue` implements
//! `AsFd`, so it works with `poll`, `epoll`, mio or tokio's `AsyncFd`.
//!
//! ```text
//! cargo run --release --example mq_poll
//! ```
//!
//! The listener creates a queue (2 messages of at most 64 bytes, a name unique to this run),
//! switches it to non-blocking mode (`set_block(false)`, posix_ipc's `block = False`), shows that
//! `poll` reports it not readable while it is empty, and starts this same program again as the
//! transmitter (`--transmit NAME`). The transmitter opens the queue for writing only and, after
//! 100 ms (so that the listener is really waiting), sends "From transmitter". The listener's
//! `poll` wakes up with `POLLIN`; it receives the message and removes the queue. The poll is
//! bounded (5 seconds), and the queue is removed also on any error (it is [`posix_ipc::Owned`]).

use std::os::fd::AsFd;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use posix_ipc::MessageQueue;

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const TIMEOUT: Duration = Duration::from_secs(5);
const MESSAGE: &[u8] = b"From transmitter";

/// Polls the queue for `POLLIN`; returns whether it became readable within `timeout`.
fn readable(mq: &MessageQueue, timeout: Duration) -> AnyResult<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [PollFd::new(mq.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::try_from(left)?) {
            Ok(0) => return Ok(false),
            Ok(_) => {
                let revents = fds[0].revents().unwrap_or(PollFlags::empty());
                return Ok(revents.contains(PollFlags::POLLIN));
            }
            Err(Errno::EINTR) => continue, // a signal: poll again until the deadline
            Err(e) => return Err(e.into()),
        }
    }
}

fn transmitter(name: &str) -> AnyResult<()> {
    let mq = MessageQueue::options().read(false).open(name)?;
    mq.set_block(false)?;
    std::thread::sleep(Duration::from_millis(100));
    println!(
        "transmitter: sending {:?} to {name}",
        String::from_utf8_lossy(MESSAGE)
    );
    mq.send(MESSAGE, 0)?;
    Ok(())
}

/// The transmitter process; killed and reaped if still running when dropped.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn wait_timeout(&mut self, timeout: Duration) -> AnyResult<()> {
        let deadline = Instant::now() + timeout;
        let child = self.0.as_mut().ok_or("no transmitter process")?;
        loop {
            if let Some(status) = child.try_wait()? {
                self.0 = None;
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("the transmitter failed ({status})").into())
                };
            }
            if Instant::now() > deadline {
                return Err(format!("the transmitter did not exit within {timeout:?}").into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if let Ok(None) = child.try_wait() {
                eprintln!("listener: stopping the transmitter (pid {})", child.id());
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

fn listener() -> AnyResult<()> {
    let name = format!("/mq_poll_{}", std::process::id());
    // Owned: removed at the end, and on every error path.
    let mq = MessageQueue::create_owned(&name, 2, 64)?;
    mq.set_block(false)?;
    println!(
        "listener: created queue {name} (descriptor {}), non-blocking: {}",
        mq.mqd(),
        !mq.block()?
    );
    println!(
        "listener: poll with a zero timeout on the empty queue: readable = {}",
        readable(&mq, Duration::ZERO)?
    );

    let mut child = ChildGuard(None);
    let process = Command::new(std::env::current_exe()?)
        .args(["--transmit", &name])
        .spawn()?;
    println!("listener: started the transmitter, pid {}", process.id());
    child.0 = Some(process);

    println!("listener: waiting in poll(POLLIN) ...");
    let started = Instant::now();
    if !readable(&mq, TIMEOUT)? {
        return Err(format!("nothing arrived within {TIMEOUT:?}").into());
    }
    println!(
        "listener: poll reported POLLIN after {:.0?}",
        started.elapsed()
    );
    // Readable, so this non-blocking receive does not fail with WouldBlock.
    let (message, priority) = mq.receive()?;
    println!(
        "listener: received {:?} (priority {priority})",
        String::from_utf8_lossy(&message)
    );
    if message != MESSAGE {
        return Err("unexpected message".into());
    }
    child.wait_timeout(TIMEOUT)?;
    mq.remove()?;
    println!("listener: removed queue {name}");
    println!("mq_poll: poll(2) woke up for the transmitter's message; queue removed");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => listener(),
        [flag, name] if flag == "--transmit" => transmitter(name),
        _ => Err("usage: mq_poll (the listener starts itself with --transmit NAME)".into()),
    };
    if let Err(e) = result {
        eprintln!("mq_poll: error: {e}");
        std::process::exit(1);
    }
}
