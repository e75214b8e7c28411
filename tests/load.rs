//! Load (issue 6): 8 producer and 8 consumer processes exchange 100,000 typed messages over a
//! POSIX message queue, and the same over an MPMC shared-memory ring: 0 lost, 0 duplicated, 0
//! torn, per-producer order held, and priority order held for the queue.
//!
//! Every producer and consumer is a separate process (this test binary started again with
//! `common::spawn_child`). Consumers keep what they receive in memory and print it when they
//! are done, one `@load` line per message and an `@load-end` line with the count; the parent
//! reads every child's output on threads of its own (so no child ever blocks on a full pipe)
//! and checks the union of the streams:
//!
//! - every (producer, seq) exactly once, and nothing that was never sent;
//! - no torn or garbled message (two check words over all fields, and for the queue the
//!   priority the kernel reports must be the one the message says it was sent with);
//! - per-producer order within each consumer's stream. For the ring: strictly increasing seq.
//!   For the queue, a consumer that receives producer P's message `a` before P's earlier
//!   message `b` proves that `b` was still queued when `a` was taken, so the kernel must have
//!   preferred `a` for a strictly higher priority: a later seq of the same priority (FIFO
//!   broken) or of a lower priority (priority order broken) is counted as a violation;
//! - priority order proper, in rounds (`queue_priority_order_held_round_by_round`): the 8
//!   producers each send their share of a round (random priorities, at most the queue's
//!   capacity in all) while the consumers are held back on semaphores, then one consumer
//!   (rotating over the 8) drains the round, whose priorities must be non-increasing and FIFO
//!   per producer within a priority.
//!
//! Every wait, in the parent and in the children, has a timeout that turns into a failure; a
//! child that fails fails the test at once (the parent watches them all), and the remaining
//! children are killed and reaped before the panic unwinds past the cleanup guards, which
//! remove every queue, segment and semaphore.
//!
//! Sizes: `POSIX_IPC_LOAD_MESSAGES` (default 100,000 per test), `POSIX_IPC_LOAD_ROUNDS`
//! (default 1,000), `POSIX_IPC_LOAD_SEED` (priorities and round plans). Each test prints one
//! summary line (uncaptured) with what it measured.

mod common;

use std::io::{Read, Write};
use std::process::Child;
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::typed::RING_MAX_PEERS;
use posix_ipc::{
    ErrorKind, IpcMessage, Receiver, RingMode, RingReceiver, RingSender, Semaphore, Sender,
    Timeout, QUEUE_PRIORITY_MAX,
};

const PRODUCERS: usize = 8;
const CONSUMERS: usize = 8;
/// `fs.mqueue.msg_max` is 10 without CAP_SYS_RESOURCE.
const QUEUE_SLOTS: usize = 10;
const RING_SLOTS: usize = 64;
/// Data priorities in the free-running queue test are 1..=QUEUE_LEVELS; stop sentinels are 0.
const QUEUE_LEVELS: u32 = 4;
/// Messages per round: the queue's capacity, so a round's sends never wait.
const ROUND_MESSAGES: usize = QUEUE_SLOTS;
/// `producer` of a stop sentinel.
const STOP: u32 = u32::MAX;
/// The longest any single wait may take, in a child or in the parent.
const WAIT: Duration = Duration::from_secs(30);
/// How often a waiting parent looks for children that failed.
const POLL: Duration = Duration::from_millis(100);
/// Backstop for waiting on children to finish.
const DEADLINE: Duration = Duration::from_secs(60);
const MARK: &str = "@load ";
const END: &str = "@load-end ";
const SENT: &str = "@load-sent ";

/// One message of the load. `check` covers every other field, so a torn or garbled message
/// is detected.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Load {
    producer: u32,
    /// The priority it was sent with (0 over the ring).
    priority: u32,
    /// Per-producer sequence number, from 0.
    seq: u64,
    /// The round of the priority test (0 elsewhere).
    round: u64,
    check: [u64; 2],
}

/// splitmix64's finaliser: a cheap, well-mixed hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn check_words(producer: u32, priority: u32, seq: u64, round: u64) -> [u64; 2] {
    let a = mix((u64::from(producer) << 32 | u64::from(priority)) ^ mix(seq ^ mix(round)));
    [a, !a.rotate_left(29) ^ seq]
}

fn load(producer: u32, priority: u32, seq: u64, round: u64) -> Load {
    Load {
        producer,
        priority,
        seq,
        round,
        check: check_words(producer, priority, seq, round),
    }
}

/// Whether the check words agree with the other fields.
fn intact(m: &Load) -> bool {
    m.check == check_words(m.producer, m.priority, m.seq, m.round)
}

