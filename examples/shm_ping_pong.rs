//! posix_ipc's demo1, "Mrs. Premise and Mrs. Conclusion": a ping-pong between **two
//! processes** over a shared-memory segment guarded by a semaphore.
//!
//! ```text
//! cargo run --release --example shm_ping_pong
//! cargo run --release --example shm_ping_pong -- --iterations 50
//! cargo run --release --example shm_ping_pong -- --shm /four_yorkshiremen --sem /wuthering_heights
//! ```
//!
//! Run without `--role`, the program is Mrs. Premise: she creates the segment (4096 bytes) and
//! the semaphore (value 0), both exclusively (`O_CREX`, mode 0600) under names unique to this
//! run (they contain the process id; `--shm` and `--sem` override them), writes a string into
//! the segment and starts this same program again as Mrs. Conclusion (`--role conclusion`).
//! Then, for `--iterations` rounds (default 1000), each side, while holding the semaphore,
//! reads what the other wrote, checks that it is the md5 hex digest of what it wrote itself last
//! time, and writes the md5 hex digest of what it read. When nothing new is there yet it
//! releases the semaphore and acquires it again, exactly as the Python and C demos do.
//!
//! Strings in the segment are NUL-terminated, as in the C and Python demos, so either role
//! can talk to theirs: run `--role conclusion --shm /four_yorkshiremen --sem /wuthering_heights`
//! against their premise, or `--no-spawn` with those names to be the premise for their
//! conclusion (same `ITERATIONS` on both sides).
//!
//! Mrs. Premise owns both objects ([`Owned`]): they are removed at the end, and also when
//! anything fails; the conclusion process is killed if it is still running then. No wait lasts more than 10 seconds.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use posix_ipc::{Mapping, Owned, Semaphore, SharedMemory};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// `SHM_SIZE` of the upstream demo's `params.txt`.
const SHM_SIZE: u64 = 4096;
/// The longest a side waits for the other before giving up.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Premise,
    Conclusion,
}

struct Args {
    role: Role,
    shm: String,
    sem: String,
    iterations: u64,
    spawn: bool,
}

fn parse_args() -> AnyResult<Args> {
    let pid = std::process::id();
    let mut args = Args {
        role: Role::Premise,
        shm: format!("/shm_ping_pong_shm_{pid}"),
        sem: format!("/shm_ping_pong_sem_{pid}"),
        iterations: 1000,
        spawn: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--shm" => args.shm = value()?,
            "--sem" => args.sem = value()?,
            "--iterations" => args.iterations = value()?.parse()?,
            "--role" => {
                args.role = match value()?.as_str() {
                    "premise" => Role::Premise,
                    "conclusion" => Role::Conclusion,
                    other => return Err(format!("unknown role {other:?}").into()),
                }
            }
            "--no-spawn" => args.spawn = false,
            _ => {
                return Err(format!(
                    "unknown argument {flag:?}; usage: shm_ping_pong [--shm NAME] [--sem NAME] \
                     [--iterations N] [--role premise|conclusion] [--no-spawn]"
                )
                .into())
            }
        }
    }
    Ok(args)
}

fn md5_hex(data: &[u8]) -> Vec<u8> {
    format!("{:x}", Md5::digest(data)).into_bytes()
}

/// Writes `text` plus a NUL at the start of the segment (the demos' `write_to_memory`).
fn write_text(map: &Mapping, text: &[u8]) -> AnyResult<()> {
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text);
    buf.push(0);
    map.write_at(0, &buf)?;
    Ok(())
}

/// Reads the NUL-terminated string at the start of the segment (`read_from_memory`).
fn read_text(map: &Mapping) -> AnyResult<Vec<u8>> {
    let mut bytes = map.to_vec();
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or("the shared memory holds no NUL-terminated string")?;
    bytes.truncate(end);
    Ok(bytes)
}

fn show(text: &[u8]) -> String {
    String::from_utf8_lossy(text).into_owned()
}

fn acquire(sem: &Semaphore, who: &str) -> AnyResult<()> {
    sem.acquire_timeout(PEER_TIMEOUT).map_err(|e| {
        format!("{who}: the semaphore stayed taken for {PEER_TIMEOUT:?} (did the other side die holding it?): {e}").into()
    })
}

/// One side's turn, as in the demos: holding the semaphore, read until the text differs from
/// what this side wrote, releasing and re-acquiring the semaphore between reads so that the
/// other side can write. Returns holding the semaphore. `peer_ok` is called before every retry,
/// with the semaphore held.
fn wait_for_reply(
    map: &Mapping,
    sem: &Semaphore,
    what_i_wrote: &[u8],
    who: &str,
    peer_ok: &mut dyn FnMut() -> AnyResult<()>,
) -> AnyResult<Vec<u8>> {
    let deadline = Instant::now() + PEER_TIMEOUT;
    let mut s = read_text(map)?;
    while s == what_i_wrote {
        // Still holding the semaphore, so the other side cannot have written since the read:
        // if it is gone now, it left without replying.
        peer_ok()?;
        if Instant::now() > deadline {
            return Err(format!("{who}: no reply within {PEER_TIMEOUT:?}").into());
        }
        // Nothing new: give the other side another chance to respond.
        sem.release()?;
        // Not in the demos, and not needed for correctness: without it this loop can take the
        // semaphore straight back before the woken side runs, and a run takes seconds, not ms.
        std::thread::yield_now();
        acquire(sem, who)?;
        s = read_text(map)?;
    }
    Ok(s)
}

