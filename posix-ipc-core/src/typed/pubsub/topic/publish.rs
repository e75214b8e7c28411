//! [`PubCore`]: the publisher's side of the protocol (loans, publishing, retiring buffers).

use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use super::Policy;
use crate::cancel::{CancelToken, Stops};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::sys;
use crate::timeout::Deadline;
use crate::typed::peers::MAX_PEERS;
use crate::typed::signal::Backoff;

use super::*;

/// The publisher's side.
pub(crate) struct PubCore {
    pub(in crate::typed::pubsub) topic: Topic,
    pub(super) entry: usize,
    pub(in crate::typed::pubsub) cancel: Option<CancelToken>,
    /// Buffers no entry refers to and no subscriber holds (the most recently freed last).
    pub(super) free: Vec<u64>,
    /// Buffers no entry refers to that a subscriber still held when last checked.
    pub(super) retired: Vec<u64>,
    /// The next index to publish (this publisher is the tail's only writer).
    pub(super) tail: u64,
    /// The lowest cursor of the waited-for subscribers, as last scanned (`Block`).
    pub(super) min_cache: u64,
    pub(super) stopped_since: [Option<Instant>; MAX_PEERS],
    /// This publisher's generation: the topic's publishers before it, plus 1.
    pub(in crate::typed::pubsub) generation: u64,
}

impl PubCore {
    pub(in crate::typed::pubsub) fn new(topic: Topic) -> Result<PubCore> {
        sys::membarrier_register();
        let name = topic.shm.name().to_owned();
        let taken = |pid: u32| {
            Error::new(
                ErrorKind::AlreadyExists,
                Operation::Open,
                object(&name),
                format!(
                    "the topic already has a live publisher (pid {pid}): a topic has one \
                     publisher at a time"
                ),
            )
        };
        let pubs = topic.publishers();
        if let Some(&pid) = pubs.live_pids().first() {
            topic.release_owner();
            return Err(taken(pid));
        }
        let Some(entry) = pubs.register() else {
            topic.release_owner();
            return Err(taken(0));
        };
        // Two publishers opening at once: both back off rather than both publish.
        let me = sys::getpid();
        if let Some(pid) = (0..MAX_PEERS)
            .filter(|&i| i != entry && pubs.alive(i))
            .map(|i| pubs.pid(i).load(Ordering::Acquire))
            .next()
        {
            pubs.deregister(entry);
            topic.release_owner();
            return Err(taken(if pid == me { me } else { pid }));
        }
        // What a previous publisher left: buffers entries refer to are in use, buffers
        // subscribers hold are retired, the rest are free.
        let mut used = vec![false; topic.buffers as usize];
        for e in 0..topic.capacity {
            if topic.stamp(e).load(Ordering::Acquire) != 0 {
                let b = topic.entry_buffer(e).load(Ordering::Acquire);
                if b < topic.buffers {
                    used[b as usize] = true;
                }
            }
        }
        let mut free = Vec::with_capacity(topic.buffers as usize);
        let mut retired = Vec::new();
        for b in (0..topic.buffers).rev() {
            if used[b as usize] {
                continue;
            }
            if topic.holders(b).load(Ordering::Acquire) != 0 {
                retired.push(b);
            } else {
                free.push(b);
            }
        }
        let tail = topic.tail().load(Ordering::Acquire);
        // A new generation: subscribers that follow restarts learn of it from the first sample
        // this publisher sends; sleeping ones look again.
        let generation = topic.generation().fetch_add(1, Ordering::AcqRel) + 1;
        topic.data_signal().wake_all();
        Ok(PubCore {
            generation,
            topic,
            entry,
            cancel: None,
            free,
            retired,
            tail,
            min_cache: tail,
            stopped_since: [None; MAX_PEERS],
        })
    }

    pub(in crate::typed::pubsub) fn status_entry(&self) -> Option<usize> {
        None
    }

    pub(in crate::typed::pubsub) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the next sample may be published now (`Overwrite`: always).
    #[inline]
    pub(super) fn has_room(&mut self) -> bool {
        if self.topic.policy == Policy::Overwrite
            || self.tail - self.min_cache < self.topic.capacity
        {
            return true;
        }
        self.min_cache = self.topic.min_cursor(self.tail);
        self.tail - self.min_cache < self.topic.capacity
    }

    /// A free buffer for the next sample, waiting (`Block`) until the slowest subscriber that
    /// is waited for leaves room.
    pub(in crate::typed::pubsub) fn loan(&mut self, deadline: Deadline) -> Result<u64> {
        if !self.has_room() {
            self.wait_room(deadline)?;
        }
        if let Some(b) = self.reuse_newest() {
            return Ok(b);
        }
        self.take_buffer()
    }