/// The priority of producer `p`'s message `seq` in the free-running queue test: 1..=4.
fn queue_priority(seed: u64, p: u32, seq: u64) -> u32 {
    1 + (mix(seed ^ mix(u64::from(p) << 40 ^ seq)) % u64::from(QUEUE_LEVELS)) as u32
}

/// Round `r` of the priority test: the producer and priority of each of its messages (a
/// producer sends its messages in this order). Half the priorities come from 0..=3, so equal
/// priorities (and with them FIFO) are common; the other half from the whole range.
fn round_plan(seed: u64, r: u64) -> [(u32, u32); ROUND_MESSAGES] {
    std::array::from_fn(|k| {
        let x = mix(seed ^ mix(r * ROUND_MESSAGES as u64 + k as u64 + 1));
        let producer = (x % PRODUCERS as u64) as u32;
        let y = x >> 16;
        let priority = if y & 1 == 0 {
            (y >> 1) % 4
        } else {
            (y >> 1) % (u64::from(QUEUE_PRIORITY_MAX) + 1)
        };
        (producer, priority as u32)
    })
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

fn total_messages() -> u64 {
    env_u64("POSIX_IPC_LOAD_MESSAGES", 100_000)
}

fn seed() -> u64 {
    env_u64("POSIX_IPC_LOAD_SEED", 0x10ad_5eed)
}

/// Producer `p`'s share of `total`.
fn share(total: u64, p: usize) -> u64 {
    total / PRODUCERS as u64 + u64::from((p as u64) < total % PRODUCERS as u64)
}

/// The tests of this file run one at a time: each already runs 16 processes on the machine,
/// and the throughput figures should not measure the other tests.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// --- child processes ----------------------------------------------------------------------------

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    let arg = |i: usize| -> &str {
        args.get(i)
            .unwrap_or_else(|| panic!("{role}: argument {i} missing in {args:?}"))
    };
    let num = |i: usize| -> u64 {
        arg(i)
            .parse()
            .unwrap_or_else(|_| panic!("{role}: argument {i} is not a number: {args:?}"))
    };
    match role.as_str() {
        "queue-produce" => {
            queue_producer(arg(0), arg(1), arg(2), num(3) as u32, num(4), num(5));
        }
        "queue-consume" => queue_consumer(arg(0), arg(1), arg(2), num(3) as u32),
        "ring-produce" => ring_producer(arg(0), arg(1), arg(2), num(3) as u32, num(4)),
        "ring-consume" => ring_consumer(arg(0), arg(1), arg(2), num(3) as u32),
        "round-produce" => round_producer(arg(0), arg(1), arg(2), num(3) as u32, num(4), num(5)),
        "round-consume" => round_consumer(arg(0), arg(1), arg(2), num(3) as u32, num(4)),
        other => panic!("unknown child role {other}"),
    }
}

/// A received message as a consumer reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rec {
    producer: u32,
    seq: u64,
    priority: u32,
    round: u64,
}

/// Prints what a consumer received (in the order received) and how many torn messages it saw.
fn report(got: &[Rec], torn: u64) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // A fresh line first: the test harness may have printed "test child_entry ... " already.
    writeln!(out).unwrap();
    for r in got {
        writeln!(
            out,
            "{MARK}{} {} {} {}",
            r.producer, r.seq, r.priority, r.round
        )
        .unwrap();
    }
    writeln!(out, "{END}{} {torn}", got.len()).unwrap();
    out.flush().unwrap();
}

/// Prints how many messages a producer sent.
fn report_sent(n: u64) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n{SENT}{n}").unwrap();
    out.flush().unwrap();
}

/// Says this child is ready, then waits for the parent's start signal.
fn start(ready: &str, go: &str, who: &str) {
    let ready = Semaphore::open(ready).unwrap_or_else(|e| panic!("{who}: {e}"));
    let go = Semaphore::open(go).unwrap_or_else(|e| panic!("{who}: {e}"));
    ready.release().unwrap_or_else(|e| panic!("{who}: {e}"));
    go.acquire_timeout(WAIT)
        .unwrap_or_else(|e| panic!("{who}: waiting for the start signal: {e}"));
}

fn queue_producer(queue: &str, ready: &str, go: &str, id: u32, count: u64, seed: u64) {
    let who = format!("queue producer {id}");
    let tx = Sender::<Load>::open(queue).unwrap_or_else(|e| panic!("{who}: {e}"));
    start(ready, go, &who);
    let mut sent = 0;
    for seq in 0..count {
        let priority = queue_priority(seed, id, seq);
        tx.send_with(&load(id, priority, seq, 0), priority, WAIT)
            .unwrap_or_else(|e| panic!("{who}: sending seq {seq}: {e}"));
        sent += 1;
    }
    report_sent(sent);
}

