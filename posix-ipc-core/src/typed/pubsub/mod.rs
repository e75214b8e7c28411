//! Publish-subscribe over shared memory: one [`Publisher<T>`] (or [`FramePublisher`] of byte
//! frames up to a size fixed at creation, optionally each with a typed header: see
//! [`FrameHeader`]), up to 32 [`Subscriber<T>`]s (or [`FrameSubscriber`]s) in any mix of
//! processes and threads, every subscriber receiving every sample published after it joined,
//! without a copy either way.
//!
//! A topic is one log of `capacity` entries in a named segment and a cursor per subscriber,
//! not a queue per subscriber: the publish path does no per-subscriber work, whether 1 or 32
//! subscribers are connected, and waking the ones that sleep is one futex call. The publisher [`loan`](Publisher::loan)s a sample
//! inside the segment, writes it in place and [`send`](Loan::send)s it; a subscriber's
//! [`recv`](Subscriber::recv) returns a guard that derefs to the sample in the segment (mapped
//! read-only in subscribers). Waits spin briefly, then sleep on a futex in the segment;
//! a [`CancelToken`](crate::CancelToken) or [`signals`](crate::signals) stops them. With the
//! `tokio` feature, `AsyncPublisher`, `AsyncSubscriber`, `AsyncFramePublisher` and
//! `AsyncFrameSubscriber` (in `asyncio`) are the async ends, frames with a typed header
//! included (their stream yields `(header, bytes)`).
//!
//! ```
//! use posix_ipc::{FramePublisher, FrameSubscriber, IpcMessage, Policy, Publisher, Subscriber, TopicOptions};
//!
//! #[derive(Clone, Copy, Debug, IpcMessage)]
//! #[repr(C)]
//! struct Pose { x: f64, y: f64, heading: f64 }
//!
//! #[derive(Clone, Copy, Debug, IpcMessage)]
//! #[repr(C)]
//! struct FrameInfo { number: u64, published_ns: u64, width: u32, height: u32 }
//!
//! # let pid = std::process::id();
//! # let (pose_topic, video_topic) = (format!("/doc-pubsub-pose-{pid}"), format!("/doc-pubsub-video-{pid}"));
//! let mut poses = Publisher::<Pose>::create_owned(&pose_topic, &TopicOptions::new())?; // Block, keeps 16
//! let mut sub = Subscriber::<Pose>::open(&pose_topic)?;    // type checked; usually another process
//! let mut loan = poses.loan()?;                             // a zeroed Pose inside the segment
//! loan.x = 1.5;
//! loan.send();                                              // published in place, no copy
//! let pose = sub.recv()?;                                   // a guard: &Pose in the segment
//! assert_eq!(pose.x, 1.5);
//!
//! // Byte frames, here each with a typed header, checked when a subscriber opens the topic:
//! let options = TopicOptions::new().capacity(4).policy(Policy::Overwrite).history(1);
//! let mut video =
//!     FramePublisher::<FrameInfo>::create_with_header(&video_topic, 1 << 20, &options)?;
//! let mut viewer = FrameSubscriber::<FrameInfo>::open_with_header(&video_topic)?;
//! let mut frame = video.loan(640 * 480)?;                   // fill it in place, then send
//! *frame.header_mut() = FrameInfo { number: 1, published_ns: 0, width: 640, height: 480 };
//! frame.send();
//! let frame = viewer.recv()?;                               // frame.header(): &FrameInfo
//! assert_eq!((frame.header().number, frame.len()), (1, 640 * 480)); // *frame: &[u8]
//! # drop(frame);
//! video.unlink()?;
//! # Ok::<(), posix_ipc::Error>(())
//! ```
//!
//! `posix-ipc ls` shows a topic's kind, sample type or frame size and header, policy, samples
//! published, its publisher and its live subscribers; the workspace's
//! `cargo run --release --example camera` sends 1080p frames to three subscriber processes, one
//! of them slow.
//!
//! # Slow, stopped and dead subscribers
//!
//! The [`Policy`] is chosen at creation.
//!
//! - [`Policy::Block`]: the publisher waits while the slowest subscriber has not read the
//!   oldest sample, so nothing is lost. A subscriber whose process died (SIGKILL) is dropped as
//!   soon as the publisher has to wait for it; one whose process is stopped (SIGSTOP, a
//!   debugger) is skipped after [`TopicOptions::stall_timeout`] and gets
//!   [`ErrorKind::Lagged`](crate::ErrorKind::Lagged) for what it missed when it goes on.
//! - [`Policy::Overwrite`]: the publisher never waits. A subscriber that falls behind gets
//!   [`ErrorKind::Lagged`](crate::ErrorKind::Lagged) once, with the exact number of samples
//!   it lost in [`Error::missed`](crate::Error::missed), and goes on from the oldest sample
//!   still there. A sample overwritten while a subscriber copies or reads it is never accepted.
//!
//! A dead subscriber's held sample comes back to the publisher. When the publisher goes
//! (dropped or killed), subscribers receive what it published, then get
//! [`ErrorKind::Disconnected`](crate::ErrorKind::Disconnected).
//!
//! # Restarts
//!
//! A process restarted under a fixed name calls [`Publisher::create_or_take_over`] (or
//! [`FramePublisher::create_or_take_over`], `create_or_take_over_with_header`): it creates the
//! topic, or takes over the one its dead predecessor left if the type and options match, and
//! owns it, so a clean stop removes it and a `kill -9` needs no clean-up by hand. Each
//! publisher of a topic is a new *generation* (1, 2, ...), recorded with every sample:
//!
//! - a subscriber opened with [`SubscribeOptions::follow_restarts`] goes on with the next
//!   publisher's samples after one [`ErrorKind::Restarted`](crate::ErrorKind::Restarted)
//!   carrying its generation; while no publisher is there it waits instead of returning
//!   `Disconnected`;
//! - one that does not follow gets `Disconnected` once before a new publisher's samples;
//! - the history a new subscriber starts with ([`TopicOptions::history`]) holds only the live
//!   publisher's samples: a dead or replaced publisher's last samples are not handed out as new
//!   (they are skipped, not marked: a typed sample has nowhere to carry a mark, and a stale
//!   pose or frame taken for a fresh one is the failure this prevents).
//!
//! A subscriber that starts before its publisher waits for the topic with
//! [`Subscriber::open_wait`] or [`SubscribeOptions::wait`].
//!
//! # Safety argument
//!
//! Samples live in buffers of the segment, separate from the log: an entry of the log names
//! the buffer of its sample. There are `capacity + max_subscribers + 1` buffers: one per
//! entry, one per subscriber (each holds at most one sample at a time: `recv` borrows the
//! subscriber mutably) and one loaned. Each buffer has a word of holder bits, bit `k` for
//! subscriber entry `k`.
//!
//! - **A loan is written by the publisher alone.** The publisher takes a buffer that no entry
//!   names and whose holder bits it saw clear after the entry that last named it was
//!   invalidated. A subscriber reads a buffer only after setting its bit and then seeing the
//!   entry still name it with the expected stamp (below), so no subscriber reads a loaned
//!   buffer, and the publisher's `&mut` to it is exclusive.
//! - **A borrowed sample is never written while it is borrowed.** A subscriber reading sample
//!   `i` loads the entry's stamp (`i + 1`, acquire), its buffer and length, sets its holder
//!   bit on the buffer, issues a `SeqCst` fence and loads the stamp again. The publisher, to
//!   reuse an entry, first stores stamp 0 and retires the buffer that entry named; it frees a
//!   retired buffer only after a later `SeqCst` fence (one for a batch, when it runs out of
//!   free buffers) and a load of its holder bits as 0. Of two `SeqCst` fences one comes
//!   first in their single total order: if the subscriber's, the publisher's load of the holder
//!   bits sees the bit (the buffer stays retired until the bit is cleared, with release
//!   ordering, when the guard is dropped, and the publisher's acquire load of the cleared bits
//!   orders the subscriber's reads before its next writes); if the publisher's, the
//!   subscriber's second load sees 0 or a later stamp, and it clears its bit and does not read.
//!   So a subscriber's `&T` or `&[u8]` points at bytes no honest peer writes while it exists,
//!   published complete (the stamp is stored with release ordering after the bytes).
//! - **A torn sample is never accepted**: the bytes are stable from the second stamp check on,
//!   and a sample is only accepted when that check passes. A copy
//!   ([`recv_copy`](Subscriber::recv_copy), [`try_recv`](Subscriber::try_recv),
//!   [`FrameSubscriber::recv_into`], [`FrameSubscriber::recv_into_with_header`]) takes no hold: it is a seqlock read, the bytes loaded as
//!   atomic words (so a concurrent write is not a data race), accepted only if the stamp is
//!   unchanged after an acquire fence. The publisher writes a reused buffer only after storing
//!   stamp 0 into the entry that named it and then loading its holder bits, so a copy that saw
//!   any of the new bytes sees the stamp changed.
//! - **What a hostile process can do.** A process with write access to the segment can write
//!   anything anywhere. Every value read from the segment that decides where memory is
//!   accessed (buffer numbers, lengths, offsets, sizes in the header) is checked against the
//!   layout computed from the checked header, so it cannot make this code read or write
//!   outside the mappings. It can make samples wrong, lose them, replay them or stall waits
//!   (which stay stoppable). And because it can write a sample's bytes while a guard to them
//!   exists, it can break the immutability a `&T` promises: with honest peers (this library,
//!   or C or Python code following the protocol below) the safe API has no undefined
//!   behaviour; do not share a topic's segment with a process you do not trust (its mode
//!   decides who can open it). Sample types are [`IpcMessage`](crate::IpcMessage)s (plain old
//!   data), so any bytes are a valid value.
//!
//! `loom` model checks cover the hold, copy and cursor protocols
//! (`posix-ipc-core/tests/loom_models.rs`).
//!
//! # Segment layout (for C peers)
//!
//! All integers native-endian; offsets in bytes.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"PIPCPUBS"` |
//! | 8 | 4 | version (2; 1 had 32-byte entries without the publication time) |
//! | 12 | 4 | policy: 0 block, 1 overwrite |
//! | 16 | 8 | layout fingerprint of `T` (frames: [`FRAME_FINGERPRINT`], or the typed header's) |
//! | 24 | 8 | `size_of::<T>()` (frames: the bytes a buffer may use, `frame offset + maximum frame length`) |
//! | 32 | 8 | capacity: entries in the log (a power of two) |
//! | 40 | 8 | buffers: `capacity + max_subscribers + 1` |
//! | 48 | 8 | buffer stride: the payload size rounded up to 64 bytes, or to 4096 from 4096 on |
//! | 56 | 8 | offset of buffer 0 (a multiple of 4096) |
//! | 64 | 4 | ready (1 once initialised, stored last) |
//! | 68 | 4 | shape: 0 records of `T`, 1 byte frames |
//! | 72 | 8 | history: samples a new subscriber starts with |
//! | 80 | 4 | max subscribers (1 to 32) |
//! | 84 | 4 | stall timeout in milliseconds |
//! | 88 | 4 | frames: size of the typed header at the start of each buffer (0: none); the frame offset is it rounded up to 64, and less than the field at 24. Records: 0 (checked at open) |
//! | 92 | 4 | reserved, 0 |
//! | 96 | 32 | the type's name (frames with a header: the header's), UTF-8, NUL-padded (for `posix-ipc ls`; not checked) |
//! | 128 | 8 | tail: samples published |
//! | 136 | 8 | generation: publishers the topic has had (each new publisher adds 1 and publishes as that generation) |
//! | 144 | 8 | owner: `pid << 32 \| (start time & 0xffff_ffff)` of the process that made or took over the topic and publishes, 0 for none (claimed with one compare-and-swap) |
//! | 160 | 8 | offset of the stored layout of the sample type (frames: of the header), 0: none; it lies after the last buffer |
//! | 168 | 8 | its length in bytes (the format of [`LayoutDesc::encode`](crate::typed::LayoutDesc::encode)) |
//! | 256 | 4 | data futex: bumped when a sample is published while subscribers sleep |
//! | 260 | 4 | number of sleeping subscribers |
//! | 384 | 4 | space futex: bumped when a subscriber moves on while the publisher sleeps |
//! | 388 | 4 | number of sleeping publishers (0 or 1) |
//! | 448 | 4 | 1 once a publisher has connected |
//! | 452 | 4 | 1 once a subscriber has connected |
//! | 512 | 32 × 32 | publisher table: `{pid u32, pad u32, start_time u64, busy u64, pad u64}` |
//! | 1536 | 32 × 32 | subscriber table, same entries; entry `k` is subscriber `k` |
//! | 4096 + 128 k | 8 | subscriber `k`'s cursor: index of its next sample + 1 (0: none) |
//! | 4096 + 128 k + 8 | 4 | 1 while a block publisher skips subscriber `k` (stopped) |
//! | 8192 + 64 e | 8 | entry `e`'s stamp: `i + 1` for sample `i`, 0 while being rewritten |
//! | 8192 + 64 e + 8 | 8 | entry `e`'s buffer (`u64::MAX`: a gap, see below) |
//! | 8192 + 64 e + 16 | 8 | entry `e`'s length in bytes (frames: from the buffer's start, so the frame offset included; a gap: the number of samples lost) |
//! | 8192 + 64 e + 24 | 8 | entry `e`'s publisher generation (stored before the stamp) |
//! | 8192 + 64 e + 32 | 8 | entry `e`'s publication time, `CLOCK_MONOTONIC` nanoseconds (stored before the stamp; a bridge or a replay stores the original publisher's) |
//! | 8192 + 64 e + 40 | 24 | reserved, 0 |
//! | 8192 + 64 × capacity + 64 b | 8 | buffer `b`'s holder bits (bit `k`: subscriber `k`) |
//! | offset of buffer 0 + stride × b | stride | buffer `b` |
//!
//! A frame with a typed header is the header at the start of its buffer and the frame's bytes
//! from the frame offset on; its entry's length is the frame offset plus the frame's length
//! (an entry shorter than the frame offset, which only a dishonest peer stores, is a frame of no
//! bytes to this library). The bytes between the header's end and the frame offset are
//! unspecified. The header is a [`IpcMessage`](crate::IpcMessage) aligned to at most 64
//! bytes; its layout fingerprint (the field at 16) is its
//! [`FINGERPRINT`](crate::IpcMessage::FINGERPRINT), also shown by `posix-ipc shm info --json`,
//! and [`IpcMessage::c_declaration`](crate::IpcMessage::c_declaration) writes its C struct.
//!
//! Sample `i` lives in entry `i % capacity`. The publisher, for sample `i = tail`: (block
//! policy) waits until every cursor of a live, not skipped subscriber is above
//! `i + 1 - capacity`; takes a free buffer and writes the sample; stores the entry's stamp 0,
//! its buffer and length (release), its stamp `i + 1` (release) and the tail `i + 1`
//! (release); wakes the data futex if subscribers sleep; and retires the buffer the entry
//! named before. When it has no free buffer left it issues a `SeqCst` fence and frees the
//! retired buffers whose holder bits are 0 (acquire). A subscriber at cursor `i`: loads
//! the stamp (acquire); if it is `i + 1`, loads buffer and length, sets its holder bit, a
//! `SeqCst` fence, reloads the stamp: still `i + 1` means the sample is its until it clears
//! the bit (release); it stores cursor `i + 2` and, under the block policy, wakes the space futex if
//! the publisher sleeps. If the stamp is not `i + 1` and the tail is above `i`, the sample was
//! overwritten: it moves to `tail + 1 - capacity` and reports the difference as missed. An
//! entry whose stamp is `i + 1` and whose buffer is `u64::MAX` is a gap: samples its
//! publisher (a bridge, a replay) knows were lost before they reached the topic, as many as its
//! length field; the subscriber moves on to `i + 1` and reports them as missed.
//! Instead of holding a sample, a subscriber may copy it: load the stamp (acquire), copy the
//! bytes (as aligned 8-byte atomic loads), an acquire fence, and load the stamp again: the copy
//! counts only if it is still `i + 1`.
//!
//! A subscriber joins by taking an entry of the table whose pid is 0 (compare-and-swap to its
//! pid, then its start time, field 22 of `/proc/self/stat`, and the joined flag at 452),
//! clearing its holder bit on every buffer, storing its cursor, then a full fence before it
//! reads the tail again; it leaves by storing cursor 0, start time 0, pid 0 and waking the
//! space futex. With nothing to read it may sleep: add 1 to the sleeper count, issue
//! `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)` (publishers registered for it skip the fence
//! before they look at the sleeper count), load the data futex word, check the tail again,
//! `FUTEX_WAIT` on the word with a timeout, and subtract 1. `tests/pubsub_c.rs` is a C
//! subscriber written from this description alone.

