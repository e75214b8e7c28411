//! [`SubCore`]: a subscriber's side of the protocol (joining, holding in place, copying out,
//! sleeping, leaving).

use std::sync::atomic::{fence, AtomicU64, Ordering};
#[cfg(feature = "tokio")]
use std::time::{Duration, Instant};

use super::Policy;
use crate::cancel::{CancelToken, Stops};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::sys;
use crate::timeout::Deadline;
use crate::typed::peers::{GoneCache, MAX_PEERS};
use crate::typed::signal::Backoff;

use super::*;

/// A subscriber's side.
pub(crate) struct SubCore {
    pub(in crate::typed::pubsub) topic: Topic,
    pub(super) entry: usize,
    pub(super) bit: u64,
    /// The next index to read.
    pub(super) next: u64,
    /// Samples below this index were published before this subscriber joined: losing them
    /// (history overwritten while joining) is not reported as lag.
    pub(super) joined_at: u64,
    pub(in crate::typed::pubsub) cancel: Option<CancelToken>,
    pub(super) held: Option<u64>,
    pub(super) gone: GoneCache,
    /// The generation of the publisher whose samples this subscriber receives.
    pub(in crate::typed::pubsub) generation: u64,
    /// Whether it has seen that publisher alive (at joining, or by a sample of it): only then
    /// is a new generation a restart to report.
    pub(super) followed: bool,
    /// Whether it follows restarts (see `SubscribeOptions::follow_restarts`).
    pub(super) follow: bool,
    /// Whether it reported [`ErrorKind::Disconnected`] for its generation's publisher.
    pub(super) gone_reported: bool,
    /// When the sample last taken (held or copied) was published: loaded with its entry, and
    /// valid once the taking re-checked the stamp.
    pub(in crate::typed::pubsub) published: u64,
    /// Whether a receive that waits spins before it sleeps (`SubscribeOptions::spin`).
    pub(in crate::typed::pubsub) spin: bool,
}

impl SubCore {
    pub(in crate::typed::pubsub) fn new(topic: Topic, follow: bool) -> Result<SubCore> {
        let history = topic.history;
        SubCore::join(topic, follow, history)
    }

    /// Joins `topic` as `options` say (following restarts, the cancel token, spinning).
    pub(in crate::typed::pubsub) fn with_options(
        topic: Topic,
        options: &super::super::SubscribeOptions,
    ) -> Result<SubCore> {
        let mut core = SubCore::new(topic, options.follows())?;
        core.cancel = options.token();
        core.spin = options.spins();
        Ok(core)
    }

    /// Joins with up to `history` of the live publisher's latest samples to start with.
    fn join(topic: Topic, follow: bool, history: u64) -> Result<SubCore> {
        sys::membarrier_register();
        let subs = topic.subscribers();
        let full = |n: usize, why: &str| {
            Error::new(
                ErrorKind::LimitExceeded,
                Operation::Open,
                object(topic.shm.name()),
                format!("the topic already has {n} live subscribers, {why}"),
            )
        };
        let k = subs
            .register()
            .ok_or_else(|| full(MAX_PEERS, "the most a topic admits"))?;
        if k >= topic.max_subscribers {
            subs.deregister(k);
            return Err(full(
                topic.max_subscribers,
                "the most it was created for (TopicOptions::max_subscribers, up to 32)",
            ));
        }
        // Holder bits a dead predecessor in this entry left are not ours.
        topic.clear_holder_bit(k);
        topic.evicted(k).store(0, Ordering::Release);
        // History is the live publisher's samples only: a dead or replaced publisher's are not
        // handed out as new.
        let generation = topic.generation().load(Ordering::Acquire);
        let publisher_alive = !topic.publishers().live_pids().is_empty();
        let t0 = topic.tail().load(Ordering::Acquire);
        let mut start = if publisher_alive {
            t0 - history.min(topic.capacity - 1).min(t0)
        } else {
            t0
        };
        while start < t0 && generation != 0 {
            let g = topic.entry_generation(start).load(Ordering::Acquire);
            if g == generation && topic.stamp(start).load(Ordering::Acquire) == start + 1 {
                break;
            }
            start += 1;
        }
        topic.cursor(k).store(start + 1, Ordering::SeqCst);
        // Pairs with the fence of the publisher's cursor scan: from the tail read after this
        // on, the publisher sees our cursor before it overwrites anything we still need.
        fence(Ordering::SeqCst);
        let joined_at = topic.tail().load(Ordering::Acquire);
        Ok(SubCore {
            bit: 1 << k,
            entry: k,
            next: start,
            joined_at,
            cancel: None,
            held: None,
            gone: GoneCache::default(),
            generation,
            followed: publisher_alive,
            follow,
            gone_reported: false,
            published: 0,
            spin: true,
            topic,
        })
    }