    /// For frames of [`REUSE_FROM`] bytes and more on a topic without history: the buffer of
    /// the newest sample once every subscriber has read it, so that the next frame is written
    /// into memory that is still in the caches (a ping-pong then touches one buffer per
    /// direction instead of `capacity + 1`). The newest sample's entry is invalidated first,
    /// as any entry is before its buffer is reused; no subscriber needs it (every cursor is
    /// past it, and one joining now starts at the tail).
    pub(super) fn reuse_newest(&mut self) -> Option<u64> {
        let t = &self.topic;
        if t.stride < REUSE_FROM || t.history != 0 || self.tail == 0 {
            return None;
        }
        let j = self.tail - 1;
        if t.stamp(j).load(Ordering::Acquire) != j + 1 {
            return None;
        }
        self.min_cache = t.min_cursor(self.tail);
        let b = t.entry_buffer(j).load(Ordering::Relaxed);
        if self.min_cache <= j || b >= t.buffers {
            return None;
        }
        t.stamp(j).store(0, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if t.holders(b).load(Ordering::Acquire) == 0 {
            Some(b)
        } else {
            self.retired.push(b);
            None
        }
    }

    pub(super) fn wait_room(&mut self, deadline: Deadline) -> Result<()> {
        let op = Operation::Send;
        let what = "the slowest subscriber has not read the oldest sample (Policy::Block)";
        let cancel = self.cancel.clone();
        let stops = Stops::of(cancel.as_ref());
        let mut backoff = Backoff::default();
        loop {
            if self.has_room() {
                return Ok(());
            }
            if deadline == Deadline::Now {
                self.drop_stalled();
                if self.has_room() {
                    return Ok(());
                }
                return Err(would_block(self.topic.shm.name(), op, what));
            }
            if backoff.busy() {
                continue;
            }
            if self.topic.truncated() {
                return Err(self.topic.truncated_error(op));
            }
            self.drop_stalled();
            if self.has_room() {
                return Ok(());
            }
            stops.check(op, || object(self.topic.shm.name()))?;
            let slice = match deadline.remaining() {
                None => return Err(timed_out(self.topic.shm.name(), op, what)),
                Some(left) => left.min(SLEEP_SLICE).min(self.topic.stall / 4),
            };
            let (topic, tail) = (&self.topic, self.tail);
            topic.space_signal().sleep(
                slice.max(Duration::from_millis(1)),
                || tail - topic.min_cursor(tail) < topic.capacity,
                stops,
            );
        }
    }

    /// Stops waiting for subscribers that hold the publisher back and are dead (their entries
    /// are freed, their loans come back) or stopped for longer than the stall timeout (they
    /// are evicted: they get [`ErrorKind::Lagged`] for what they miss when they go on).
    pub(super) fn drop_stalled(&mut self) {
        let topic = &self.topic;
        let now = Instant::now();
        let subs = topic.subscribers();
        for k in 0..topic.max_subscribers {
            let c = topic.cursor(k).load(Ordering::Acquire);
            let holding_back = c != 0
                && topic.evicted(k).load(Ordering::Acquire) == 0
                && self.tail - (c - 1).min(self.tail) >= topic.capacity;
            if !holding_back {
                self.stopped_since[k] = None;
                continue;
            }
            let pid = subs.pid(k).load(Ordering::Acquire);
            if !subs.alive(k) {
                if !topic.reap_subscriber(k) && pid == 0 {
                    // A cursor without a registration: a subscriber died between the two.
                    let _ =
                        topic
                            .cursor(k)
                            .compare_exchange(c, 0, Ordering::AcqRel, Ordering::Relaxed);
                }
                self.stopped_since[k] = None;
            } else if sys::process_stopped(pid) {
                let since = *self.stopped_since[k].get_or_insert(now);
                if now.duration_since(since) >= topic.stall {
                    topic.evicted(k).store(1, Ordering::Release);
                    self.stopped_since[k] = None;
                }
            } else {
                self.stopped_since[k] = None;
            }
        }
        self.min_cache = topic.min_cursor(self.tail);
    }

    /// Whether a loan would not wait (the async layer's readiness).
    #[cfg(feature = "tokio")]
    pub(in crate::typed::pubsub) fn ready_now(&mut self) -> bool {
        self.has_room() || {
            self.drop_stalled();
            self.has_room()
        }
    }

    /// Sleeps until there may be room or `timeout` passes (the async layer's wait), dropping
    /// dead and stalled subscribers as a blocking loan does.
    #[cfg(feature = "tokio")]
    pub(in crate::typed::pubsub) fn wait_writable(&mut self, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if self.ready_now() {
                return;
            }
            let left =
                deadline.map_or(SLEEP_SLICE, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return;
            }
            let (topic, tail) = (&self.topic, self.tail);
            topic.space_signal().sleep(
                left.min(SLEEP_SLICE)
                    .min(topic.stall / 4)
                    .max(Duration::from_millis(1)),
                || tail - topic.min_cursor(tail) < topic.capacity,
                Stops::of(None),
            );
        }
    }