// Source layout: `topic/` the segment and the protocol on bytes (`layout`, `segment`, the
// publisher's side `publish`, a subscriber's side `subscribe`, copy `sinks`, `describe` for
// ls), `ends.rs` the typed ends, `frames.rs` the byte-frame ends; the header protocol all typed
// segments share is `typed::header`, the futex handshake `typed::signal`.
mod any;
mod ends;
mod frames;
mod records;
mod status;
mod topic;

use std::time::Duration;

pub use crate::typed::describe::Policy;

pub use any::{AnySample, AnySubscriber, TopicInfo};
pub use ends::{Loan, LoanUninit, Publisher, Sample, Subscriber};
pub use frames::{
    Frame, FrameHeader, FrameLoan, FrameLoanUninit, FramePublisher, FrameSubscriber, NoHeader,
    FRAME_FINGERPRINT, FRAME_LEN_MAX,
};
pub use records::{RecordLoan, RecordPublisher, RecordSample, RecordSubscriber};
pub use status::TopicStatus;
pub(crate) use topic::{describe, stored_layout_of};

/// What a topic's segment holds in `/dev/shm` (`footprint()` on either end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Footprint {
    /// The segment's size: every byte of it is reserved when the topic is created.
    pub reserved: u64,
    /// Bytes of memory `/dev/shm` holds for it now (`st_blocks × 512`).
    pub resident: u64,
}