    pub(in crate::typed::pubsub) fn status_entry(&self) -> Option<usize> {
        Some(self.entry)
    }

    pub(in crate::typed::pubsub) fn generation(&self) -> u64 {
        self.generation
    }

    /// Releases the sample held, if any.
    #[inline]
    pub(in crate::typed::pubsub) fn release(&mut self) {
        if let Some(b) = self.held.take() {
            self.topic
                .holders(b)
                .fetch_and(!self.bit, Ordering::Release);
        }
    }

    /// Moves the cursor to `next` and tells a `Block` publisher waiting for room.
    #[inline(always)]
    pub(super) fn advance(&mut self, next: u64) {
        self.next = next;
        self.topic
            .cursor(self.entry)
            .store(next + 1, Ordering::Release);
        if self.topic.policy == Policy::Block {
            self.topic.space_signal().wake();
        }
    }

    /// One attempt at taking the next sample without waiting: `take(self, index, buffer,
    /// len)` accepts the sample (holding it, or copying it out) and says whether it was still
    /// there.
    #[inline]
    pub(super) fn attempt<R>(
        &mut self,
        mut take: impl FnMut(&mut Self, u64, u64, usize) -> Option<R>,
    ) -> Step<Result<R>> {
        let t = &self.topic;
        if t.evicted(self.entry).load(Ordering::Relaxed) != 0 {
            // The publisher stopped waiting for us while we were stopped: count us again.
            // What was overwritten meanwhile is found below.
            t.evicted(self.entry).store(0, Ordering::Release);
        }
        loop {
            let t = &self.topic;
            let c = self.next;
            let stamp = t.stamp(c).load(Ordering::Acquire);
            if stamp != 0 && stamp < c + 1 {
                // The entry still holds an earlier lap: sample `c` is not published yet. (While
                // polling, this entry is the one shared word looked at.)
                return Step::Wait;
            }
            if stamp == c + 1 {
                let b = t.entry_buffer(c).load(Ordering::Acquire);
                let len = t.entry_len(c).load(Ordering::Acquire);
                let g = t.entry_generation(c).load(Ordering::Acquire);
                let published = t.entry_published(c).load(Ordering::Acquire);
                if g > self.generation {
                    // Still sample `c`'s generation (not a rewrite's)?
                    if t.stamp(c).load(Ordering::Acquire) != c + 1 {
                        continue;
                    }
                    if let Some(e) = self.new_generation(g) {
                        return Step::Done(Err(e));
                    }
                }
                let t = &self.topic;
                if b == GAP {
                    // Samples lost before they reached this topic: still this entry's?
                    if t.stamp(c).load(Ordering::Acquire) != c + 1 {
                        continue;
                    }
                    self.followed = true;
                    self.advance(c + 1);
                    if len == 0 || c < self.joined_at {
                        // Nothing lost, or lost before this subscriber joined.
                        continue;
                    }
                    let name = self.topic.shm.name();
                    return Step::Done(Err(Error::new(
                        ErrorKind::Lagged,
                        Operation::Receive,
                        object(name),
                        format!(
                            "{len} samples were lost before they reached this topic (its \
                             publisher, a bridge or a replay, reported the gap): it resumes at \
                             sample {}",
                            c + 1
                        ),
                    )
                    .with_missed(len)));
                }
                if b < t.buffers && len <= t.max_payload as u64 {
                    self.published = published;
                    if let Some(r) = take(self, c, b, len as usize) {
                        self.followed = true;
                        self.advance(c + 1);
                        return Step::Done(Ok(r));
                    }
                }
            }
            let t = &self.topic;
            let tail = t.tail().load(Ordering::Acquire);
            if c >= tail {
                return Step::Wait;
            }
            let s = t.stamp(c).load(Ordering::Acquire);
            if s == c + 1 {
                continue;
            }
            // Sample `c` was published and is gone (overwritten), or its entry is damaged:
            // resume at the oldest sample that is surely still there.
            let resume = (tail + 1).saturating_sub(t.capacity).max(c + 1);
            let missed = resume.saturating_sub(c.max(self.joined_at));
            self.advance(resume);
            if missed == 0 {
                continue;
            }
            let err = Error::new(
                ErrorKind::Lagged,
                Operation::Receive,
                object(self.topic.shm.name()),
                format!(
                    "this subscriber fell behind and {missed} samples were overwritten before \
                     it read them (the topic keeps {}): it resumes at sample {resume}",
                    self.topic.capacity
                ),
            )
            .with_missed(missed);
            return Step::Done(Err(err));
        }
    }

