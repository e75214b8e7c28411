//! Peer tables: who is connected to a typed segment, so the other side can tell when every
//! peer has gone (closed, or killed with SIGKILL).
//!
//! A table is [`MAX_PEERS`] entries of 32 bytes, `{pid u32, pad u32, start_time u64, busy u64,
//! pad u64}`, plus a `u32` "joined" flag elsewhere in the header, set to 1 once any peer has
//! registered. A peer is alive while its pid runs with the start time recorded at registration
//! (field 22 of `/proc/PID/stat`, so a reused pid does not count). `busy` is the ring's MPMC
//! claim marker; other users leave it 0. The ring and the typed queue's companion use it.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::header::{atomic_u32, atomic_u64};
use crate::shm::Mapping;
use crate::sys;

/// Entries per table.
pub(crate) const MAX_PEERS: usize = 32;
/// Bytes per entry.
pub(crate) const ENTRY: usize = 32;

/// One side's table in a mapped segment.
#[derive(Clone, Copy)]
pub(crate) struct Table<'a> {
    pub(crate) map: &'a Mapping,
    /// Offset of entry 0.
    pub(crate) base: usize,
    /// Offset of the joined flag.
    pub(crate) joined: usize,
}

impl<'a> Table<'a> {
    pub(crate) fn pid(&self, i: usize) -> &'a AtomicU32 {
        atomic_u32(self.map, self.base + i * ENTRY)
    }

    pub(crate) fn start(&self, i: usize) -> &'a AtomicU64 {
        atomic_u64(self.map, self.base + i * ENTRY + 8)
    }

    pub(crate) fn busy(&self, i: usize) -> &'a AtomicU64 {
        atomic_u64(self.map, self.base + i * ENTRY + 16)
    }

    fn joined_flag(&self) -> &'a AtomicU32 {
        atomic_u32(self.map, self.joined)
    }

    /// Whether the peer in entry `i` is alive: its pid runs and, once recorded, with the same
    /// start time.
    pub(crate) fn alive(&self, i: usize) -> bool {
        let pid = self.pid(i).load(Ordering::Acquire);
        if pid == 0 {
            return false;
        }
        let start = self.start(i).load(Ordering::Acquire);
        match sys::process_start_time(pid) {
            Some(now) => start == 0 || now == start,
            None => false,
        }
    }

    /// The pids of the live peers (one per entry: a process with two handles appears twice).
    pub(crate) fn live_pids(&self) -> Vec<u32> {
        (0..MAX_PEERS)
            .filter(|&i| self.alive(i))
            .map(|i| self.pid(i).load(Ordering::Relaxed))
            .collect()
    }

    /// The pids recorded in the table, alive or not.
    pub(crate) fn recorded_pids(&self) -> Vec<u32> {
        (0..MAX_PEERS)
            .map(|i| self.pid(i).load(Ordering::Acquire))
            .filter(|&p| p != 0)
            .collect()
    }

    /// Whether any peer ever registered.
    pub(crate) fn ever_joined(&self) -> bool {
        self.joined_flag().load(Ordering::Acquire) == 1
    }

    /// Whether this side had peers and none is alive now.
    pub(crate) fn disconnected(&self) -> bool {
        self.ever_joined() && !(0..MAX_PEERS).any(|i| self.alive(i))
    }

    /// Takes a free entry (never used, or left by a dead peer that is not mid-claim) for this
    /// process; `None` if all [`MAX_PEERS`] hold live peers.
    ///
    /// A dead peer's entry is first emptied (start time, then pid 0) and only an empty entry is
    /// claimed (pid 0 to ours, then our start time): an entry never holds our pid with a dead
    /// peer's start time, which would look dead to others and be taken or cleared under us.
    pub(crate) fn register(&self) -> Option<usize> {
        let me = sys::getpid();
        let start = sys::process_start_time(me).unwrap_or(0);
        for i in 0..MAX_PEERS {
            let pid = self.pid(i);
            let current = pid.load(Ordering::Acquire);
            if current != 0 {
                if self.alive(i) || self.busy(i).load(Ordering::Acquire) != 0 {
                    continue;
                }
                self.free_dead(i, current);
            }
            if pid
                .compare_exchange(0, me, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                self.busy(i).store(0, Ordering::Relaxed);
                self.start(i).store(start, Ordering::Release);
                self.joined_flag().store(1, Ordering::Release);
                return Some(i);
            }
        }
        None
    }

    /// Empties the entry of the dead peer `dead` (if it still holds it): start time first, so
    /// that the entry is never ours-looking-dead.
    fn free_dead(&self, i: usize, dead: u32) {
        if self.pid(i).load(Ordering::Acquire) != dead {
            return;
        }
        self.start(i).store(0, Ordering::Release);
        let _ = self
            .pid(i)
            .compare_exchange(dead, 0, Ordering::AcqRel, Ordering::Relaxed);
    }

    /// Takes entry `i` for this process if it holds a dead peer (not mid-claim), so that the
    /// caller can undo what that peer left in the segment before anyone else registers there;
    /// the caller then frees it with [`deregister`](Self::deregister). Returns whether it did.
    pub(crate) fn claim_dead(&self, i: usize) -> bool {
        let dead = self.pid(i).load(Ordering::Acquire);
        if dead == 0 || self.alive(i) || self.busy(i).load(Ordering::Acquire) != 0 {
            return false;
        }
        self.free_dead(i, dead);
        let me = sys::getpid();
        if self
            .pid(i)
            .compare_exchange(0, me, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.start(i)
            .store(sys::process_start_time(me).unwrap_or(0), Ordering::Release);
        true
    }

    /// Frees entry `i` if this process holds it (a forked child that inherited a handle leaves
    /// its parent's entry alone).
    pub(crate) fn deregister(&self, i: usize) {
        if self.pid(i).load(Ordering::Acquire) != sys::getpid() {
            return;
        }
        self.busy(i).store(0, Ordering::Relaxed);
        self.start(i).store(0, Ordering::Relaxed);
        self.pid(i).store(0, Ordering::Release);
    }

    /// Clears the entries of dead peers (and their claim markers).
    pub(crate) fn clear_dead(&self) {
        for i in 0..MAX_PEERS {
            let pid = self.pid(i).load(Ordering::Acquire);
            if pid != 0 && !self.alive(i) {
                self.busy(i).store(0, Ordering::Relaxed);
                self.free_dead(i, pid);
            }
        }
    }
}

