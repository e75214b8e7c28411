//! Variable-size byte frames: [`FramePublisher`], [`FrameSubscriber`], [`FrameLoan`],
//! [`FrameLoanUninit`] and [`Frame`].

use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use super::ends::{async_hooks, subscriber_methods, topic_end_methods, RawLoan};
use super::topic::{object, Held, PubCore, SubCore, Topic, SHAPE_FRAMES};
use super::{Policy, TopicOptions};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::timeout::Timeout;
use crate::typed::record::RecordType;

/// The layout fingerprint a frame topic carries in its header (`"PIPCFRM1"`).
pub const FRAME_FINGERPRINT: u64 = u64::from_be_bytes(*b"PIPCFRM1");

/// Largest frame a topic may be created for: 1 GiB.
pub const FRAME_LEN_MAX: usize = crate::typed::RECORD_SIZE_MAX;

fn frame_record(max_frame_len: usize) -> RecordType {
    RecordType::new("byte frames", max_frame_len, FRAME_FINGERPRINT)
}

/// The publishing end of a topic of byte frames of up to a size fixed at creation (1 byte to
/// 1 GiB): camera images, point clouds, serialised messages.
///
/// ```
/// use posix_ipc::{FramePublisher, FrameSubscriber, Policy, TopicOptions};
///
/// # let name = format!("/doc-frames-{}", std::process::id());
/// let options = TopicOptions::new().capacity(4).policy(Policy::Overwrite);
/// let mut publisher = FramePublisher::create(&name, 1 << 20, &options)?;  // frames up to 1 MiB
/// let mut subscriber = FrameSubscriber::open(&name)?;
///
/// let mut frame = publisher.loan(640 * 480)?;      // zeroed, in the segment
/// frame[0] = 0xff;
/// frame.send();
/// publisher.send(b"a small frame")?;               // or copied in
///
/// let got = subscriber.recv()?;                    // &[u8] in the segment
/// assert_eq!((got.len(), got[0]), (640 * 480, 0xff));
/// drop(got);
/// assert_eq!(subscriber.try_recv()?, b"a small frame");
/// publisher.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct FramePublisher {
    core: PubCore,
}

impl FramePublisher {
    /// Creates the topic (exclusive) for frames of up to `max_frame_len` bytes and becomes its
    /// publisher.
    ///
    /// The segment is sized for `capacity + max_subscribers + 1` frames of `max_frame_len`
    /// (one per sample kept, one per subscriber holding one, one loaned); `/dev/shm` pages are
    /// used only as frames are written, so mostly `capacity + 1` frames' worth.
    pub fn create(name: &str, max_frame_len: usize, options: &TopicOptions) -> Result<Self> {
        let topic = Topic::create(name, &frame_record(max_frame_len), SHAPE_FRAMES, options)?;
        Ok(FramePublisher {
            core: PubCore::new(topic)?,
        })
    }

    /// As [`create`](Self::create), owned: the topic is removed when the owner is dropped.
    pub fn create_owned(
        name: &str,
        max_frame_len: usize,
        options: &TopicOptions,
    ) -> Result<crate::Owned<Self>> {
        Self::create(name, max_frame_len, options).map(crate::Owned::new)
    }

    /// Opens an existing frame topic as its publisher (after the previous one closed or died).
    pub fn open(name: &str) -> Result<Self> {
        let topic = Topic::open(name, &frame_record(1), SHAPE_FRAMES, true, None)?;
        Ok(FramePublisher {
            core: PubCore::new(topic)?,
        })
    }