fn queue_consumer(queue: &str, ready: &str, go: &str, id: u32) {
    let who = format!("queue consumer {id}");
    let rx = Receiver::<Load>::open(queue).unwrap_or_else(|e| panic!("{who}: {e}"));
    start(ready, go, &who);
    let mut got = Vec::with_capacity(1 << 15);
    let mut torn = 0;
    loop {
        let (m, priority) = rx
            .recv_with(WAIT)
            .unwrap_or_else(|e| panic!("{who}: after {} messages: {e}", got.len()));
        if !intact(&m) || m.priority != priority {
            torn += 1;
            continue;
        }
        if m.producer == STOP {
            break;
        }
        got.push(Rec {
            producer: m.producer,
            seq: m.seq,
            priority,
            round: m.round,
        });
    }
    report(&got, torn);
}

fn ring_producer(ring: &str, ready: &str, go: &str, id: u32, count: u64) {
    let who = format!("ring producer {id}");
    let tx = RingSender::<Load>::open(ring).unwrap_or_else(|e| panic!("{who}: {e}"));
    start(ready, go, &who);
    let mut sent = 0;
    for seq in 0..count {
        tx.send_timeout(&load(id, 0, seq, 0), WAIT)
            .unwrap_or_else(|e| panic!("{who}: sending seq {seq}: {e}"));
        sent += 1;
    }
    report_sent(sent);
    // Dropping `tx` deregisters: once every producer has, the consumers drain the ring and
    // then get Disconnected.
}

fn ring_consumer(ring: &str, ready: &str, go: &str, id: u32) {
    let who = format!("ring consumer {id}");
    let rx = RingReceiver::<Load>::open(ring).unwrap_or_else(|e| panic!("{who}: {e}"));
    start(ready, go, &who);
    let mut got = Vec::with_capacity(1 << 15);
    let mut torn = 0;
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(m) if intact(&m) => got.push(Rec {
                producer: m.producer,
                seq: m.seq,
                priority: m.priority,
                round: m.round,
            }),
            Ok(_) => torn += 1,
            Err(e) if e.kind() == ErrorKind::Disconnected => break,
            Err(e) => panic!("{who}: after {} messages: {e}", got.len()),
        }
    }
    report(&got, torn);
}

fn round_producer(queue: &str, turn: &str, sent: &str, id: u32, rounds: u64, seed: u64) {
    let who = format!("round producer {id}");
    let tx = Sender::<Load>::open(queue).unwrap_or_else(|e| panic!("{who}: {e}"));
    let turn = Semaphore::open(turn).unwrap_or_else(|e| panic!("{who}: {e}"));
    let sent = Semaphore::open(sent).unwrap_or_else(|e| panic!("{who}: {e}"));
    let mut seq = 0;
    for r in 0..rounds {
        turn.acquire_timeout(WAIT)
            .unwrap_or_else(|e| panic!("{who}: waiting for round {r}: {e}"));
        for (p, priority) in round_plan(seed, r) {
            if p == id {
                // The queue is empty when a round starts and a round fits in it: never wait.
                tx.send_with(&load(id, priority, seq, r), priority, Timeout::Immediate)
                    .unwrap_or_else(|e| panic!("{who}: round {r}, seq {seq}: {e}"));
                seq += 1;
            }
        }
        sent.release().unwrap_or_else(|e| panic!("{who}: {e}"));
    }
    report_sent(seq);
}

fn round_consumer(queue: &str, turn: &str, drained: &str, id: u32, rounds: u64) {
    let who = format!("round consumer {id}");
    let rx = Receiver::<Load>::open(queue).unwrap_or_else(|e| panic!("{who}: {e}"));
    let turn = Semaphore::open(turn).unwrap_or_else(|e| panic!("{who}: {e}"));
    let drained = Semaphore::open(drained).unwrap_or_else(|e| panic!("{who}: {e}"));
    let mut got = Vec::new();
    let mut torn = 0;
    for r in (u64::from(id)..rounds).step_by(CONSUMERS) {
        turn.acquire_timeout(WAIT)
            .unwrap_or_else(|e| panic!("{who}: waiting for round {r}: {e}"));
        // Every message of the round was queued before the parent gave this consumer its
        // turn: take everything there is, without waiting; the parent checks the count.
        loop {
            match rx.recv_with(Timeout::Immediate) {
                Ok((m, priority)) if intact(&m) && m.priority == priority => got.push(Rec {
                    producer: m.producer,
                    seq: m.seq,
                    priority,
                    round: r,
                }),
                Ok(_) => torn += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{who}: round {r}: {e}"),
            }
        }
        drained.release().unwrap_or_else(|e| panic!("{who}: {e}"));
    }
    report(&got, torn);
}

// --- the parent's side: children, waits, reports ------------------------------------------------