/// How long a non-blocking call may trust an earlier answer to "have all the peers gone?".
const GONE_TTL: Duration = Duration::from_millis(5);

/// A rate-limited answer to [`Table::disconnected`] for non-blocking calls in a polling loop:
/// checking liveness reads `/proc` for every peer, microseconds a call, so an answer is kept
/// for [`GONE_TTL`] unless the peers' futex word changed meanwhile (a peer that leaves bumps
/// it): a peer that closes is noticed at once, one killed within 5 ms.
#[derive(Default)]
pub(crate) struct GoneCache {
    last: Cell<Option<(Instant, u32, bool)>>,
    /// Calls since the clock was last read: it is read every [`CLOCK_EVERY`] calls only (a
    /// clock read costs as much as the rest of an empty poll).
    calls: Cell<u32>,
}

const CLOCK_EVERY: u32 = 64;

impl GoneCache {
    /// [`Table::disconnected`] of `table`, reusing a recent answer while `word` is unchanged.
    pub(crate) fn disconnected(&self, table: &Table<'_>, word: &AtomicU32) -> bool {
        let w = word.load(Ordering::Acquire);
        if let Some((at, seen, gone)) = self.last.get() {
            let calls = self.calls.get() + 1;
            self.calls.set(calls);
            if seen == w && (calls % CLOCK_EVERY != 0 || at.elapsed() < GONE_TTL) {
                return gone;
            }
        }
        let gone = table.disconnected();
        self.last.set(Some((Instant::now(), w, gone)));
        gone
    }
}

/// The owner word of a named segment: the process that made it or took it over
/// (`create_or_take_over`), packed in one `u64` so that claiming it is one compare-and-swap:
/// `pid << 32 | (start time & 0xffff_ffff)` (field 22 of `/proc/PID/stat`, so a reused pid does
/// not count); 0 for none (segments made before owners were recorded read as none).
#[derive(Clone, Copy)]
pub(crate) struct OwnerWord<'a>(pub(crate) &'a AtomicU64);

