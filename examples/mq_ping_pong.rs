//! posix_ipc's demo2: the md5 ping-pong of demo1 over **message queues**, between two
//! processes.
//!
//! ```text
//! cargo run --release --example mq_ping_pong
//! cargo run --release --example mq_ping_pong -- --iterations 50
//! cargo run --release --example mq_ping_pong -- --to-conclusion /p2c --to-premise /c2p
//! cargo run --release --example mq_ping_pong -- --upstream             # posix_ipc's own protocol
//! ```
//!
//! # `--upstream`: posix_ipc's demo2 protocol, to pair with its `premise.py` and `conclusion.py`
//!
//! One queue, `/my_message_queue` (`--queue` changes it), made by Mrs. Premise with `O_CREX` and
//! posix_ipc's default sizes (`QUEUE_MESSAGES_MAX_DEFAULT` messages of
//! `QUEUE_MESSAGE_SIZE_MAX_DEFAULT` bytes), and `ITERATIONS` = 1000 (`--iterations`), as in the
//! demo's `params.txt`. Each side receives; while what it receives is its own last message it
//! sends it back and receives again (busy polling, as upstream); then it checks the md5 chain
//! and sends the md5 hex digest of what it received. Mrs. Premise closes and removes the queue
//! at the end. Either side pairs with theirs:
//!
//! ```text
//! python3 premise.py &  cargo run --example mq_ping_pong -- --upstream --role conclusion
//! cargo run --example mq_ping_pong -- --upstream --no-spawn &  python3 conclusion.py
//! ```
//!
//! # The default: two queues, no polling
//!
//! Run without `--role`, the program is Mrs. Premise: she creates two small queues (2 messages
//! of at most 64 bytes each), exclusively (`O_CREX`, mode 0600), under names unique to this run
//! (they contain the process id): one carries her messages to Mrs. Conclusion, the other the
//! replies. She sends a first string and starts this same program again as Mrs. Conclusion
//! (`--role conclusion`). For `--iterations` rounds (default 1000) each side receives the other's
//! message, checks that it is the md5 hex digest of what it sent last, and sends the md5 hex
//! digest of what it received.
//!
//! The upstream demo uses one queue, so each side keeps receiving its own message and sending it
//! back until the other side's arrives (busy polling, 100% CPU by design). With one queue per
//! direction nobody polls: a receive blocks until the reply is there.
//!
//! Mrs. Premise owns both queues ([`Owned`]): removed at the end, and also when anything fails; the
//! conclusion process is killed if it is still running then. No wait lasts more than 10 seconds.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use posix_ipc::{ErrorKind, MessageQueue, Owned};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const MAX_MESSAGES: usize = 2;
const MAX_MESSAGE_SIZE: usize = 64;
/// The longest a side waits for the other before giving up.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Premise,
    Conclusion,
}

struct Args {
    role: Role,
    to_conclusion: String,
    to_premise: String,
    iterations: u64,
    /// posix_ipc's demo2 protocol on one queue.
    upstream: bool,
    /// The queue of the upstream protocol.
    queue: String,
    /// Start our own conclusion (premise only).
    spawn: bool,
}