/// Magic bytes at the start of a topic segment.
pub const PUBSUB_MAGIC: [u8; 8] = crate::typed::header::SegmentKind::Topic.magic();
/// Segment layout version.
pub const PUBSUB_VERSION: u32 = 2;
/// Most subscribers a topic admits at once.
pub const PUBSUB_MAX_SUBSCRIBERS: usize = crate::typed::peers::MAX_PEERS;

/// Capacity of a topic of records when [`TopicOptions::capacity`] is not set.
pub const RECORD_CAPACITY_DEFAULT: usize = 16;
/// Most subscribers of a topic of records when [`TopicOptions::max_subscribers`] is not set.
pub const RECORD_SUBSCRIBERS_DEFAULT: usize = PUBSUB_MAX_SUBSCRIBERS;
/// Capacity of a frame topic when [`TopicOptions::capacity`] is not set: frames are large, and
/// every buffer is reserved in `/dev/shm` at creation.
pub const FRAME_CAPACITY_DEFAULT: usize = 4;
/// Most subscribers of a frame topic when [`TopicOptions::max_subscribers`] is not set (each
/// costs a frame buffer).
pub const FRAME_SUBSCRIBERS_DEFAULT: usize = 4;

/// How a topic is made: [`Publisher::create`], [`FramePublisher::create`], and their
/// `create_or_take_over`.
///
/// A topic's segment holds `capacity + max_subscribers + 1` buffers (one per sample kept, one
/// per subscriber holding a sample, one loaned), each the sample's size (frames: the header
/// rounded up to 64 bytes plus the maximum frame length, rounded up to 4096 bytes), plus a
/// control block; all of it is reserved in `/dev/shm` when the topic is created, so a full
/// `/dev/shm` is an error then, never a `SIGBUS` later. [`Publisher::footprint_for`] and
/// [`FramePublisher::footprint_for`] say how many bytes before creating; `footprint()` on a handle
/// says what the segment holds. Unset, the capacity and the subscriber count default to 16
/// and 32 for records, and to 4 and 4 for frames (a 1920×1080×3 frame topic is then 9 frames,
/// 56 MB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOptions {
    capacity: Option<usize>,
    policy: Policy,
    history: usize,
    max_subscribers: Option<usize>,
    stall_timeout: Duration,
    replace_stale: bool,
    pub(crate) mode: u32,
}

