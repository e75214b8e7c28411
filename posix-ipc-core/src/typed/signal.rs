//! The futex handshake of the typed segments: a wake-up counter and a sleeper count in shared
//! memory, with which a side that made progress wakes the other side's sleepers, and only when
//! some sleep. The ring and the publish-subscribe topic use it.

use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::Duration;

use crate::cancel::Stops;
use crate::sys;

/// The busy phase of a wait before it sleeps on a [`Signal`]: 4000 spins, then 16 yields.
#[derive(Default)]
pub(crate) struct Backoff {
    spins: u32,
}

impl Backoff {
    const SPINS: u32 = 4000;
    const YIELDS: u32 = 16;

    /// A backoff that spins first, or (`spin` false) only yields before the sleep.
    pub(crate) fn new(spin: bool) -> Backoff {
        Backoff {
            spins: if spin { 0 } else { Self::SPINS },
        }
    }

    /// Spins or yields once and returns `true` while the busy phase lasts; `false` once the
    /// waiter should check what it checks before sleeping, and sleep.
    #[inline(always)]
    pub(crate) fn busy(&mut self) -> bool {
        if self.spins < Self::SPINS {
            self.spins += 1;
            std::hint::spin_loop();
            true
        } else if self.spins < Self::SPINS + Self::YIELDS {
            self.spins += 1;
            std::thread::yield_now();
            true
        } else {
            false
        }
    }
}

/// A futex word (a wake-up counter) and the count of its sleepers, both in the segment.
#[derive(Clone, Copy)]
pub(crate) struct Signal<'a> {
    pub(crate) word: &'a AtomicU32,
    pub(crate) sleepers: &'a AtomicU32,
}

impl Signal<'_> {
    /// Wakes the sleepers if there are any.
    ///
    /// This is the waker's half of a Dekker handshake with [`sleep`](Self::sleep): the store
    /// that made progress must be ordered before the load of the sleeper count, or a sleeper
    /// that announced itself just then could miss the wake-up. Where this process is registered
    /// for `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`, the sleeper's side issues that
    /// barrier, which runs a full fence on this CPU for us, so the hot path needs only a
    /// compiler barrier; elsewhere it pays a full fence.
    #[inline(always)]
    pub(crate) fn wake(&self) {
        if sys::membarrier_registered() {
            std::sync::atomic::compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
        if self.sleepers.load(Ordering::Relaxed) != 0 {
            self.wake_all();
        }
    }

    /// Bumps the counter and wakes every sleeper, whether or not any announced itself.
    pub(crate) fn wake_all(&self) {
        self.word.fetch_add(1, Ordering::SeqCst);
        sys::futex_wake(self.word, i32::MAX);
    }

    /// Sleeps until woken or `slice` passes, unless `ready()` becomes true after announcing the
    /// sleep (no lost wake-up: see [`wake`](Self::wake)).
    ///
    /// The futex word is registered with `stops`' tokens meanwhile: a cancel bumps and wakes it.
    pub(crate) fn sleep(&self, slice: Duration, ready: impl Fn() -> bool, stops: Stops<'_>) {
        let _watch = stops.watch(self.word, true);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        // Every waker either skips its fence (it is registered: this barrier fences its CPU) or
        // pays it; if the barrier fails, sleep in short slices so a missed wake-up costs at
        // most a millisecond.
        let slice = if sys::membarrier_global() {
            slice
        } else {
            slice.min(Duration::from_millis(1))
        };
        let seen = self.word.load(Ordering::SeqCst);
        if !ready() && !stops.cancelled() {
            sys::futex_wait(self.word, seen, slice);
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}