/// The children of one test. Their output is read on threads (a consumer prints a few hundred
/// kilobytes); a child that has finished is reaped and checked. Dropping this (also while a
/// failure unwinds) kills and reaps every child still running.
struct Kids {
    procs: Vec<Option<Child>>,
    labels: Vec<String>,
    /// A child's stdout once it has exited successfully.
    outputs: Vec<Option<String>>,
    tx: mpsc::Sender<(usize, Vec<u8>, Vec<u8>)>,
    rx: mpsc::Receiver<(usize, Vec<u8>, Vec<u8>)>,
}

impl Kids {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Kids {
            procs: Vec::new(),
            labels: Vec::new(),
            outputs: Vec::new(),
            tx,
            rx,
        }
    }

    fn spawn(&mut self, label: String, role: &str, args: &[&str]) -> usize {
        let mut child = common::spawn_child("child_entry", role, args);
        let id = self.procs.len();
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            let errors = std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = stderr.read_to_end(&mut bytes);
                bytes
            });
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            let err = errors.join().unwrap_or_default();
            // Both pipes are closed: the child has exited. The parent may be gone already.
            let _ = tx.send((id, out, err));
        });
        self.procs.push(Some(child));
        self.labels.push(label);
        self.outputs.push(None);
        id
    }

    /// Reaps a child whose pipes closed; panics (killing the others) if it failed.
    fn finished(&mut self, (id, out, err): (usize, Vec<u8>, Vec<u8>)) {
        let mut child = self.procs[id].take().expect("a child finishes once");
        let status = child.wait().expect("reap a child");
        let out = String::from_utf8_lossy(&out).into_owned();
        if !status.success() {
            let tail: String = {
                let chars: Vec<char> = out.chars().collect();
                chars[chars.len().saturating_sub(2000)..].iter().collect()
            };
            panic!(
                "{} failed with {status}\nstderr:\n{}\nstdout (last 2000 characters):\n{tail}",
                self.labels[id],
                String::from_utf8_lossy(&err)
            );
        }
        self.outputs[id] = Some(out);
    }

    /// Checks, without waiting, for children that finished; panics if one failed.
    fn check(&mut self) {
        while let Ok(done) = self.rx.try_recv() {
            self.finished(done);
        }
    }

    fn running(&self) -> String {
        let names: Vec<&str> = (0..self.procs.len())
            .filter(|&i| self.procs[i].is_some())
            .map(|i| self.labels[i].as_str())
            .collect();
        format!("still running: {}", names.join(", "))
    }

    /// Waits until every child of `ids` has exited successfully (panics on a failure or after
    /// `DEADLINE`).
    fn wait(&mut self, ids: &[usize], what: &str) {
        let deadline = Instant::now() + DEADLINE;
        while ids.iter().any(|&i| self.outputs[i].is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(done) => self.finished(done),
                Err(_) => panic!(
                    "timed out after {DEADLINE:?} waiting for {what} to finish; {}",
                    self.running()
                ),
            }
        }
    }

    /// Acquires `sem`, watching for children that fail meanwhile; panics after `WAIT`.
    fn acquire(&mut self, sem: &Semaphore, what: impl Fn() -> String) {
        let start = Instant::now();
        loop {
            match sem.acquire_timeout(POLL) {
                Ok(()) => return,
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                    self.check();
                    if start.elapsed() >= WAIT {
                        panic!(
                            "timed out after {WAIT:?} waiting for {}; {}",
                            what(),
                            self.running()
                        );
                    }
                }
                Err(e) => panic!("waiting for {}: {e}", what()),
            }
        }
    }

    /// How many messages producer `id` says it sent.
    fn sent(&self, id: usize) -> u64 {
        let label = &self.labels[id];
        let out = self.outputs[id].as_deref().expect("the child has finished");
        let line = out
            .lines()
            .find_map(|l| l.find(SENT).map(|i| &l[i + SENT.len()..]))
            .unwrap_or_else(|| panic!("{label}: no {SENT:?} line in its output:\n{out}"));
        line.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{label}: malformed {SENT:?} line {line:?}"))
    }

    /// The report of consumer `id`: its records in the order received, and its torn count.
    fn report(&self, id: usize) -> (Vec<Rec>, u64) {
        let label = &self.labels[id];
        let out = self.outputs[id].as_deref().expect("the child has finished");
        let mut recs = Vec::new();
        let mut end = None;
        let numbers = |text: &str, line: &str| -> Vec<u64> {
            text.split_whitespace()
                .map(|w| {
                    w.parse()
                        .unwrap_or_else(|_| panic!("{label}: malformed report line {line:?}"))
                })
                .collect()
        };
        for line in out.lines() {
            if let Some(i) = line.find(END) {
                let f = numbers(&line[i + END.len()..], line);
                assert_eq!(f.len(), 2, "{label}: malformed report line {line:?}");
                end = Some((f[0], f[1]));
            } else if let Some(i) = line.find(MARK) {
                let f = numbers(&line[i + MARK.len()..], line);
                assert_eq!(f.len(), 4, "{label}: malformed report line {line:?}");
                recs.push(Rec {
                    producer: u32::try_from(f[0]).expect("producer id"),
                    seq: f[1],
                    priority: u32::try_from(f[2]).expect("priority"),
                    round: f[3],
                });
            }
        }
        let (count, torn) =
            end.unwrap_or_else(|| panic!("{label}: its report has no end line:\n{out}"));
        assert_eq!(
            count,
            recs.len() as u64,
            "{label}: its report announces {count} messages but has {}",
            recs.len()
        );
        (recs, torn)
    }
}