    pub(super) fn take_buffer(&mut self) -> Result<u64> {
        if let Some(b) = self.free.pop() {
            return Ok(b);
        }
        // The buffers are counted so that one is always free, but holder bits are read one
        // word at a time: a subscriber that releases one buffer and then tries another (and
        // drops it on the stamp check) can look as if it held both. A few more passes see it.
        for pass in 0..RECYCLE_PASSES {
            self.recycle();
            if let Some(b) = self.free.pop() {
                return Ok(b);
            }
            if pass == RECYCLE_PASSES / 2 {
                for k in 0..MAX_PEERS {
                    self.topic.reap_subscriber(k);
                }
            }
            std::thread::yield_now();
        }
        self.free.pop().ok_or_else(|| {
            Error::new(
                ErrorKind::LimitExceeded,
                Operation::Send,
                object(self.topic.shm.name()),
                format!(
                    "all {} sample buffers of the topic are in use ({} in the log, the rest \
                     held by subscribers or loaned): a peer is not following the protocol",
                    self.topic.buffers, self.topic.capacity
                ),
            )
        })
    }

    /// Moves retired buffers that no subscriber holds any more to the free list. The fence
    /// orders every entry invalidation before it ahead of the holder checks (see the safety
    /// argument): one fence for a whole batch of retired buffers, none on the publish path.
    pub(super) fn recycle(&mut self) {
        fence(Ordering::SeqCst);
        let mut i = 0;
        while i < self.retired.len() {
            if self.topic.holders(self.retired[i]).load(Ordering::Acquire) == 0 {
                let b = self.retired.swap_remove(i);
                self.free.push(b);
            } else {
                i += 1;
            }
        }
    }

    /// Gives back a loaned buffer that was not published.
    pub(in crate::typed::pubsub) fn give_back(&mut self, buffer: u64) {
        self.free.push(buffer);
    }

    /// Publishes the loaned `buffer` holding `len` bytes as the next sample, published now.
    #[inline]
    pub(in crate::typed::pubsub) fn publish(&mut self, buffer: u64, len: usize) {
        self.publish_at(buffer, len, crate::timeout::now_ns());
    }

    /// Publishes a gap: `lost` samples that its source (a bridge, a replay) knows were lost
    /// before they reached this topic. It takes one entry and no buffer; subscribers report it
    /// as lag of `lost` samples.
    pub(in crate::typed::pubsub) fn publish_gap(&mut self, lost: u64, published: u64) {
        self.write_entry(GAP, lost, published);
    }

    /// Publishes the loaned `buffer` holding `len` bytes as the next sample, published at
    /// `published` (`CLOCK_MONOTONIC` ns).
    #[inline]
    pub(in crate::typed::pubsub) fn publish_at(&mut self, buffer: u64, len: usize, published: u64) {
        self.write_entry(buffer, len as u64, published);
    }

    #[inline]
    fn write_entry(&mut self, buffer: u64, len: u64, published: u64) {
        let t = &self.topic;
        let i = self.tail;
        let old_stamp = t.stamp(i).load(Ordering::Relaxed);
        let old_buffer = t.entry_buffer(i).load(Ordering::Relaxed);
        // Invalidate the entry first. The buffer it named is retired: it is freed only after a
        // `SeqCst` fence (in `take_buffer`, once for many) and a check of its holder bits, the
        // other half of a subscriber's "hold, fence, then re-check the stamp".
        t.stamp(i).store(0, Ordering::Relaxed);
        t.entry_buffer(i).store(buffer, Ordering::Release);
        t.entry_len(i).store(len, Ordering::Release);
        t.entry_generation(i)
            .store(self.generation, Ordering::Release);
        t.entry_published(i).store(published, Ordering::Release);
        t.stamp(i).store(i + 1, Ordering::Release);
        t.tail().store(i + 1, Ordering::Release);
        self.tail = i + 1;
        t.data_signal().wake();
        if old_stamp != 0 && old_buffer < t.buffers && old_buffer != buffer {
            self.retired.push(old_buffer);
        }
    }

    /// The first byte of a loaned buffer, writable.
    #[inline(always)]
    pub(in crate::typed::pubsub) fn payload_mut(&self, buffer: u64) -> *mut u8 {
        self.topic.payload(buffer).cast_mut()
    }
}

impl Drop for PubCore {
    fn drop(&mut self) {
        self.topic.publishers().deregister(self.entry);
        self.topic.release_owner();
        // Sleeping subscribers notice that the publisher has gone.
        self.topic.data_signal().wake_all();
    }
}