    /// The largest frame, fixed at creation.
    pub fn max_frame_len(&self) -> usize {
        self.core.topic.max_payload
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len > self.core.topic.max_payload {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                Operation::Send,
                object(self.name()),
                format!(
                    "a frame of {len} bytes is longer than the topic's maximum of {} bytes, \
                     fixed when it was created (FramePublisher::create's max_frame_len)",
                    self.core.topic.max_payload
                ),
            ));
        }
        Ok(())
    }

    /// Loans a frame of `len` bytes, zeroed, waiting (with [`Policy::Block`]) until the slowest
    /// subscriber leaves room.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MessageTooLarge`] if `len` is over the maximum frame length.
    pub fn loan(&mut self, len: usize) -> Result<FrameLoan<'_>> {
        self.loan_with(len, Timeout::Infinite)
    }

    /// As [`loan`](Self::loan), with any [`Timeout`].
    pub fn loan_with(&mut self, len: usize, timeout: impl Into<Timeout>) -> Result<FrameLoan<'_>> {
        let loan = self.loan_uninit_with(len, timeout.into())?;
        // SAFETY: the buffer is loaned to this publisher alone and holds at least `len` bytes
        // (checked against the maximum frame length, the buffer's size).
        unsafe { std::ptr::write_bytes(loan.raw.ptr(), 0, len) };
        Ok(FrameLoan { raw: loan.raw })
    }

    /// Loans a frame of `len` bytes without initialising it: fill it through
    /// [`as_uninit`](FrameLoanUninit::as_uninit) or
    /// [`copy_from_slice`](FrameLoanUninit::copy_from_slice). Saves the zeroing of
    /// [`loan`](Self::loan) when every byte is written anyway.
    pub fn loan_uninit(&mut self, len: usize) -> Result<FrameLoanUninit<'_>> {
        self.loan_uninit_with(len, Timeout::Infinite)
    }

    fn loan_uninit_with(&mut self, len: usize, timeout: Timeout) -> Result<FrameLoanUninit<'_>> {
        self.check_len(len)?;
        let buffer = self.core.loan(timeout.deadline())?;
        Ok(FrameLoanUninit {
            raw: RawLoan {
                core: &mut self.core,
                buffer,
                len,
                sent: false,
            },
        })
    }

    /// Publishes a copy of `bytes`, waiting as [`loan`](Self::loan) does.
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.send_with(bytes, Timeout::Infinite)
    }

    /// Publishes a copy of `bytes` with any [`Timeout`].
    pub fn send_with(&mut self, bytes: &[u8], timeout: impl Into<Timeout>) -> Result<()> {
        self.loan_uninit_with(bytes.len(), timeout.into())?
            .copy_from_slice(bytes)?
            .send();
        Ok(())
    }
}

/// A loaned frame: bytes in the segment, writable, published by [`send`](Self::send) without a
/// copy. Dropped unsent, its buffer goes back to the publisher.
pub struct FrameLoan<'a> {
    raw: RawLoan<'a>,
}

impl FrameLoan<'_> {
    /// Publishes the frame (no copy).
    pub fn send(self) {
        self.raw.send();
    }

    /// Shortens the frame to `len` bytes (no effect if it is not longer).
    pub fn truncate(&mut self, len: usize) {
        self.raw.len = self.raw.len.min(len);
    }
}

impl Deref for FrameLoan<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the buffer is loaned to this publisher alone, holds at least `len` bytes
        // (at most the maximum frame length, the buffer's size), which were initialised
        // (zeroed, copied, or promised by `assume_init`), and stays mapped while the loan
        // borrows the publisher.
        unsafe { std::slice::from_raw_parts(self.raw.ptr(), self.raw.len) }
    }
}

impl DerefMut for FrameLoan<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`; the loan is borrowed mutably, so this is the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.raw.ptr(), self.raw.len) }
    }
}

/// A loaned frame not yet initialised (see [`FramePublisher::loan_uninit`]).
pub struct FrameLoanUninit<'a> {
    raw: RawLoan<'a>,
}

impl<'a> FrameLoanUninit<'a> {
    /// The frame's bytes, as uninitialised memory to write.
    pub fn as_uninit(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: as in `FrameLoan::deref_mut`; `MaybeUninit<u8>` has no validity requirement.
        unsafe { std::slice::from_raw_parts_mut(self.raw.ptr().cast(), self.raw.len) }
    }

    /// Fills the frame with `bytes`, which becomes its length (at most the loaned length).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MessageTooLarge`] if `bytes` is longer than the loan (the buffer goes back
    /// to the publisher, nothing is published).
    pub fn copy_from_slice(mut self, bytes: &[u8]) -> Result<FrameLoan<'a>> {
        if bytes.len() > self.raw.len {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                Operation::Send,
                object(self.raw.core.topic.shm.name()),
                format!(
                    "{} bytes do not fit the {}-byte frame this loan was made for: loan at \
                     least as many bytes as you copy",
                    bytes.len(),
                    self.raw.len
                ),
            ));
        }
        // SAFETY: the destination is the loaned buffer (at least `len` bytes, ours alone, and
        // `bytes.len() <= len` was checked above); `bytes` is the caller's memory, which cannot
        // be inside the loaned buffer while we hold it mutably.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.raw.ptr(), bytes.len()) };
        self.raw.len = bytes.len();
        Ok(FrameLoan { raw: self.raw })
    }

    /// The frame, initialised by the caller.
    ///
    /// # Safety
    ///
    /// Every byte of the frame must have been written through [`as_uninit`](Self::as_uninit).
    pub unsafe fn assume_init(self) -> FrameLoan<'a> {
        FrameLoan { raw: self.raw }
    }
}