impl Drop for Kids {
    fn drop(&mut self) {
        for child in self.procs.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the union of the consumers' streams shows.
#[derive(Default)]
struct Tally {
    received: u64,
    lost: u64,
    duplicated: u64,
    /// Records of a producer, seq or priority that was never sent.
    unknown: u64,
    /// A producer's later message of the same priority received before an earlier one.
    fifo: u64,
    /// A producer's later message of a lower priority received before an earlier one.
    priority: u64,
    /// Messages received after a later message of a higher priority from the same producer:
    /// legitimate reordering by the queue (0 over the ring).
    overtaken: u64,
    /// Fewest and most messages one consumer received.
    spread: (usize, usize),
    problems: Vec<String>,
}

impl Tally {
    fn note(&mut self, problem: String) {
        if self.problems.len() < 5 {
            self.problems.push(problem);
        }
    }

    fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.unknown == 0
            && self.fifo == 0
            && self.priority == 0
    }
}

/// Checks the consumers' streams: every message of producer `p` (`counts[p]` of them, seqs
/// from 0) exactly once, and per-producer order within each stream (see the module docs;
/// priorities must be below `levels`; with one level this is "strictly increasing seq").
fn check_streams(streams: &[(String, Vec<Rec>)], counts: &[u64], levels: usize) -> Tally {
    let mut t = Tally::default();
    let mut seen: Vec<Vec<u8>> = counts.iter().map(|&n| vec![0; n as usize]).collect();
    let lengths = streams.iter().map(|(_, recs)| recs.len());
    t.spread = (
        lengths.clone().min().unwrap_or(0),
        lengths.max().unwrap_or(0),
    );
    for (label, recs) in streams {
        // The highest seq received so far in this stream, per producer and priority.
        let mut high = vec![vec![None::<u64>; levels]; counts.len()];
        for r in recs {
            t.received += 1;
            let (p, y) = (r.producer as usize, r.priority as usize);
            if p >= counts.len() || r.seq >= counts[p] || y >= levels {
                t.unknown += 1;
                t.note(format!("{label} received {r:?}, which was never sent"));
                continue;
            }
            let times = &mut seen[p][r.seq as usize];
            *times = times.saturating_add(1);
            if *times > 1 {
                t.duplicated += 1;
                t.note(format!("{label} received producer {p} seq {} again", r.seq));
            }
            if let Some(h) = high[p][y].filter(|&h| h > r.seq) {
                t.fifo += 1;
                t.note(format!(
                    "{label} received producer {p} seq {} (priority {y}) after its seq {h} of \
                     the same priority",
                    r.seq
                ));
            } else if let Some((q, h)) = (0..y)
                .filter_map(|q| high[p][q].map(|h| (q, h)))
                .find(|&(_, h)| h > r.seq)
            {
                t.priority += 1;
                t.note(format!(
                    "{label} received producer {p} seq {} (priority {y}) after its later seq {h} \
                     of the lower priority {q}",
                    r.seq
                ));
            } else if high[p].iter().flatten().any(|&h| h > r.seq) {
                t.overtaken += 1;
            }
            high[p][y] = Some(high[p][y].map_or(r.seq, |h| h.max(r.seq)));
        }
    }
    for (p, times) in seen.iter().enumerate() {
        for (seq, &n) in times.iter().enumerate() {
            if n == 0 {
                t.lost += 1;
                t.note(format!("producer {p} seq {seq} was never received"));
            }
        }
    }
    t
}

fn per_second(n: u64, d: Duration) -> u64 {
    (n as f64 / d.as_secs_f64()) as u64
}

fn spawn_all(
    kids: &mut Kids,
    n: usize,
    what: &str,
    role: &str,
    args: impl Fn(usize) -> Vec<String>,
) -> Vec<usize> {
    (0..n)
        .map(|i| {
            let args = args(i);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            kids.spawn(format!("{what} {i}"), role, &args)
        })
        .collect()
}

// --- the queue, free-running ----------------------------------------------------------------

#[test]
fn queue_8_producers_8_consumers_100k_messages_lose_duplicate_and_reorder_nothing() {
    let _serial = serial();
    let total = total_messages();
    let seed = seed();
    let counts: Vec<u64> = (0..PRODUCERS).map(|p| share(total, p)).collect();
    let (queue, _gq) = guarded(Kind::Mq, "load-queue");
    let (ready, _gr) = guarded(Kind::Sem, "load-queue-ready");
    let (go, _gg) = guarded(Kind::Sem, "load-queue-go");
    let tx = Sender::<Load>::create(&queue, QUEUE_SLOTS).unwrap();
    let ready_sem = Semaphore::create(&ready, 0).unwrap();
    let go_sem = Semaphore::create(&go, 0).unwrap();
    let mut kids = Kids::new();
    let producers = spawn_all(
        &mut kids,
        PRODUCERS,
        "queue producer",
        "queue-produce",
        |p| {
            vec![
                queue.clone(),
                ready.clone(),
                go.clone(),
                p.to_string(),
                counts[p].to_string(),
                seed.to_string(),
            ]
        },
    );
    let consumers = spawn_all(
        &mut kids,
        CONSUMERS,
        "queue consumer",
        "queue-consume",
        |c| vec![queue.clone(), ready.clone(), go.clone(), c.to_string()],
    );
    for n in 0..PRODUCERS + CONSUMERS {
        kids.acquire(&ready_sem, || {
            format!(
                "the children to open the queue ({n} of {} ready)",
                PRODUCERS + CONSUMERS
            )
        });
    }
    let start = Instant::now();
    for _ in 0..PRODUCERS + CONSUMERS {
        go_sem.release().unwrap();
    }
    kids.wait(&producers, "the queue producers");
    // Every data message is queued (or already taken): stop sentinels of priority 0 sort after
    // all of them, and each consumer stops at the first it gets.
    for c in 0..CONSUMERS {
        let began = Instant::now();
        loop {
            match tx.send_with(&load(STOP, 0, 0, 0), 0, POLL) {
                Ok(()) => break,
                Err(e) if e.kind() == ErrorKind::TimedOut && began.elapsed() < WAIT => {
                    kids.check();
                }
                Err(e) => panic!("sending stop sentinel {c}: {e}; {}", kids.running()),
            }
        }
    }
    kids.wait(&consumers, "the queue consumers");
    let elapsed = start.elapsed();
    let left = tx.queue().current_messages().unwrap();

    let mut torn = 0;
    let streams: Vec<(String, Vec<Rec>)> = consumers
        .iter()
        .map(|&c| {
            let (recs, t) = kids.report(c);
            torn += t;
            (kids.labels[c].clone(), recs)
        })
        .collect();
    let sent: u64 = producers.iter().map(|&p| kids.sent(p)).sum();
    let t = check_streams(&streams, &counts, QUEUE_LEVELS as usize + 1);
    let order = if t.fifo == 0 && t.priority == 0 {
        "held"
    } else {
        "BROKEN"
    };
    common::say(&format!(
        "load queue: {PRODUCERS} producers x {}, {CONSUMERS} consumers (each received {} to {}), \
         priorities 1..={QUEUE_LEVELS} (seed {seed:#x}): {sent} sent, {} received, {} lost, {} \
         duplicated, {} unknown, {torn} torn, per-producer order {order} ({} out of FIFO within a \
         priority, {} behind a later message of a lower priority; {} rightly overtaken by a \
         higher priority); {:.3} s, {} messages/s",
        counts[0],
        t.spread.0,
        t.spread.1,
        t.received,
        t.lost,
        t.duplicated,
        t.unknown,
        t.fifo,
        t.priority,
        t.overtaken,
        elapsed.as_secs_f64(),
        per_second(t.received, elapsed),
    ));
    assert!(
        t.clean() && torn == 0 && left == 0,
        "the queue load failed ({torn} torn, {left} left in the queue); first problems:\n{}",
        t.problems.join("\n")
    );
}

// --- the queue, round by round: priority order -------------------------------------------------

#[test]
fn queue_priority_order_held_round_by_round() {
    let _serial = serial();
    let rounds = env_u64("POSIX_IPC_LOAD_ROUNDS", 1000);
    let seed = seed();
    let (queue, _gq) = guarded(Kind::Mq, "load-rounds");
    let (sent, _gs) = guarded(Kind::Sem, "load-rounds-sent");
    let (drained, _gd) = guarded(Kind::Sem, "load-rounds-drained");
    let producer_turns: Vec<_> = (0..PRODUCERS)
        .map(|p| guarded(Kind::Sem, &format!("load-rounds-p{p}")))
        .collect();
    let consumer_turns: Vec<_> = (0..CONSUMERS)
        .map(|c| guarded(Kind::Sem, &format!("load-rounds-c{c}")))
        .collect();
    // The parent holds the queue open (and creates it for `Load`); it never sends in this test.
    let tx = Sender::<Load>::create(&queue, QUEUE_SLOTS).unwrap();
    let sent_sem = Semaphore::create(&sent, 0).unwrap();
    let drained_sem = Semaphore::create(&drained, 0).unwrap();
    let p_sems: Vec<Semaphore> = producer_turns
        .iter()
        .map(|(n, _)| Semaphore::create(n, 0).unwrap())
        .collect();
    let c_sems: Vec<Semaphore> = consumer_turns
        .iter()
        .map(|(n, _)| Semaphore::create(n, 0).unwrap())
        .collect();
    let mut kids = Kids::new();
    let producers = spawn_all(
        &mut kids,
        PRODUCERS,
        "round producer",
        "round-produce",
        |p| {
            vec![
                queue.clone(),
                producer_turns[p].0.clone(),
                sent.clone(),
                p.to_string(),
                rounds.to_string(),
                seed.to_string(),
            ]
        },
    );
    let consumers = spawn_all(
        &mut kids,
        CONSUMERS,
        "round consumer",
        "round-consume",
        |c| {
            vec![
                queue.clone(),
                consumer_turns[c].0.clone(),
                drained.clone(),
                c.to_string(),
                rounds.to_string(),
            ]
        },
    );
    let start = Instant::now();
    for r in 0..rounds {
        // The producers send their shares while every consumer waits for its turn ...
        for s in &p_sems {
            s.release().unwrap();
        }
        for n in 0..PRODUCERS {
            kids.acquire(&sent_sem, || {
                format!("the producers' sends of round {r} ({n} of {PRODUCERS} done)")
            });
        }
        // ... then one consumer, a different one each round, takes the whole round.
        c_sems[r as usize % CONSUMERS].release().unwrap();
        kids.acquire(&drained_sem, || {
            format!(
                "round consumer {} to drain round {r}",
                r as usize % CONSUMERS
            )
        });
    }
    let all: Vec<usize> = producers.iter().chain(&consumers).copied().collect();
    kids.wait(&all, "the round producers and consumers");
    let elapsed = start.elapsed();
    let left = tx.queue().current_messages().unwrap();

    // What each round should hold: (producer, seq, priority), seqs counted per producer.
    let mut next = [0u64; PRODUCERS];
    let mut expected: Vec<Vec<Rec>> = (0..rounds)
        .map(|r| {
            round_plan(seed, r)
                .iter()
                .map(|&(p, priority)| {
                    let seq = next[p as usize];
                    next[p as usize] += 1;
                    Rec {
                        producer: p,
                        seq,
                        priority,
                        round: r,
                    }
                })
                .collect()
        })
        .collect();
    let mut received: Vec<Vec<Rec>> = vec![Vec::new(); rounds as usize];
    let mut torn = 0;
    let mut misrouted = 0u64;
    for (c, &id) in consumers.iter().enumerate() {
        let (recs, t) = kids.report(id);
        torn += t;
        for r in recs {
            if r.round >= rounds || r.round as usize % CONSUMERS != c {
                misrouted += 1;
                continue;
            }
            received[r.round as usize].push(r);
        }
    }
    let (mut lost, mut duplicated, mut inversions, mut fifo, mut messages) = (0, 0, 0, 0, 0);
    let mut problems = Vec::new();
    for (r, got) in received.iter().enumerate() {
        messages += got.len() as u64;
        for (i, a) in got.iter().enumerate() {
            if let Some(b) = got.get(i + 1) {
                if b.priority > a.priority {
                    inversions += 1;
                    problems.push(format!(
                        "round {r}: priority {} received before priority {}",
                        a.priority, b.priority
                    ));
                }
            }
            for b in &got[i + 1..] {
                if b.producer == a.producer && b.priority == a.priority && b.seq < a.seq {
                    fifo += 1;
                    problems.push(format!(
                        "round {r}: producer {} seq {} received after its seq {} of the same \
                         priority {}",
                        a.producer, b.seq, a.seq, a.priority
                    ));
                }
            }
        }
        // The round's messages as a multiset, against the plan.
        let mut got = got.clone();
        got.sort_unstable();
        let want = &mut expected[r];
        want.sort_unstable();
        let (mut i, mut j) = (0, 0);
        while i < got.len() || j < want.len() {
            if j == want.len() || (i < got.len() && got[i] < want[j]) {
                duplicated += 1;
                problems.push(format!("round {r}: {:?} received but not sent", got[i]));
                i += 1;
            } else if i == got.len() || want[j] < got[i] {
                lost += 1;
                problems.push(format!("round {r}: {:?} sent but not received", want[j]));
                j += 1;
            } else {
                i += 1;
                j += 1;
            }
        }
    }
    let sent_total: u64 = producers.iter().map(|&p| kids.sent(p)).sum();
    common::say(&format!(
        "load queue priority: {PRODUCERS} producer and {CONSUMERS} consumer processes, {rounds} \
         rounds of {ROUND_MESSAGES} messages (random priorities 0..={QUEUE_PRIORITY_MAX}, seed \
         {seed:#x}), each drained by one consumer in turn: {sent_total} sent, {messages} \
         received, {lost} lost, {duplicated} duplicated or unknown, {torn} torn, inversions \
         {inversions}, {fifo} out of FIFO within a priority; {:.3} s, {} rounds/s",
        elapsed.as_secs_f64(),
        per_second(rounds, elapsed),
    ));
    problems.truncate(5);
    assert!(
        lost == 0
            && duplicated == 0
            && torn == 0
            && inversions == 0
            && fifo == 0
            && misrouted == 0
            && left == 0,
        "priority order failed ({misrouted} reported for another consumer's round, {left} left \
         in the queue); first problems:\n{}",
        problems.join("\n")
    );
}

// --- the ring ---------------------------------------------------------------------------------

#[test]
fn ring_mpmc_8_producers_8_consumers_100k_messages_lose_duplicate_and_reorder_nothing() {
    let _serial = serial();
    // The creator's own handle is a registered consumer until it is dropped below.
    const { assert!(PRODUCERS <= RING_MAX_PEERS && CONSUMERS < RING_MAX_PEERS) };
    let total = total_messages();
    let counts: Vec<u64> = (0..PRODUCERS).map(|p| share(total, p)).collect();
    let (ring, _gring) = guarded(Kind::Shm, "load-ring");
    let (ready, _gr) = guarded(Kind::Sem, "load-ring-ready");
    let (go, _gg) = guarded(Kind::Sem, "load-ring-go");
    let own = RingReceiver::<Load>::create(&ring, RING_SLOTS, RingMode::Mpmc).unwrap();
    let ready_sem = Semaphore::create(&ready, 0).unwrap();
    let go_sem = Semaphore::create(&go, 0).unwrap();
    let mut kids = Kids::new();
    let producers = spawn_all(&mut kids, PRODUCERS, "ring producer", "ring-produce", |p| {
        vec![
            ring.clone(),
            ready.clone(),
            go.clone(),
            p.to_string(),
            counts[p].to_string(),
        ]
    });
    let consumers = spawn_all(&mut kids, CONSUMERS, "ring consumer", "ring-consume", |c| {
        vec![ring.clone(), ready.clone(), go.clone(), c.to_string()]
    });
    // Every child registers in the ring before it says it is ready, so no consumer can see
    // "every producer gone" before the last producer has finished.
    for n in 0..PRODUCERS + CONSUMERS {
        kids.acquire(&ready_sem, || {
            format!(
                "the children to open the ring ({n} of {} ready)",
                PRODUCERS + CONSUMERS
            )
        });
    }
    // The creator's handle is registered as a consumer too: drop it, so that only the consumer
    // processes count (were they all to die, a producer blocked on a full ring would get
    // Disconnected at once). The name stays until the guard removes it.
    drop(own);
    let start = Instant::now();
    for _ in 0..PRODUCERS + CONSUMERS {
        go_sem.release().unwrap();
    }
    kids.wait(&producers, "the ring producers");
    kids.wait(&consumers, "the ring consumers");
    let elapsed = start.elapsed();

    let mut torn = 0;
    let streams: Vec<(String, Vec<Rec>)> = consumers
        .iter()
        .map(|&c| {
            let (recs, t) = kids.report(c);
            torn += t;
            (kids.labels[c].clone(), recs)
        })
        .collect();
    let sent: u64 = producers.iter().map(|&p| kids.sent(p)).sum();
    let t = check_streams(&streams, &counts, 1);
    let order = if t.fifo == 0 { "held" } else { "BROKEN" };
    common::say(&format!(
        "load ring (MPMC, {RING_SLOTS} slots): {PRODUCERS} producers x {}, {CONSUMERS} \
         consumers (each received {} to {}): {sent} sent, {} received, {} lost, {} \
         duplicated, {} unknown, {torn} torn, per-producer order {order} ({} out of order); \
         {:.3} s, {} messages/s",
        counts[0],
        t.spread.0,
        t.spread.1,
        t.received,
        t.lost,
        t.duplicated,
        t.unknown,
        t.fifo,
        elapsed.as_secs_f64(),
        per_second(t.received, elapsed),
    ));
    assert!(
        t.clean() && torn == 0,
        "the ring load failed ({torn} torn); first problems:\n{}",
        t.problems.join("\n")
    );
}
