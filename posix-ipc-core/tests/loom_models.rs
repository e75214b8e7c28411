//! Model checks (loom) of the index and cursor protocols of the SPSC ring, the MPMC ring and
//! publish-subscribe: in-process models that follow the segment protocols documented in
//! `posix_ipc::typed::ring` and `posix_ipc::typed::pubsub` step by step, with loom's atomics for
//! the shared words and loom's `UnsafeCell` for payloads, so that loom explores the interleavings
//! of 2 or 3 actors on capacities of 2 and reports any payload written while another actor
//! reads it (a data race), besides the assertions of each model (nothing lost, duplicated,
//! reordered or torn, lag counted exactly).
//!
//! What they leave out: the real code runs on words of a mapped segment, not on these types,
//! so a divergence between a model and the code is not caught here (the integration tests run
//! the code); peers dying is modelled as an actor that stops at a chosen step, and liveness
//! (`/proc`) as a flag; futex sleeping and waking are left out (loom's yields stand in for
//! waits); capacities and sample counts are small.

use loom::cell::UnsafeCell;
use loom::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering::*};
use loom::sync::Arc;
use loom::thread;

/// Explores every interleaving with up to `bound` preemptions.
fn model_bounded(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    b.check(f);
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(3, f);
}

// --- SPSC ring -------------------------------------------------------------------------------

/// The SPSC ring of `typed::ring`: `tail` published by the producer, `head` by the consumer,
/// slot `i % capacity` written while `tail - head < capacity`, read while `head < tail`.
struct Spsc {
    head: AtomicU64,
    tail: AtomicU64,
    slots: [UnsafeCell<u64>; 2],
}

impl Spsc {
    fn new() -> Spsc {
        Spsc {
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            slots: [UnsafeCell::new(0), UnsafeCell::new(0)],
        }
    }

    fn send(&self, value: u64, publish: bool) {
        let tail = self.tail.load(Relaxed);
        while tail - self.head.load(Acquire) >= 2 {
            thread::yield_now();
        }
        self.slots[(tail % 2) as usize].with_mut(|p| {
            // SAFETY: the slot is the producer's until it publishes `tail + 1` (loom checks).
            unsafe { *p = value }
        });
        if publish {
            self.tail.store(tail + 1, Release);
        }
    }

    fn try_recv(&self) -> Option<u64> {
        let head = self.head.load(Relaxed);
        if head >= self.tail.load(Acquire) {
            return None;
        }
        // SAFETY: the slot is the consumer's until it publishes `head + 1` (loom checks).
        let v = self.slots[(head % 2) as usize].with(|p| unsafe { *p });
        self.head.store(head + 1, Release);
        Some(v)
    }
}