/// The subscribing end of a frame topic. See [`FramePublisher`] for an example.
pub struct FrameSubscriber {
    core: SubCore,
}

impl FrameSubscriber {
    /// Opens a frame topic of any maximum frame length and joins it.
    pub fn open(name: &str) -> Result<Self> {
        Self::open_with(name, None)
    }

    /// Opens a frame topic, requiring this maximum frame length ([`ErrorKind::Mismatch`]
    /// otherwise).
    pub fn open_checked(name: &str, max_frame_len: usize) -> Result<Self> {
        Self::open_with(name, Some(max_frame_len))
    }

    fn open_with(name: &str, want: Option<usize>) -> Result<Self> {
        let topic = Topic::open(name, &frame_record(1), SHAPE_FRAMES, false, want)?;
        Ok(FrameSubscriber {
            core: SubCore::new(topic)?,
        })
    }

    /// The largest frame of the topic.
    pub fn max_frame_len(&self) -> usize {
        self.core.topic.max_payload
    }

    /// The next frame, in place: a guard that derefs to the bytes in the segment. Waits as
    /// [`Subscriber::recv`](super::Subscriber::recv) does, with the same errors.
    pub fn recv(&mut self) -> Result<Frame<'_>> {
        self.recv_with(Timeout::Infinite)
    }

    /// As [`recv`](Self::recv), waiting at most `timeout`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Frame<'_>> {
        self.recv_with(timeout)
    }

    /// As [`recv`](Self::recv), with any [`Timeout`].
    pub fn recv_with(&mut self, timeout: impl Into<Timeout>) -> Result<Frame<'_>> {
        let held = self.core.next(timeout.into().deadline())?;
        Ok(Frame {
            core: &mut self.core,
            held,
        })
    }

    /// The next frame copied into `out` (replacing its contents); returns its length. The copy
    /// is a seqlock read, as [`Subscriber::recv_copy`](super::Subscriber::recv_copy)'s.
    pub fn recv_into(&mut self, out: &mut Vec<u8>, timeout: impl Into<Timeout>) -> Result<usize> {
        let (_, len) = self.core.next_copy(timeout.into().deadline(), out)?;
        Ok(len)
    }

    /// The next frame, copied out, without waiting: [`ErrorKind::WouldBlock`] if none.
    pub fn try_recv(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.recv_into(&mut out, Timeout::Immediate)?;
        Ok(out)
    }
}

/// A received frame, in place: derefs to its bytes in the segment (mapped read-only). The
/// publisher does not reuse its buffer until the guard is dropped.
pub struct Frame<'a> {
    core: &'a mut SubCore,
    held: Held,
}

impl Frame<'_> {
    /// The frame's number: how many samples the topic had published before it.
    pub fn index(&self) -> u64 {
        self.held.index
    }
}

impl Deref for Frame<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: this subscriber holds the buffer (holder bit set, stamp re-checked), so an
        // honest publisher does not write it until the guard is dropped; it was published
        // complete (acquire on the stamp); `len` was checked against the maximum frame length,
        // the buffer's size, so the bytes lie inside the mapping.
        unsafe {
            std::slice::from_raw_parts(self.core.topic.payload(self.held.buffer), self.held.len)
        }
    }
}

impl std::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("index", &self.index())
            .field("len", &self.len())
            .finish()
    }
}

impl std::fmt::Debug for FrameLoan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameLoan")
            .field("len", &self.len())
            .finish()
    }
}

impl Drop for Frame<'_> {
    fn drop(&mut self) {
        self.core.release();
    }
}

topic_end_methods!(FramePublisher, "FramePublisher");
async_hooks!(FramePublisher, publisher);
async_hooks!(FrameSubscriber, subscriber);
subscriber_methods!(FrameSubscriber);
topic_end_methods!(FrameSubscriber, "FrameSubscriber");