/// The conclusion process; killed and reaped if still running when dropped.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn exited(&mut self) -> AnyResult<Option<ExitStatus>> {
        match &mut self.0 {
            Some(child) => Ok(child.try_wait()?),
            None => Ok(None),
        }
    }

    fn wait_timeout(&mut self, timeout: Duration) -> AnyResult<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        while self.0.is_some() {
            if let Some(status) = self.exited()? {
                self.0 = None;
                return Ok(Some(status));
            }
            if Instant::now() > deadline {
                return Err(format!("the conclusion did not exit within {timeout:?}").into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(None)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if let Ok(None) = child.try_wait() {
                eprintln!("premise: stopping the conclusion (pid {})", child.id());
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

fn premise(args: &Args) -> AnyResult<()> {
    // Owned: both are removed when they go out of scope, on success and on every error path.
    let shm = SharedMemory::create_owned(&args.shm, SHM_SIZE)?;
    let sem = Semaphore::create_owned(&args.sem, 0)?;
    println!(
        "premise: created shared memory {} ({SHM_SIZE} bytes) and semaphore {} (value 0)",
        args.shm, args.sem
    );
    let map = shm.map()?;
    // As the demo does: the mapping stays valid after the descriptor is closed (and the closed
    // segment is still owned: removed by name at the end).
    let shm = Owned::new(shm.into_inner().close_fd()?);

    let secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut what_i_wrote = format!(
        "Mrs. Premise, pid {}, {secs} s after the epoch",
        std::process::id()
    )
    .into_bytes();
    write_text(&map, &what_i_wrote)?;
    println!("premise: wrote {:?}", show(&what_i_wrote));

    let mut child = ChildGuard(None);
    if args.spawn {
        let c = Command::new(std::env::current_exe()?)
            .args([
                "--role",
                "conclusion",
                "--shm",
                &args.shm,
                "--sem",
                &args.sem,
            ])
            .args(["--iterations", &args.iterations.to_string()])
            .spawn()?;
        println!("premise: started the conclusion, pid {}", c.id());
        child.0 = Some(c);
    } else {
        println!("premise: waiting for a conclusion started elsewhere");
    }

    let started = Instant::now();
    for i in 0..args.iterations {
        // Release the semaphore ... and wait for it to become available again.
        sem.release()?;
        acquire(&sem, "premise")?;
        let s = wait_for_reply(
            &map,
            &sem,
            &what_i_wrote,
            "premise",
            &mut || match child.exited()? {
                Some(status) => Err(format!("the conclusion exited early ({status})").into()),
                None => Ok(()),
            },
        )?;
        // What I read must be the md5 of what I wrote, or something has gone wrong.
        let expected = md5_hex(&what_i_wrote);
        if s != expected {
            return Err(format!(
                "shared memory corruption after {i} iterations: expected {:?}, read {:?}",
                show(&expected),
                show(&s)
            )
            .into());
        }
        // MD5 the reply and write it back to Mrs. Conclusion.
        what_i_wrote = md5_hex(&s);
        write_text(&map, &what_i_wrote)?;
        if (i + 1) % 250 == 0 || i + 1 == args.iterations {
            println!("premise: {} iterations verified", i + 1);
        }
    }
    let elapsed = started.elapsed();

    // Announce for one last time that the semaphore is free, so that Mrs. Conclusion can
    // finish; then wait for her (instead of the demo's 5-second sleep).
    sem.release()?;
    if let Some(status) = child.wait_timeout(PEER_TIMEOUT)? {
        if !status.success() {
            return Err(format!("the conclusion failed ({status})").into());
        }
    }
    acquire(&sem, "premise")?;
    drop(map);
    shm.remove()?;
    println!("premise: removed shared memory {}", args.shm);
    sem.release()?;
    sem.remove()?;
    println!("premise: removed semaphore {}", args.sem);
    println!(
        "shm_ping_pong: {} iterations, md5 chain verified, objects removed ({elapsed:.2?})",
        args.iterations
    );
    Ok(())
}

fn conclusion(args: &Args) -> AnyResult<()> {
    let shm = SharedMemory::open(&args.shm)?;
    let map = shm.map()?;
    drop(shm); // the demo's os.close(memory.fd): the mapping stays valid
    let sem = Semaphore::open(&args.sem)?;
    println!("conclusion: opened {} and {}", args.shm, args.sem);

    let mut what_i_wrote = Vec::new();
    for i in 0..args.iterations {
        acquire(&sem, "conclusion")?;
        let s = wait_for_reply(&map, &sem, &what_i_wrote, "conclusion", &mut || Ok(()))?;
        if !what_i_wrote.is_empty() {
            let expected = md5_hex(&what_i_wrote);
            if s != expected {
                return Err(format!(
                    "shared memory corruption after {i} iterations: expected {:?}, read {:?}",
                    show(&expected),
                    show(&s)
                )
                .into());
            }
        } else {
            println!("conclusion: read {:?}", show(&s));
        }
        what_i_wrote = md5_hex(&s);
        write_text(&map, &what_i_wrote)?;
        sem.release()?;
    }
    println!(
        "conclusion: {} iterations, every reply verified, last wrote {:?}",
        args.iterations,
        show(&what_i_wrote)
    );
    Ok(())
}

fn main() {
    let result = parse_args().and_then(|args| match args.role {
        Role::Premise => premise(&args),
        Role::Conclusion => conclusion(&args),
    });
    if let Err(e) = result {
        eprintln!("shm_ping_pong: error: {e}");
        std::process::exit(1);
    }
}