impl Default for TopicOptions {
    fn default() -> Self {
        TopicOptions {
            capacity: None,
            policy: Policy::Block,
            history: 0,
            max_subscribers: None,
            stall_timeout: Duration::from_millis(500),
            replace_stale: false,
            mode: 0o600,
        }
    }
}

impl TopicOptions {
    /// [`Policy::Block`], no history, a 500 ms stall timeout; capacity and subscribers: 16 and
    /// 32 for records, 4 and 4 for frames.
    pub fn new() -> TopicOptions {
        TopicOptions::default()
    }

    /// Samples the topic keeps (a power of two, 2 to 65536).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// The policy for slow subscribers.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// How many of the latest samples a new subscriber receives first (less than the capacity).
    /// Only samples of the live publisher count: a subscriber that joins a topic whose
    /// publisher is gone, or was replaced, is not handed the old one's samples as new.
    pub fn history(mut self, history: usize) -> Self {
        self.history = history;
        self
    }

    /// Most subscribers at once (1 to 32). Each costs one buffer of the segment.
    pub fn max_subscribers(mut self, max_subscribers: usize) -> Self {
        self.max_subscribers = Some(max_subscribers);
        self
    }

    /// How long a [`Policy::Block`] publisher waits for a subscriber whose process is stopped
    /// before it skips it (default 500 ms).
    pub fn stall_timeout(mut self, stall_timeout: Duration) -> Self {
        self.stall_timeout = stall_timeout;
        self
    }