    /// The next sample is the first of publisher generation `g`: the error to report first, if
    /// any. A subscriber that follows restarts gets [`ErrorKind::Restarted`]; one that does
    /// not gets [`ErrorKind::Disconnected`] (its publisher has gone) unless it already did;
    /// one that never saw a publisher alive takes the new one's samples as its first. The next
    /// receive returns the sample.
    fn new_generation(&mut self, g: u64) -> Option<Error> {
        let (followed, reported) = (self.followed, self.gone_reported);
        self.generation = g;
        self.gone_reported = false;
        let name = self.topic.shm.name();
        if !followed {
            return None;
        }
        if self.follow {
            return Some(
                Error::new(
                    ErrorKind::Restarted,
                    Operation::Receive,
                    object(name),
                    format!(
                        "the publisher this subscriber received from went away and a new one \
                         (generation {g}) took the topic over: the next receive returns its \
                         first sample"
                    ),
                )
                .with_generation(g),
            );
        }
        if reported {
            return None;
        }
        Some(Error::new(
            ErrorKind::Disconnected,
            Operation::Receive,
            object(name),
            format!(
                "the publisher has gone (closed or died) and every sample it published was \
                 received; a new publisher (generation {g}) has taken the topic over since: \
                 the next receive returns its first sample (open with \
                 SubscribeOptions::follow_restarts to be told with ErrorKind::Restarted)"
            ),
        ))
    }