#[test]
fn spsc_ring_delivers_every_message_once_in_order_without_a_race() {
    model(|| {
        let ring = Arc::new(Spsc::new());
        let p = ring.clone();
        let producer = thread::spawn(move || {
            for v in 1..=3 {
                p.send(v, true);
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            match ring.try_recv() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
    });
}

#[test]
fn spsc_ring_never_shows_a_message_whose_producer_stopped_mid_write() {
    model(|| {
        let ring = Arc::new(Spsc::new());
        let p = ring.clone();
        let producer = thread::spawn(move || {
            p.send(1, true);
            // Writes the second message and stops before publishing it (killed).
            p.send(2, false);
        });
        let mut got = Vec::new();
        for _ in 0..3 {
            if let Some(v) = ring.try_recv() {
                got.push(v);
            }
            thread::yield_now();
        }
        producer.join().unwrap();
        while let Some(v) = ring.try_recv() {
            got.push(v);
        }
        assert_eq!(got, [1], "only the published message, whole");
    });
}

// --- MPMC ring -------------------------------------------------------------------------------

/// The MPMC ring of `typed::ring`: per slot `{seq, stamp}` and the message; producers claim
/// index `i` by a compare-and-swap of the tail when `seq == i`, write, store `stamp = i + 1`
/// and `seq = i + 1`; consumers claim when `seq == i + 1`, read, accept only if
/// `stamp == i + 1`, and release with `seq = i + capacity`. Each producer keeps a busy marker
/// (`MAX` while claiming, `i + 1` while it works on index `i`, 0 otherwise); a slot claimed
/// by a producer that died is published with the seq alone by a repair, but only if no live
/// producer's marker is on it, so its stale stamp marks it skipped.
struct Mpmc {
    head: AtomicU64,
    tail: AtomicU64,
    seq: [AtomicU64; 2],
    stamp: [AtomicU64; 2],
    slots: [UnsafeCell<u64>; 2],
    busy: [AtomicU64; 2],
    /// Producer `k` has died (what the liveness check in `/proc` would say).
    dead: [AtomicBool; 2],
}

impl Mpmc {
    fn new() -> Mpmc {
        Mpmc {
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            seq: [AtomicU64::new(0), AtomicU64::new(1)],
            stamp: [AtomicU64::new(0), AtomicU64::new(0)],
            slots: [UnsafeCell::new(0), UnsafeCell::new(0)],
            busy: [AtomicU64::new(0), AtomicU64::new(0)],
            dead: [AtomicBool::new(false), AtomicBool::new(false)],
        }
    }

    /// Producer `k` claims the next index (waiting for room); returns it.
    fn claim_send(&self, k: usize) -> u64 {
        self.busy[k].store(u64::MAX, Relaxed);
        fence(SeqCst);
        loop {
            let pos = self.tail.load(Relaxed);
            let seq = self.seq[(pos % 2) as usize].load(Acquire);
            if seq == pos
                && self
                    .tail
                    .compare_exchange(pos, pos + 1, AcqRel, Relaxed)
                    .is_ok()
            {
                self.busy[k].store(pos + 1, Relaxed);
                return pos;
            }
            thread::yield_now();
        }
    }

    fn publish(&self, k: usize, pos: u64, value: u64) {
        let s = (pos % 2) as usize;
        // SAFETY: the slot is this producer's from its claim until it stores `seq` (loom checks).
        self.slots[s].with_mut(|p| unsafe { *p = value });
        self.stamp[s].store(pos + 1, Release);
        self.seq[s].store(pos + 1, Release);
        self.busy[k].store(0, Release);
    }

    /// If the next index was claimed and not published, and no live producer is claiming or
    /// working on it, publishes it with the seq alone.
    fn repair(&self) {
        let pos = self.head.load(Acquire);
        let s = (pos % 2) as usize;
        if self.tail.load(Acquire) <= pos || self.seq[s].load(Acquire) != pos {
            return;
        }
        fence(SeqCst);
        for k in 0..2 {
            let b = self.busy[k].load(Relaxed);
            if (b == u64::MAX || b == pos + 1) && !self.dead[k].load(Acquire) {
                return;
            }
        }
        let _ = self.seq[s].compare_exchange(pos, pos + 1, AcqRel, Relaxed);
    }

    /// One consumer step: `Some(Some(v))` a message, `Some(None)` a skipped slot, `None` nothing
    /// to take now (after trying a repair).
    fn try_recv(&self) -> Option<Option<u64>> {
        let pos = self.head.load(Relaxed);
        let s = (pos % 2) as usize;
        let seq = self.seq[s].load(Acquire);
        if seq != pos + 1
            || self
                .head
                .compare_exchange(pos, pos + 1, AcqRel, Relaxed)
                .is_err()
        {
            self.repair();
            return None;
        }
        let valid = self.stamp[s].load(Acquire) == pos + 1;
        // SAFETY: the slot is this consumer's from its claim until it releases `seq`.
        let v = valid.then(|| self.slots[s].with(|p| unsafe { *p }));
        self.seq[s].store(pos + 2, Release);
        Some(v)
    }
}

#[test]
fn mpmc_ring_two_producers_each_message_exactly_once_without_a_race() {
    model(|| {
        let ring = Arc::new(Mpmc::new());
        let producers: Vec<_> = [10u64, 20]
            .into_iter()
            .enumerate()
            .map(|(k, v)| {
                let r = ring.clone();
                thread::spawn(move || {
                    let pos = r.claim_send(k);
                    r.publish(k, pos, v);
                })
            })
            .collect();
        let mut got = Vec::new();
        while got.len() < 2 {
            match ring.try_recv() {
                Some(Some(v)) => got.push(v),
                Some(None) => panic!("a live producer's message was skipped"),
                None => thread::yield_now(),
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [10, 20]);
    });
}

#[test]
fn mpmc_ring_skips_the_slot_of_a_producer_that_died_after_claiming_it() {
    model(|| {
        let ring = Arc::new(Mpmc::new());
        let r1 = ring.clone();
        let dying = thread::spawn(move || {
            let _claimed = r1.claim_send(0);
            // Killed between the claim and the write: its liveness check now fails.
            r1.dead[0].store(true, Release);
        });
        let r2 = ring.clone();
        let live = thread::spawn(move || {
            let pos = r2.claim_send(1);
            r2.publish(1, pos, 7);
        });
        let (mut got, mut skipped) = (Vec::new(), 0);
        while got.len() + skipped < 2 {
            match ring.try_recv() {
                Some(Some(v)) => got.push(v),
                Some(None) => skipped += 1,
                None => thread::yield_now(),
            }
        }
        dying.join().unwrap();
        live.join().unwrap();
        assert_eq!(
            (got, skipped),
            (vec![7], 1),
            "the live message once, the dead slot skipped"
        );
    });
}

// --- publish-subscribe -----------------------------------------------------------------------

const CAP: u64 = 2;
/// `capacity + max_subscribers + 1` with one subscriber.
const BUFFERS: usize = 4;

/// The topic of `typed::pubsub`: a log of `CAP` entries `{stamp, buffer}`, buffers with holder
/// bits, the tail, and one subscriber's cursor (index of its next sample + 1).
struct Topic {
    tail: AtomicU64,
    stamp: [AtomicU64; CAP as usize],
    buffer: [AtomicU64; CAP as usize],
    holders: [AtomicU64; BUFFERS],
    /// Payload in place (held reads): loom reports a write during a held read.
    payload: [UnsafeCell<u64>; BUFFERS],
    /// The same payload as two atomic words (copy reads, a seqlock).
    words: [[AtomicU64; 2]; BUFFERS],
    cursor: AtomicU64,
    block: bool,
}

fn value(index: u64) -> u64 {
    index * 1000 + 17
}

impl Topic {
    fn new(block: bool) -> Topic {
        Topic {
            tail: AtomicU64::new(0),
            stamp: std::array::from_fn(|_| AtomicU64::new(0)),
            buffer: std::array::from_fn(|_| AtomicU64::new(0)),
            holders: std::array::from_fn(|_| AtomicU64::new(0)),
            payload: std::array::from_fn(|_| UnsafeCell::new(0)),
            words: std::array::from_fn(|_| [AtomicU64::new(0), AtomicU64::new(0)]),
            cursor: AtomicU64::new(1),
            block,
        }
    }
}

/// The publisher: its free list and retired list are its own.
struct Pub {
    t: Arc<Topic>,
    free: Vec<u64>,
    retired: Vec<u64>,
    tail: u64,
}

impl Pub {
    fn new(t: Arc<Topic>) -> Pub {
        Pub {
            t,
            free: (0..BUFFERS as u64).rev().collect(),
            retired: Vec::new(),
            tail: 0,
        }
    }

    fn loan(&mut self) -> u64 {
        if self.t.block {
            // Wait while the subscriber has not read the sample to be overwritten.
            loop {
                fence(SeqCst);
                let c = self.t.cursor.load(Acquire);
                if c == 0 || self.tail - (c - 1).min(self.tail) < CAP {
                    break;
                }
                thread::yield_now();
            }
        }
        loop {
            if let Some(b) = self.free.pop() {
                return b;
            }
            // One fence for the batch: every invalidation before it, ahead of the holder
            // checks. The bits are read one word at a time, so a subscriber moving from one
            // buffer to another can look as if it held both: pass again (as the publisher does).
            fence(SeqCst);
            let (t, free) = (&self.t, &mut self.free);
            self.retired.retain(|&b| {
                let busy = t.holders[b as usize].load(Acquire) != 0;
                if !busy {
                    free.push(b);
                }
                busy
            });
            if self.free.is_empty() {
                thread::yield_now();
            }
        }
    }

    fn write(&self, b: u64, v: u64, whole: bool) {
        // SAFETY: a loaned buffer is the publisher's alone (loom checks).
        self.t.payload[b as usize].with_mut(|p| unsafe { *p = v });
        self.t.words[b as usize][0].store(v, Relaxed);
        if whole {
            self.t.words[b as usize][1].store(v, Relaxed);
        }
    }

    fn publish(&mut self, b: u64) {
        let t = &self.t;
        let i = self.tail;
        let e = (i % CAP) as usize;
        let (old_stamp, old) = (t.stamp[e].load(Relaxed), t.buffer[e].load(Relaxed));
        t.stamp[e].store(0, Relaxed);
        t.buffer[e].store(b, Release);
        t.stamp[e].store(i + 1, Release);
        t.tail.store(i + 1, Release);
        self.tail = i + 1;
        if old_stamp != 0 && old != b {
            self.retired.push(old);
        }
    }

    fn send(&mut self, index: u64) {
        let b = self.loan();
        self.write(b, value(index), true);
        self.publish(b);
    }
}

/// One receive attempt: `Ok(Some(v))` a sample, `Ok(None)` nothing yet, `Err(missed)` a lag.
/// `hold` reads in place under the holder bit; otherwise a seqlock copy of the two words.
fn try_recv(t: &Topic, next: &mut u64, hold: bool) -> Result<Option<u64>, u64> {
    loop {
        let c = *next;
        let e = (c % CAP) as usize;
        if t.stamp[e].load(Acquire) == c + 1 {
            let b = t.buffer[e].load(Acquire) as usize;
            let got = if hold {
                t.holders[b].fetch_or(1, Relaxed);
                fence(SeqCst);
                let ok = t.stamp[e].load(Relaxed) == c + 1;
                // SAFETY: held: the publisher does not write this buffer (loom checks).
                let v = ok.then(|| t.payload[b].with(|p| unsafe { *p }));
                t.holders[b].fetch_and(!1, Release);
                v
            } else {
                let (w0, w1) = (t.words[b][0].load(Relaxed), t.words[b][1].load(Relaxed));
                fence(Acquire);
                (t.stamp[e].load(Relaxed) == c + 1).then(|| {
                    assert_eq!(w0, w1, "a torn copy was accepted");
                    w0
                })
            };
            if let Some(v) = got {
                assert_eq!(v, value(c), "sample {c} has another sample's bytes");
                *next = c + 1;
                t.cursor.store(c + 2, Release);
                return Ok(Some(v));
            }
        }
        let tail = t.tail.load(Acquire);
        if c >= tail {
            return Ok(None);
        }
        if t.stamp[e].load(Acquire) == c + 1 {
            continue;
        }
        let resume = (tail + 1).saturating_sub(CAP).max(c + 1);
        *next = resume;
        t.cursor.store(resume + 1, Release);
        return Err(resume - c);
    }
}

/// A subscriber that reads until it has accounted for `n` samples: (received, missed).
fn subscribe(t: &Topic, n: u64, hold: bool) -> (Vec<u64>, u64) {
    let (mut next, mut got, mut missed) = (0, Vec::new(), 0);
    while (got.len() as u64) + missed < n {
        match try_recv(t, &mut next, hold) {
            Ok(Some(v)) => got.push(v),
            Ok(None) => thread::yield_now(),
            Err(m) => missed += m,
        }
    }
    (got, missed)
}

/// Five samples with four buffers: the fifth loan finds the free list empty and frees what
/// the third and fourth retired (the buffers of samples 0 and 1), so a hold that did not keep
/// its buffer would race with the write of sample 4. The first two samples are published
/// before the subscriber starts (it reads them as history), which keeps the model small.
fn pubsub_case(block: bool, hold: bool) {
    const N: u64 = 5;
    model_bounded(2, move || {
        let t = Arc::new(Topic::new(block));
        let mut p = Pub::new(t.clone());
        p.send(0);
        p.send(1);
        let publisher = thread::spawn(move || {
            for i in 2..N {
                p.send(i);
            }
        });
        let (got, missed) = subscribe(&t, N, hold);
        publisher.join().unwrap();
        assert_eq!(got.len() as u64 + missed, N, "lag counted exactly");
        if block {
            let all: Vec<u64> = (0..N).map(value).collect();
            assert_eq!(got, all, "nothing lost in Block");
        }
        // In order, each at most once.
        assert!(got.windows(2).all(|w| w[0] < w[1]));
    });
}

#[test]
fn pubsub_block_in_place_loses_nothing_and_never_writes_a_held_buffer() {
    pubsub_case(true, true);
}

#[test]
fn pubsub_overwrite_in_place_counts_lag_exactly_and_never_writes_a_held_buffer() {
    pubsub_case(false, true);
}

#[test]
fn pubsub_overwrite_copies_never_accept_a_torn_sample() {
    pubsub_case(false, false);
}

#[test]
fn pubsub_a_publisher_that_stops_mid_write_shows_only_whole_samples() {
    model(|| {
        let t = Arc::new(Topic::new(true));
        let mut p = Pub::new(t.clone());
        let publisher = thread::spawn(move || {
            p.send(0);
            // Loans and half-writes sample 1, then is killed.
            let b = p.loan();
            p.write(b, value(1), false);
        });
        let (got, _) = subscribe(&t, 1, true);
        assert_eq!(got, [value(0)]);
        // While (or after) the half-write: neither a hold nor a copy sees sample 1.
        let (mut a, mut b) = (1, 1);
        assert_eq!(try_recv(&t, &mut a, false), Ok(None));
        publisher.join().unwrap();
        assert_eq!(
            try_recv(&t, &mut b, true),
            Ok(None),
            "the half-written one never"
        );
        let mut c = 0;
        assert_eq!(
            try_recv(&t, &mut c, false),
            Ok(Some(value(0))),
            "a copy of the whole one"
        );
    });
}