impl OwnerWord<'_> {
    /// This process's owner word.
    pub(crate) fn me() -> u64 {
        let pid = sys::getpid();
        owner_word(pid, sys::process_start_time(pid).unwrap_or(0))
    }

    /// The word now.
    pub(crate) fn load(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Records this process as the owner (at creation, before the segment is published).
    pub(crate) fn set_me(&self) {
        self.0.store(Self::me(), Ordering::Release);
    }

    /// Replaces `seen` with this process, if the word still holds `seen`; otherwise the word
    /// another process stored first.
    pub(crate) fn claim(&self, seen: u64) -> std::result::Result<(), u64> {
        self.0
            .compare_exchange(seen, Self::me(), Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
    }

    /// Clears the word if this process holds it (its owning handle closed).
    pub(crate) fn release(&self) {
        let _ = self
            .0
            .compare_exchange(Self::me(), 0, Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// Packs an owner word.
pub(crate) fn owner_word(pid: u32, start: u64) -> u64 {
    (u64::from(pid) << 32) | (start & 0xffff_ffff)
}

/// The pid in an owner word (0: none).
pub(crate) fn owner_pid(word: u64) -> u32 {
    (word >> 32) as u32
}

/// Whether the process an owner word names is alive (same pid, same start time).
pub(crate) fn owner_alive(word: u64) -> bool {
    let pid = owner_pid(word);
    pid != 0
        && sys::process_start_time(pid)
            .is_some_and(|start| start & 0xffff_ffff == word & 0xffff_ffff)
}

/// `pid 1234 (camera)`: a process in words, for messages.
pub(crate) fn describe_pid(pid: u32) -> String {
    format!("pid {pid} ({})", sys::process_command(pid))
}

/// What `posix-ipc ls` shows of an owner word: the owner's pid and whether it is alive;
/// `None` if none is recorded.
pub(crate) fn owner_info(word: u64) -> Option<(u32, bool)> {
    (word != 0).then(|| (owner_pid(word), owner_alive(word)))
}

/// How a kind's `create_or_take_over` names itself in its errors.
pub(crate) struct TakeOver<'a> {
    /// The object, for errors.
    pub(crate) object: crate::error::Object,
    /// What it is, in words: "the ring".
    pub(crate) what: &'a str,
    /// What to do instead while its owner lives: "open it with RingSender::<Tick>::open".
    pub(crate) instead: &'a str,
}

impl TakeOver<'_> {
    /// Creates the object with `create`, or, if it exists, opens it with `open` (which checks
    /// type and geometry: `Mismatch` otherwise) and claims the owner word `owner` gives if its
    /// owner is gone. Returns the handle and whether it was taken over; the caller then marks
    /// the handle as the object's creator and owner.
    ///
    /// A name removed or made again between two steps is tried again (a few times). Of
    /// processes racing on one name, exactly one wins (the create, or the compare-and-swap of
    /// the owner word); the others get `AlreadyExists` naming it. An owner in this very process
    /// counts as alive: the word names processes, not handles.
    pub(crate) fn run<H>(
        &self,
        mut create: impl FnMut() -> crate::Result<H>,
        mut open: impl FnMut() -> crate::Result<H>,
        owner: impl Fn(&H) -> OwnerWord<'_>,
    ) -> crate::Result<(H, bool)> {
        use crate::error::ErrorKind;
        for _ in 0..8 {
            match create() {
                Ok(made) => return Ok((made, false)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            let there = match open() {
                Ok(h) => h,
                // Removed since the create: create it again.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) if e.kind() == ErrorKind::Mismatch => return Err(self.mismatch(&e)),
                Err(e) => return Err(e),
            };
            let word = owner(&there);
            let now = word.load();
            if owner_alive(now) {
                return Err(self.in_use(owner_pid(now)));
            }
            match word.claim(now) {
                Ok(()) => return Ok((there, true)),
                Err(winner) if owner_alive(winner) => return Err(self.in_use(owner_pid(winner))),
                // Changed by a process that is gone again already: look once more.
                Err(_) => continue,
            }
        }
        Err(crate::Error::new(
            ErrorKind::AlreadyExists,
            crate::error::Operation::Create,
            self.object.clone(),
            format!(
                "{} kept being removed and made again by other processes while this one tried \
                 to create or take it over: try again",
                self.what
            ),
        ))
    }

    /// `AlreadyExists`: the owner `pid` is alive.
    fn in_use(&self, pid: u32) -> crate::Error {
        let who = if pid == sys::getpid() {
            format!("{} (this process)", describe_pid(pid))
        } else {
            describe_pid(pid)
        };
        crate::Error::new(
            crate::ErrorKind::AlreadyExists,
            crate::error::Operation::Create,
            self.object.clone(),
            format!(
                "{} is in use: its owner, {who}, is alive (only an object whose owner is gone \
                 is taken over); stop that process first, or {}",
                self.what, self.instead
            ),
        )
        .with_errno(libc::EEXIST)
    }

    /// `Mismatch`: what is there is not what was asked for.
    fn mismatch(&self, e: &crate::Error) -> crate::Error {
        crate::Error::new(
            crate::ErrorKind::Mismatch,
            crate::error::Operation::Create,
            self.object.clone(),
            format!(
                "{} under this name cannot be taken over: {}",
                self.what,
                e.detail()
            ),
        )
    }
}