    /// For `create_or_take_over`: a stale topic (its publisher and owner gone) of another type
    /// or geometry under the name is removed and a new one made, instead of an
    /// [`ErrorKind::Mismatch`](crate::ErrorKind::Mismatch). The name is removed only if it
    /// still names the segment judged stale. Its subscribers, if any, keep the old segment: those
    /// that do not follow restarts see [`ErrorKind::Disconnected`](crate::ErrorKind::Disconnected);
    /// those that do try to join the new topic and get
    /// [`ErrorKind::Mismatch`](crate::ErrorKind::Mismatch) if its type is not theirs.
    pub fn replace_stale(mut self, replace: bool) -> Self {
        self.replace_stale = replace;
        self
    }

    /// Permission bits of the topic's segment when it is created (default `0o600`: this user
    /// only; the umask applies). Subscribers need read and write permission (they mark what
    /// they hold and where they are in the segment), so `0o660` shares a topic with a group.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
}

/// How a subscriber joins a topic: [`Subscriber::open_with`],
/// [`FrameSubscriber::open_with`] (and `open_with_header_options`).
///
/// ```
/// use std::time::Duration;
/// use posix_ipc::SubscribeOptions;
///
/// // Wait up to 5 s for the publisher to create the topic, and go on with the next publisher
/// // after this one dies or closes (told once with ErrorKind::Restarted).
/// let options = SubscribeOptions::new().wait(Duration::from_secs(5)).follow_restarts(true);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    follow_restarts: bool,
    wait: crate::timeout::Timeout,
    cancel: Option<crate::cancel::CancelToken>,
    wait_set: bool,
    no_spin: bool,
}

