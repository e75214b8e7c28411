//! Waiting: the spin, yield and futex loop of blocking sends and receives, its errors, and the
//! async layer's futex waits.

use super::*;

/// Why a non-blocking operation did nothing.
pub(super) enum Step<R> {
    Done(R),
    /// Empty (receive) or full (send).
    Wait,
}

pub(super) fn disconnected(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::Disconnected, op, object(name), detail)
}

pub(super) fn timed_out(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::TimedOut, op, object(name), detail)
}

pub(super) fn would_block(name: &str, op: Operation, detail: &str) -> Error {
    Error::new(ErrorKind::WouldBlock, op, object(name), detail)
}

/// The waiting loop shared by blocking sends and receives: spin, yield, then sleep on the
/// futex in slices, checking for a dead peer side between slices.
pub(super) fn wait_loop<R>(
    ring: &Ring,
    waiting: Side,
    deadline: Deadline,
    op: Operation,
    stops: Stops<'_>,
    mut attempt: impl FnMut() -> Step<R>,
    ready: impl Fn() -> bool,
) -> Result<R> {
    let name = ring.shm.name();
    let (what, other) = match waiting {
        Side::Consumer => ("the ring is empty", Side::Producer),
        Side::Producer => ("the ring is full", Side::Consumer),
    };
    if deadline == Deadline::Now {
        let (word, _) = ring.signal_of(waiting);
        return match attempt() {
            Step::Done(r) => Ok(r),
            Step::Wait
                if ring
                    .gone
                    .disconnected(&ring.peers(other), ring.u32_at(word)) =>
            {
                match attempt() {
                    Step::Done(r) => Ok(r),
                    Step::Wait => Err(disconnected(name, op, disconnect_text(waiting))),
                }
            }
            Step::Wait => Err(would_block(name, op, what)),
        };
    }
    let mut backoff = Backoff::default();
    loop {
        if let Step::Done(r) = attempt() {
            return Ok(r);
        }
        if backoff.busy() {
            continue;
        }
        if ring.mode == RingMode::Mpmc {
            let _ = match waiting {
                Side::Consumer => ring.repair_producer_slot(),
                Side::Producer => ring.repair_consumer_slot(),
            };
        }
        if ring.map.is_truncated() {
            return Err(Error::new(
                ErrorKind::Mismatch,
                op,
                object(name),
                "another process truncated the ring's segment while it was in use: its \
                 messages and state are gone; create it again",
            ));
        }
        if ring.disconnected(other) {
            // Drain first: a message published before the last peer left is still delivered.
            return match attempt() {
                Step::Done(r) => Ok(r),
                Step::Wait => Err(disconnected(name, op, disconnect_text(waiting))),
            };
        }
        stops.check(op, || object(name))?;
        let slice = match deadline.remaining() {
            None => return Err(timed_out(name, op, what)),
            Some(left) => left.min(SLEEP_SLICE),
        };
        ring.sleep(waiting, slice, &ready, stops);
    }
}

pub(super) fn disconnect_text(waiting: Side) -> &'static str {
    match waiting {
        Side::Consumer => {
            "every producer has gone (closed or died) and the ring is drained: no message will \
             come"
        }
        Side::Producer => {
            "every consumer has gone (closed or died) and the ring is full: no message will be \
             taken"
        }
    }
}

/// Hooks of the async layer (`crate::asyncio`, feature `tokio`): wait on the segment's futex
/// without taking or publishing a message, so a task can hand the wait to a thread and do the
/// non-blocking attempt itself (a dropped future then never loses a message).
#[cfg(feature = "tokio")]
impl<T: IpcMessage> RingReceiver<T> {
    /// Sleeps until a message may be ready, every producer has gone, or `timeout` passes.
    pub(crate) fn wait_until_readable(&self, timeout: Duration) {
        wait_until(&self.ring, Side::Consumer, timeout, || self.has_data());
    }
}

#[cfg(feature = "tokio")]
impl<T: IpcMessage> RingSender<T> {
    /// Sleeps until there may be room, every consumer has gone, or `timeout` passes.
    pub(crate) fn wait_until_writable(&self, timeout: Duration) {
        wait_until(&self.ring, Side::Producer, timeout, || self.has_room());
    }
}

/// The sleeping half of `wait_loop`, without the attempt: returns when `ready()`, when the
/// other side has gone, after an MPMC repair made progress, or at `timeout`.
#[cfg(feature = "tokio")]
pub(super) fn wait_until(ring: &Ring, waiting: Side, timeout: Duration, ready: impl Fn() -> bool) {
    let deadline = std::time::Instant::now().checked_add(timeout);
    let other = match waiting {
        Side::Consumer => Side::Producer,
        Side::Producer => Side::Consumer,
    };
    loop {
        if ready() || ring.disconnected(other) {
            return;
        }
        if ring.mode == RingMode::Mpmc {
            let repaired = match waiting {
                Side::Consumer => ring.repair_producer_slot(),
                Side::Producer => ring.repair_consumer_slot(),
            };
            if repaired {
                return;
            }
        }
        let left = deadline.map_or(SLEEP_SLICE, |d| {
            d.saturating_duration_since(std::time::Instant::now())
        });
        if left.is_zero() {
            return;
        }
        ring.sleep(waiting, left.min(SLEEP_SLICE), &ready, Stops::of(None));
    }
}