    /// Following restarts with no publisher: if the topic's name was removed (a publisher's
    /// clean stop removes it) and a topic of the same type was made again under it, leaves the
    /// old segment and joins the new one, whose first sample is then reported as a restart.
    fn rejoin(&mut self) -> Result<()> {
        match self.topic.shm.stat() {
            Ok(st) if !st.linked => {}
            _ => return Ok(()),
        }
        let name = self.topic.shm.name().to_owned();
        let t = &self.topic;
        let fresh = match Topic::open(&name, &t.record, t.shape, t.header_size, false, None) {
            Ok(fresh) => fresh,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotInitialized) => {
                return Ok(())
            }
            Err(e) => return Err(e),
        };
        self.release();
        // Everything the new topic still holds was published after the old one went: it is all
        // new to this subscriber.
        let all = fresh.capacity;
        let mut core = SubCore::join(fresh, true, all)?;
        core.cancel = self.cancel.take();
        core.spin = self.spin;
        // The new topic's first sample is reported as a restart (once), whether its publisher
        // is there already, comes later, or is between the two while it starts (its generation
        // counted but not yet registered): every sample's generation is above 0.
        core.generation = 0;
        core.followed = true;
        *self = core;
        Ok(())
    }

    /// Holds sample `index` in `buffer`: sets this subscriber's holder bit, then checks that
    /// the entry still names the sample (see the safety argument).
    #[inline]
    pub(super) fn hold(&mut self, index: u64, buffer: u64, len: usize) -> Option<Held> {
        let t = &self.topic;
        t.holders(buffer).fetch_or(self.bit, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if t.stamp(index).load(Ordering::Relaxed) == index + 1 {
            self.held = Some(buffer);
            return Some(Held {
                index,
                buffer,
                len,
                published: self.published,
            });
        }
        t.holders(buffer).fetch_and(!self.bit, Ordering::Release);
        None
    }

    /// Copies sample `index` (`len` bytes) out of `buffer` into `out`, then checks that the
    /// entry still names it: a copy the publisher may have overwritten meanwhile is not accepted (a seqlock read;
    /// the bytes are loaded as atomic words, so a concurrent write is not a data race). No
    /// holder bit is touched.
    #[inline]
    pub(super) fn copy(
        &self,
        index: u64,
        buffer: u64,
        len: usize,
        out: &mut impl CopySink,
    ) -> bool {
        let t = &self.topic;
        let src = t.payload(buffer).cast::<AtomicU64>();
        let (head, at, body) = out.parts(len);
        debug_assert!(at % 8 == 0 && head.len() <= len && at + body.len() <= len.max(at));
        // The sinks give at most `len` bytes from the start and at most `len - at` from `at`.
        let head_len = head.len().min(len);
        let body_len = body.len().min(len.saturating_sub(at));
        let word = |w: usize| {
            // SAFETY: the buffer is 64-aligned and `stride` (a multiple of 64, at least the
            // payload size, so at least `len`) bytes long inside the data mapping, so each
            // 8-byte word below `len` rounded up is aligned and mapped; `copy_words` reads only
            // words holding bytes below `head_len` or from `at` to `at + body_len`, all below
            // `len`. The words are read atomically because the publisher may be writing them;
            // any value is a valid `u64`.
            unsafe { &*src.add(w) }
                .load(Ordering::Relaxed)
                .to_ne_bytes()
        };
        copy_words(&mut head[..head_len], 0, word);
        copy_words(&mut body[..body_len], at / 8, word);
        fence(Ordering::Acquire);
        t.stamp(index).load(Ordering::Relaxed) == index + 1
    }

    #[inline]
    pub(super) fn has_data(&self) -> bool {
        self.topic.tail().load(Ordering::SeqCst) > self.next
    }

    /// Whether a sample (or a lag) is there: looks at the next sample's entry, the word that
    /// changes when it is published, and at the tail only when the entry is being rewritten
    /// or was overwritten (so a polling loop waits on one shared cache line, the one it reads
    /// next anyway).
    #[inline]
    pub(in crate::typed::pubsub) fn has_samples(&self) -> bool {
        let c = self.next;
        let stamp = self.topic.stamp(c).load(Ordering::Acquire);
        if stamp == c + 1 {
            return true;
        }
        if stamp != 0 && stamp < c + 1 {
            return false;
        }
        self.pending() > 0
    }

    /// Samples published that this subscriber has not received (or lost) yet.
    #[inline]
    pub(in crate::typed::pubsub) fn pending(&self) -> u64 {
        self.topic
            .tail()
            .load(Ordering::Acquire)
            .saturating_sub(self.next)
    }

    /// Takes the next sample, held in place, waiting up to `deadline`.
    pub(in crate::typed::pubsub) fn next(&mut self, deadline: Deadline) -> Result<Held> {
        self.release();
        self.wait_for(deadline, Self::hold)
    }

    /// Copies the next sample into `out`, waiting up to `deadline`; returns its index and
    /// length.
    pub(in crate::typed::pubsub) fn next_copy(
        &mut self,
        deadline: Deadline,
        out: &mut impl CopySink,
    ) -> Result<(u64, usize)> {
        self.release();
        self.wait_for(deadline, |s, i, b, len| {
            s.copy(i, b, len, out).then_some((i, len))
        })
    }

    pub(super) fn wait_for<R>(
        &mut self,
        deadline: Deadline,
        mut take: impl FnMut(&mut Self, u64, u64, usize) -> Option<R>,
    ) -> Result<R> {
        if let Step::Done(r) = self.attempt(&mut take) {
            return r;
        }
        let op = Operation::Receive;
        let what = "no sample has been published since the last one received";
        let cancel = self.cancel.clone();
        let stops = Stops::of(cancel.as_ref());
        let disconnected = |name: &str| {
            Error::new(
                ErrorKind::Disconnected,
                op,
                object(name),
                "the publisher has gone (closed or died) and every sample it published was \
                 received: no sample will come until a publisher opens the topic again",
            )
        };
        if deadline == Deadline::Now {
            let gone = self
                .gone
                .disconnected(&self.topic.publishers(), self.topic.u32_at(DATA_SIGNAL));
            if gone && self.follow {
                self.rejoin()?;
                return match self.attempt(&mut take) {
                    Step::Done(r) => r,
                    Step::Wait => Err(would_block(self.topic.shm.name(), op, what)),
                };
            }
            if gone {
                return match self.attempt(&mut take) {
                    Step::Done(r) => r,
                    Step::Wait => {
                        self.gone_reported = true;
                        Err(disconnected(self.topic.shm.name()))
                    }
                };
            }
            return Err(would_block(self.topic.shm.name(), op, what));
        }
        let mut backoff = Backoff::new(self.spin);
        loop {
            if let Step::Done(r) = self.attempt(&mut take) {
                return r;
            }
            if backoff.busy() {
                continue;
            }
            if self.topic.truncated() {
                return Err(self.topic.truncated_error(op));
            }
            // Following restarts, a subscriber waits for the next publisher instead (joining the
            // topic again if a clean stop removed it and it was made again).
            if self.follow && self.topic.publishers().disconnected() {
                self.rejoin()?;
                if let Step::Done(r) = self.attempt(&mut take) {
                    return r;
                }
            }
            if !self.follow && self.topic.publishers().disconnected() {
                return match self.attempt(&mut take) {
                    Step::Done(r) => r,
                    Step::Wait => {
                        self.gone_reported = true;
                        Err(disconnected(self.topic.shm.name()))
                    }
                };
            }
            stops.check(op, || object(self.topic.shm.name()))?;
            let slice = match deadline.remaining() {
                None => return Err(timed_out(self.topic.shm.name(), op, what)),
                Some(left) => left.min(SLEEP_SLICE),
            };
            self.topic
                .data_signal()
                .sleep(slice, || self.has_data(), stops);
        }
    }

    /// Whether a receive would not wait: a sample (or a lag) is there, or the publisher has
    /// gone (the async layer's readiness).
    #[cfg(feature = "tokio")]
    pub(in crate::typed::pubsub) fn ready_now(&self) -> bool {
        self.has_data() || (!self.follow && self.topic.publishers().disconnected())
    }

    /// Sleeps until a sample may be ready, the publisher has gone, or `timeout` passes (the
    /// async layer's wait; it takes the sample itself without waiting).
    #[cfg(feature = "tokio")]
    pub(in crate::typed::pubsub) fn wait_readable(&self, timeout: Duration) {
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
            self.topic.data_signal().sleep(
                left.min(SLEEP_SLICE),
                || self.has_data(),
                Stops::of(None),
            );
        }
    }
}

impl Drop for SubCore {
    fn drop(&mut self) {
        self.release();
        let t = &self.topic;
        t.cursor(self.entry).store(0, Ordering::Release);
        t.evicted(self.entry).store(0, Ordering::Release);
        t.subscribers().deregister(self.entry);
        // A publisher waiting for this subscriber goes on.
        t.space_signal().wake_all();
    }
}