impl SubscribeOptions {
    /// Do not wait for the topic, do not follow restarts.
    pub fn new() -> SubscribeOptions {
        SubscribeOptions::default()
    }

    /// Follow restarts: when the publisher has gone (closed, or died) and a new one takes the
    /// topic over, receiving goes on with the new publisher's samples, after one
    /// [`ErrorKind::Restarted`](crate::ErrorKind::Restarted) carrying its generation
    /// ([`Error::generation`](crate::Error::generation)). While no publisher is there, a
    /// receive waits (up to its timeout) instead of returning
    /// [`ErrorKind::Disconnected`](crate::ErrorKind::Disconnected). Samples of the old
    /// publisher not yet received are received first, in order. If the old publisher stopped
    /// cleanly and removed the topic, the subscriber joins the topic made again under the name
    /// (of the same type; generations start again at 1 there); a [`TopicStatus`] taken before
    /// still reads the old one.
    pub fn follow_restarts(mut self, follow: bool) -> Self {
        self.follow_restarts = follow;
        self
    }

    /// Wait up to `timeout` for the topic to exist and be initialised (its publisher may start
    /// later), instead of failing with [`ErrorKind::NotFound`](crate::ErrorKind::NotFound). The
    /// wait sleeps with a backoff from 1 ms to 50 ms between attempts; a [`cancel`](Self::cancel)
    /// token, and Ctrl-C or SIGTERM with [`signals`](crate::signals) on, stop it at once
    /// ([`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled)).
    pub fn wait(mut self, timeout: impl Into<crate::timeout::Timeout>) -> Self {
        self.wait = timeout.into();
        self.wait_set = true;
        self
    }