fn parse_args() -> AnyResult<Args> {
    let pid = std::process::id();
    let mut args = Args {
        role: Role::Premise,
        to_conclusion: format!("/mq_ping_pong_to_conclusion_{pid}"),
        to_premise: format!("/mq_ping_pong_to_premise_{pid}"),
        iterations: 1000,
        upstream: false,
        queue: "/my_message_queue".to_string(),
        spawn: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--to-conclusion" => args.to_conclusion = value()?,
            "--to-premise" => args.to_premise = value()?,
            "--iterations" => args.iterations = value()?.parse()?,
            "--queue" => args.queue = value()?,
            "--upstream" => args.upstream = true,
            "--no-spawn" => args.spawn = false,
            "--role" => {
                args.role = match value()?.as_str() {
                    "premise" => Role::Premise,
                    "conclusion" => Role::Conclusion,
                    other => return Err(format!("unknown role {other:?}").into()),
                }
            }
            _ => {
                return Err(format!(
                    "unknown argument {flag:?}; usage: mq_ping_pong [--to-conclusion NAME] \
                     [--to-premise NAME] [--iterations N] [--role premise|conclusion] \
                     [--upstream [--queue NAME] [--no-spawn]]"
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

fn show(text: &[u8]) -> String {
    String::from_utf8_lossy(text).into_owned()
}

/// Receives the other side's message, or explains why none came. `peer_gone` is asked every
/// 100 ms while nothing arrives, so that a dead peer is noticed at once.
fn receive(
    mq: &MessageQueue,
    who: &str,
    peer_gone: &mut dyn FnMut() -> AnyResult<Option<String>>,
) -> AnyResult<Vec<u8>> {
    let deadline = Instant::now() + PEER_TIMEOUT;
    loop {
        match mq.receive_timeout(Duration::from_millis(100)) {
            Ok((message, _priority)) => return Ok(message),
            Err(e) if e.kind() == ErrorKind::TimedOut => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(why) = peer_gone()? {
            // It may have sent its last message just before leaving.
            return match mq.try_receive() {
                Ok((message, _priority)) => Ok(message),
                Err(_) => Err(format!("{who}: {why} without sending on {}", mq.name()).into()),
            };
        }
        if Instant::now() > deadline {
            return Err(
                format!("{who}: no message on {} within {PEER_TIMEOUT:?}", mq.name()).into(),
            );
        }
    }
}

fn send(mq: &MessageQueue, message: &[u8]) -> AnyResult<()> {
    // The queue holds 2 messages and each side sends one per turn, so this never waits long.
    Ok(mq.send_timeout(message, 0, PEER_TIMEOUT)?)
}

fn check_chain(i: u64, what_i_sent: &[u8], received: &[u8]) -> AnyResult<()> {
    let expected = md5_hex(what_i_sent);
    if received != expected {
        return Err(format!(
            "broken md5 chain after {i} iterations: expected {:?}, received {:?}",
            show(&expected),
            show(received)
        )
        .into());
    }
    Ok(())
}

/// The conclusion process; killed and reaped if still running when dropped.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn gone(&mut self) -> AnyResult<Option<String>> {
        match &mut self.0 {
            Some(child) => Ok(child
                .try_wait()?
                .map(|status| format!("the conclusion exited ({status})"))),
            None => Ok(None),
        }
    }

    fn wait_timeout(&mut self, timeout: Duration) -> AnyResult<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.0.as_mut().ok_or("no conclusion process")?;
        loop {
            if let Some(status) = child.try_wait()? {
                self.0 = None;
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!("the conclusion did not exit within {timeout:?}").into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
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
    // Owned: removed when they go out of scope, on success and on every error path.
    let create = |name: &str| -> AnyResult<Owned<MessageQueue>> {
        let mq = MessageQueue::create_owned(name, MAX_MESSAGES, MAX_MESSAGE_SIZE)?;
        println!(
            "premise: created queue {name} ({} messages of at most {} bytes)",
            mq.max_messages(),
            mq.max_message_size()
        );
        Ok(mq)
    };
    let to_conclusion = create(&args.to_conclusion)?;
    let to_premise = create(&args.to_premise)?;

    let secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut what_i_sent =
        format!("Mrs. Premise, pid {}, {secs} s", std::process::id()).into_bytes();
    send(&to_conclusion, &what_i_sent)?;
    println!("premise: sent {:?}", show(&what_i_sent));

    let mut child = ChildGuard(Some(
        Command::new(std::env::current_exe()?)
            .args(["--role", "conclusion"])
            .args(["--to-conclusion", &args.to_conclusion])
            .args(["--to-premise", &args.to_premise])
            .args(["--iterations", &args.iterations.to_string()])
            .spawn()?,
    ));
    if let Some(c) = &child.0 {
        println!("premise: started the conclusion, pid {}", c.id());
    }

    let started = Instant::now();
    for i in 0..args.iterations {
        let reply = receive(&to_premise, "premise", &mut || child.gone())?;
        check_chain(i, &what_i_sent, &reply)?;
        what_i_sent = md5_hex(&reply);
        send(&to_conclusion, &what_i_sent)?;
        if (i + 1) % 250 == 0 || i + 1 == args.iterations {
            println!("premise: {} iterations verified", i + 1);
        }
    }
    let elapsed = started.elapsed();

    let status = child.wait_timeout(PEER_TIMEOUT)?;
    if !status.success() {
        return Err(format!("the conclusion failed ({status})").into());
    }
    // The owners remove the queues (the upstream demo closes, then unlinks by name).
    for q in [to_conclusion, to_premise] {
        let name = q.name().to_owned();
        q.remove()?;
        println!("premise: removed queue {name}");
    }
    println!(
        "mq_ping_pong: {} iterations, md5 chain verified, queues removed ({elapsed:.2?})",
        args.iterations
    );
    Ok(())
}

fn conclusion(args: &Args) -> AnyResult<()> {
    let inbox = MessageQueue::options()
        .write(false)
        .open(&args.to_conclusion)?;
    let outbox = MessageQueue::options().read(false).open(&args.to_premise)?;
    println!(
        "conclusion: opened {} (receiving) and {} (sending)",
        inbox.name(),
        outbox.name()
    );
    let mut what_i_sent: Vec<u8> = Vec::new();
    for i in 0..args.iterations {
        let message = receive(&inbox, "conclusion", &mut || Ok(None))?;
        if what_i_sent.is_empty() {
            println!("conclusion: received {:?}", show(&message));
        } else {
            check_chain(i, &what_i_sent, &message)?;
        }
        what_i_sent = md5_hex(&message);
        send(&outbox, &what_i_sent)?;
    }
    println!(
        "conclusion: {} iterations, every message verified, last sent {:?}",
        args.iterations,
        show(&what_i_sent)
    );
    Ok(())
}

/// Receives on the one queue of the upstream protocol; while the message is `mine` (the other
/// side has not answered yet) sends it back and receives again, as posix_ipc's demo does.
fn receive_theirs(
    mq: &MessageQueue,
    who: &str,
    mine: &[u8],
    peer_gone: &mut dyn FnMut() -> AnyResult<Option<String>>,
) -> AnyResult<Vec<u8>> {
    let mut s = receive(mq, who, peer_gone)?;
    while s == mine {
        send(mq, &s)?;
        s = receive(mq, who, peer_gone)?;
    }
    Ok(s)
}

fn upstream_premise(args: &Args) -> AnyResult<()> {
    // posix_ipc's MessageQueue(name, O_CREX) with its default sizes; removed on every way out.
    let mq = MessageQueue::create_owned(
        &args.queue,
        posix_ipc::QUEUE_MESSAGES_MAX_DEFAULT as usize,
        posix_ipc::QUEUE_MESSAGE_SIZE_MAX_DEFAULT as usize,
    )?;
    println!(
        "premise: created queue {} ({} messages of at most {} bytes)",
        mq.name(),
        mq.max_messages(),
        mq.max_message_size()
    );
    let secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut what_i_sent =
        format!("Mrs. Premise, pid {}, {secs} s", std::process::id()).into_bytes();
    send(&mq, &what_i_sent)?;
    println!("premise: sent {:?}", show(&what_i_sent));
    let mut child = ChildGuard(None);
    if args.spawn {
        let c = Command::new(std::env::current_exe()?)
            .args(["--upstream", "--role", "conclusion", "--queue", &args.queue])
            .args(["--iterations", &args.iterations.to_string()])
            .spawn()?;
        println!("premise: started the conclusion, pid {}", c.id());
        child.0 = Some(c);
    } else {
        println!("premise: waiting for a conclusion started elsewhere");
    }
    let started = Instant::now();
    for i in 0..args.iterations {
        let s = receive_theirs(&mq, "premise", &what_i_sent, &mut || child.gone())?;
        check_chain(i, &what_i_sent, &s)?;
        what_i_sent = md5_hex(&s);
        send(&mq, &what_i_sent)?;
        if (i + 1) % 250 == 0 || i + 1 == args.iterations {
            println!("premise: {} iterations verified", i + 1);
        }
    }
    let elapsed = started.elapsed();
    if child.0.is_some() {
        let status = child.wait_timeout(PEER_TIMEOUT)?;
        if !status.success() {
            return Err(format!("the conclusion failed ({status})").into());
        }
    }
    let name = mq.name().to_owned();
    // As upstream: close, then unlink (here: the owner removes it).
    mq.remove()?;
    println!(
        "mq_ping_pong: {} iterations on {name} (posix_ipc's protocol), md5 chain verified, queue \
         removed ({elapsed:.2?})",
        args.iterations
    );
    Ok(())
}

fn upstream_conclusion(args: &Args) -> AnyResult<()> {
    let mq = MessageQueue::open(&args.queue)?;
    println!("conclusion: opened {}", mq.name());
    let mut what_i_sent: Vec<u8> = Vec::new();
    for i in 0..args.iterations {
        let s = receive_theirs(&mq, "conclusion", &what_i_sent, &mut || Ok(None))?;
        if what_i_sent.is_empty() {
            // The first message is accepted without question.
            println!("conclusion: received {:?}", show(&s));
        } else {
            check_chain(i, &what_i_sent, &s)?;
        }
        what_i_sent = md5_hex(&s);
        send(&mq, &what_i_sent)?;
    }
    println!(
        "conclusion: {} iterations (posix_ipc's protocol), every message verified, last sent {:?}",
        args.iterations,
        show(&what_i_sent)
    );
    Ok(())
}

fn main() {
    let result = parse_args().and_then(|args| match (args.upstream, args.role) {
        (true, Role::Premise) => upstream_premise(&args),
        (true, Role::Conclusion) => upstream_conclusion(&args),
        (false, Role::Premise) => premise(&args),
        (false, Role::Conclusion) => conclusion(&args),
    });
    if let Err(e) = result {
        eprintln!("mq_ping_pong: error: {e}");
        std::process::exit(1);
    }
}