    /// A token that stops the wait for the topic (and is attached to the subscriber, as
    /// `with_cancel` does).
    pub fn cancel(mut self, token: &crate::cancel::CancelToken) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// Whether a receive that waits spins first (about 4,000 pause instructions and 16 yields,
    /// some 100 µs) before it sleeps on the topic's futex: on by default, the lowest latency
    /// when a core is free for the wait. Off, it sleeps at once: for a thread that shares few
    /// cores with the processes it feeds (a bridge, a recorder), whose spinning would take the
    /// core they need. Measured through the Zenoh bridge on this project's 2-core machine
    /// (`bridge_64` in BENCHMARKS.md, `posix-ipc-bench --only bridge_`): with the exporting
    /// bridge's subscriber spinning, 64-byte samples took 84–90 µs more than raw Zenoh; with it
    /// sleeping at once, 16–24 µs more.
    pub fn spin(mut self, spin: bool) -> Self {
        self.no_spin = !spin;
        self
    }

    pub(in crate::typed::pubsub) fn follows(&self) -> bool {
        self.follow_restarts
    }

    pub(in crate::typed::pubsub) fn spins(&self) -> bool {
        !self.no_spin
    }

    pub(in crate::typed::pubsub) fn token(&self) -> Option<crate::cancel::CancelToken> {
        self.cancel.clone()
    }

    /// Opens with `open` once, or, if asked, until the topic is there.
    pub(in crate::typed::pubsub) fn opening<T>(
        &self,
        mut open: impl FnMut() -> crate::error::Result<T>,
    ) -> crate::error::Result<T> {
        if !self.wait_set {
            return open();
        }
        crate::cancel::open_wait(self.wait, self.cancel.as_ref(), open)
    }
}
