//! Variable-size byte frames: [`FramePublisher`], [`FrameSubscriber`], [`FrameLoan`],
//! [`FrameLoanUninit`] and [`Frame`], with no header ([`NoHeader`]) or a typed header
//! ([`FrameHeader`]) before each frame's bytes.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use super::ends::{async_hooks, subscriber_methods, topic_end_methods, RawLoan};
use super::topic::{
    create_or_take_over, footprint_of, object, Held, PubCore, SplitSink, SubCore, TakeOver, Topic,
    SHAPE_FRAMES,
};
use super::{Policy, SubscribeOptions, TopicOptions};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::timeout::Timeout;
use crate::typed::record::RecordType;
use crate::typed::{bytemuck, IpcMessage};

/// The layout fingerprint a frame topic without a typed header carries in its header
/// (`"PIPCFRM1"`); a topic whose frames have a typed header carries the header type's.
pub const FRAME_FINGERPRINT: u64 = u64::from_be_bytes(*b"PIPCFRM1");

/// Largest frame a topic may be created for: 1 GiB (with a typed header, the header and the
/// frame together, the header taking its size rounded up to 64 bytes).
pub const FRAME_LEN_MAX: usize = crate::typed::RECORD_SIZE_MAX;

/// The header a frame topic's frames carry before their bytes: [`NoHeader`] (the default), or
/// any [`IpcMessage`] type, such as an image's width, height, format and timestamp:
/// `FramePublisher::<Image>::create_with_header`, `FrameSubscriber::<Image>::open_with_header`.
///
/// The header's type (name, size and layout fingerprint) is kept in the topic and checked when
/// a subscriber or a publisher opens it, as a [`Subscriber<T>`](super::Subscriber)'s type is.
/// The header lies at the start of each frame's buffer, the frame's bytes after it, from the
/// header's size rounded up to 64 bytes on. Sealed: implemented for [`NoHeader`] and every
/// [`IpcMessage`].
pub trait FrameHeader: sealed::Sealed + 'static {
    /// The header's record type, `None` for [`NoHeader`].
    #[doc(hidden)]
    fn header_type() -> Option<RecordType>;
    /// The header's alignment (1 for [`NoHeader`]).
    #[doc(hidden)]
    fn header_align() -> usize;
    /// The header's layout, stored in the topic for tools (`None` for [`NoHeader`]).
    #[doc(hidden)]
    fn header_layout() -> Option<crate::typed::LayoutDesc>;
}

/// No header: a frame is its bytes alone (the default of [`FramePublisher`] and
/// [`FrameSubscriber`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoHeader;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::NoHeader {}
    impl<H: crate::typed::IpcMessage> Sealed for H {}
}

impl FrameHeader for NoHeader {
    fn header_type() -> Option<RecordType> {
        None
    }
    fn header_align() -> usize {
        1
    }
    fn header_layout() -> Option<crate::typed::LayoutDesc> {
        None
    }
}

impl<H: IpcMessage> FrameHeader for H {
    fn header_type() -> Option<RecordType> {
        Some(RecordType::of::<H>())
    }
    fn header_align() -> usize {
        std::mem::align_of::<H>()
    }
    fn header_layout() -> Option<crate::typed::LayoutDesc> {
        Some(crate::typed::LayoutDesc::from(&H::LAYOUT))
    }
}

/// How a frame topic of header `H` is described to `Topic`: the record (named for the header,
/// with its fingerprint; `size` bytes of buffer a frame may use, header included) and the
/// header's exact size (0: none).
fn frame_record<H: FrameHeader>(
    name: &str,
    op: Operation,
    max_frame_len: usize,
) -> Result<(RecordType, usize)> {
    frame_record_of(name, op, max_frame_len, H::header_type(), H::header_align())
}

/// As [`frame_record`], for a header type given at run time (`None`: no header), of
/// alignment `align`.
pub(super) fn frame_record_of(
    name: &str,
    op: Operation,
    max_frame_len: usize,
    header: Option<RecordType>,
    align: usize,
) -> Result<(RecordType, usize)> {
    let Some(header) = header else {
        return Ok((
            RecordType::new("byte frames", max_frame_len, FRAME_FINGERPRINT),
            0,
        ));
    };
    let bad = |detail: String| Error::new(ErrorKind::InvalidArgument, op, object(name), detail);
    if align > 64 {
        return Err(bad(format!(
            "frame header {} is aligned to {align} bytes; frame buffers are aligned to 64",
            header.name,
        )));
    }
    if header.size == 0 {
        return Err(bad(format!(
            "frame header {} is 0 bytes: a typed header has at least one byte (use NoHeader \
             for none)",
            header.name
        )));
    }
    if max_frame_len == 0 {
        return Err(bad(
            "the maximum frame length is 0: a frame topic's frames are 1 byte to 1 GiB".to_string(),
        ));
    }
    let offset = frame_offset(header.size);
    let total = offset
        .checked_add(max_frame_len)
        .filter(|&t| t <= FRAME_LEN_MAX)
        .ok_or_else(|| {
            bad(format!(
                "frames of up to {max_frame_len} bytes after a {}-byte {} header (at {offset}) \
                 need more than the {FRAME_LEN_MAX} bytes (1 GiB) a buffer may have",
                header.size, header.name
            ))
        })?;
    let size = header.size;
    Ok((
        RecordType::new(header.name, total, header.fingerprint),
        size,
    ))
}

fn topic_offset(core: &SubCore) -> usize {
    core.topic.frame_offset
}

/// Where a frame's bytes start in its buffer, after a header of `header_size` bytes.
pub(super) fn frame_offset(header_size: usize) -> usize {
    header_size.next_multiple_of(64)
}

/// The publishing end of a topic of byte frames of up to a size fixed at creation (1 byte to
/// 1 GiB): camera images, point clouds, serialised messages. With a typed header `H` (see
/// [`FrameHeader`]), each frame also carries an `H` before its bytes.
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
///
/// With a typed header:
///
/// ```
/// use posix_ipc::{FramePublisher, FrameSubscriber, IpcMessage, TopicOptions};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// struct Image { width: u32, height: u32, timestamp_ns: u64 }
///
/// # let name = format!("/doc-frames-header-{}", std::process::id());
/// let mut publisher =
///     FramePublisher::<Image>::create_with_header(&name, 1 << 20, &TopicOptions::new())?;
/// let mut subscriber = FrameSubscriber::<Image>::open_with_header(&name)?;  // checks Image
///
/// let mut frame = publisher.loan(640 * 480)?;
/// *frame.header_mut() = Image { width: 640, height: 480, timestamp_ns: 1 };
/// frame[0] = 0xff;
/// frame.send();
///
/// let got = subscriber.recv()?;
/// assert_eq!((got.header().width, got.len(), got[0]), (640, 640 * 480, 0xff));
/// # drop(got);
/// # publisher.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct FramePublisher<H = NoHeader> {
    core: PubCore,
    offset: usize,
    _header: PhantomData<fn(H)>,
}

impl FramePublisher {
    /// Creates the topic (exclusive) for frames of up to `max_frame_len` bytes and becomes its
    /// publisher.
    ///
    /// The segment holds `capacity + max_subscribers + 1` frames of `max_frame_len` (one per
    /// sample kept, one per subscriber holding one, one loaned), rounded up to 4096 bytes each,
    /// all reserved in `/dev/shm` now: [`footprint_for`](Self::footprint_for) says how much before
    /// creating. Unset, capacity and subscribers are 4 and 4 (see [`TopicOptions`]).
    pub fn create(name: &str, max_frame_len: usize, options: &TopicOptions) -> Result<Self> {
        Self::make(name, max_frame_len, options)
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
        Self::reopen(name)
    }

    /// Creates the topic, or takes over a stale one of frames without a header, of this
    /// maximum length and these options, and owns it: as
    /// [`Publisher::create_or_take_over`](super::Publisher::create_or_take_over).
    pub fn create_or_take_over(
        name: &str,
        max_frame_len: usize,
        options: &TopicOptions,
    ) -> Result<crate::Owned<Self>> {
        Self::make_or_take_over(name, max_frame_len, options)
    }

    /// Bytes of `/dev/shm` a topic of frames of up to `max_frame_len` bytes made with
    /// `options` reserves (all of it at creation).
    pub fn footprint_for(max_frame_len: usize, options: &TopicOptions) -> Result<u64> {
        let (record, _) = frame_record::<NoHeader>("", Operation::Create, max_frame_len)?;
        footprint_of(record.size, None, options.resolved(true))
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

impl<H: IpcMessage> FramePublisher<H> {
    /// Creates the topic (exclusive) for frames of up to `max_frame_len` bytes, each with a
    /// header `H`, and becomes its publisher: `FramePublisher::<Image>::create_with_header`
    /// (`create` and `open` are for frames without a header). Sized as [`FramePublisher::create`]'s, each
    /// buffer also holding the header (its size rounded up to 64 bytes).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `H` is aligned to more than 64 bytes, or the header
    /// and the frame together exceed 1 GiB; as [`FramePublisher::create`] otherwise.
    pub fn create_with_header(
        name: &str,
        max_frame_len: usize,
        options: &TopicOptions,
    ) -> Result<Self> {
        Self::make(name, max_frame_len, options)
    }

    /// As [`create_with_header`](Self::create_with_header), owned: the topic is removed when
    /// the owner is dropped.
    pub fn create_owned_with_header(
        name: &str,
        max_frame_len: usize,
        options: &TopicOptions,
    ) -> Result<crate::Owned<Self>> {
        Self::make(name, max_frame_len, options).map(crate::Owned::new)
    }

    /// Opens an existing frame topic whose frames carry an `H` header as its publisher
    /// ([`ErrorKind::Mismatch`] for another header type or none).
    pub fn open_with_header(name: &str) -> Result<Self> {
        Self::reopen(name)
    }

    /// Creates the topic, or takes over a stale one of frames with an `H` header, of this
    /// maximum length and these options, and owns it: as
    /// [`Publisher::create_or_take_over`](super::Publisher::create_or_take_over).
    pub fn create_or_take_over_with_header(
        name: &str,
        max_frame_len: usize,
        options: &TopicOptions,
    ) -> Result<crate::Owned<Self>> {
        Self::make_or_take_over(name, max_frame_len, options)
    }

    /// Bytes of `/dev/shm` a topic of frames of up to `max_frame_len` bytes after an `H`
    /// header, made with `options`, reserves (all of it at creation).
    pub fn footprint_for_header(max_frame_len: usize, options: &TopicOptions) -> Result<u64> {
        let (record, _) = frame_record::<H>("", Operation::Create, max_frame_len)?;
        footprint_of(
            record.size,
            H::header_layout().as_ref(),
            options.resolved(true),
        )
    }

    /// Publishes a copy of `header` and `bytes`, waiting as [`loan`](Self::loan) does.
    pub fn send_with_header(&mut self, header: &H, bytes: &[u8]) -> Result<()> {
        self.send_with_header_with(header, bytes, Timeout::Infinite)
    }

    /// As [`send_with_header`](Self::send_with_header), with any [`Timeout`].
    pub fn send_with_header_with(
        &mut self,
        header: &H,
        bytes: &[u8],
        timeout: impl Into<Timeout>,
    ) -> Result<()> {
        let mut loan = self.loan_uninit_with(bytes.len(), timeout.into())?;
        *loan.header_mut() = *header;
        loan.copy_from_slice(bytes)?.send();
        Ok(())
    }
}

impl<H: FrameHeader> FramePublisher<H> {
    fn make(name: &str, max_frame_len: usize, options: &TopicOptions) -> Result<Self> {
        let (record, header_size) = frame_record::<H>(name, Operation::Create, max_frame_len)?;
        let (open, take_over) = match H::header_type() {
            Some(h) => (
                format!("FrameSubscriber::<{}>::open_with_header", h.name),
                format!(
                    "FramePublisher::<{}>::create_or_take_over_with_header",
                    h.name
                ),
            ),
            None => (
                "FrameSubscriber::open".to_string(),
                "FramePublisher::create_or_take_over".to_string(),
            ),
        };
        let topic = Topic::create(
            name,
            &record,
            SHAPE_FRAMES,
            header_size,
            H::header_layout().as_ref(),
            options,
        )
        .map_err(|e| crate::typed::header::exists_naming(e, &open, &take_over))?;
        Self::with(topic)
    }

    fn make_or_take_over(
        name: &str,
        max_frame_len: usize,
        options: &TopicOptions,
    ) -> Result<crate::Owned<Self>> {
        let (record, header_size) = frame_record::<H>(name, Operation::Create, max_frame_len)?;
        let subscribe = match H::header_type() {
            Some(h) => format!("FrameSubscriber::<{}>::open_with_header", h.name),
            None => "FrameSubscriber::open".to_string(),
        };
        let layout = H::header_layout();
        let how = TakeOver {
            record: &record,
            shape: SHAPE_FRAMES,
            header_size,
            frame_len: Some(max_frame_len),
            layout: layout.as_ref(),
            subscribe: &subscribe,
        };
        let (topic, _) = create_or_take_over(name, &how, options)?;
        Self::with(topic).map(crate::Owned::new)
    }

    fn reopen(name: &str) -> Result<Self> {
        let (record, header_size) = frame_record::<H>(name, Operation::Open, 1)?;
        let topic = Topic::open(name, &record, SHAPE_FRAMES, header_size, true, None)?;
        Self::with(topic)
    }

    fn with(topic: Topic) -> Result<Self> {
        Ok(FramePublisher {
            offset: topic.frame_offset,
            core: PubCore::new(topic)?,
            _header: PhantomData,
        })
    }

    /// The largest frame, fixed at creation (not counting the header).
    pub fn max_frame_len(&self) -> usize {
        self.core.topic.max_payload - self.offset
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len > self.max_frame_len() {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                Operation::Send,
                object(self.name()),
                format!(
                    "a frame of {len} bytes is longer than the topic's maximum of {} bytes, \
                     fixed when it was created (FramePublisher::create's max_frame_len)",
                    self.max_frame_len()
                ),
            ));
        }
        Ok(())
    }

    /// Loans a frame of `len` bytes, zeroed (and its header, if it has one), waiting (with
    /// [`Policy::Block`]) until the slowest subscriber leaves room.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MessageTooLarge`] if `len` is over the maximum frame length.
    pub fn loan(&mut self, len: usize) -> Result<FrameLoan<'_, H>> {
        self.loan_with(len, Timeout::Infinite)
    }

    /// As [`loan`](Self::loan), with any [`Timeout`].
    pub fn loan_with(
        &mut self,
        len: usize,
        timeout: impl Into<Timeout>,
    ) -> Result<FrameLoan<'_, H>> {
        let loan = self.loan_uninit_with(len, timeout.into())?;
        // SAFETY: the buffer is loaned to this publisher alone and holds at least
        // `offset + len` bytes (`len` was checked against the maximum frame length, and the
        // buffer holds the header's `offset` bytes and a frame of the maximum length).
        unsafe { std::ptr::write_bytes(loan.raw.ptr().add(loan.offset), 0, len) };
        Ok(FrameLoan {
            raw: loan.raw,
            offset: loan.offset,
            _header: PhantomData,
        })
    }

    /// Loans a frame of `len` bytes without zeroing it: its bytes are whatever an earlier frame
    /// in that buffer left (or zeros), so write all of them, through the
    /// [`FrameLoan`]'s `&mut [u8]`. Saves the zeroing of [`loan`](Self::loan) (a frame's size
    /// of memory bandwidth) without `unsafe`. A header is zeroed all the same.
    ///
    /// ```
    /// use posix_ipc::{FramePublisher, TopicOptions};
    /// # let name = format!("/doc-frames-unzeroed-{}", std::process::id());
    /// let mut camera = FramePublisher::create_or_take_over(&name, 1 << 16, &TopicOptions::new())?;
    /// let mut frame = camera.loan_unzeroed(1 << 16)?;
    /// for (i, byte) in frame.iter_mut().enumerate() {
    ///     *byte = i as u8;                                 // every byte written
    /// }
    /// frame.send();
    /// # Ok::<(), posix_ipc::Error>(())
    /// ```
    pub fn loan_unzeroed(&mut self, len: usize) -> Result<FrameLoan<'_, H>> {
        let loan = self.loan_uninit_with(len, Timeout::Infinite)?;
        // Bytes of a shared-memory object are always initialised: its pages are zero-filled
        // by the kernel when the object is sized, and only ever written with bytes since (by
        // this library or a peer), so the loaned frame's stale contents are valid `u8`s.
        Ok(FrameLoan {
            raw: loan.raw,
            offset: loan.offset,
            _header: PhantomData,
        })
    }

    /// Loans a frame of `len` bytes without initialising it: fill it through
    /// [`as_uninit`](FrameLoanUninit::as_uninit) or
    /// [`copy_from_slice`](FrameLoanUninit::copy_from_slice). Saves the zeroing of
    /// [`loan`](Self::loan) when every byte is written anyway. A header is zeroed all the same.
    pub fn loan_uninit(&mut self, len: usize) -> Result<FrameLoanUninit<'_, H>> {
        self.loan_uninit_with(len, Timeout::Infinite)
    }

    fn loan_uninit_with(&mut self, len: usize, timeout: Timeout) -> Result<FrameLoanUninit<'_, H>> {
        self.check_len(len)?;
        let buffer = self.core.loan(timeout.deadline())?;
        let offset = self.offset;
        let raw = RawLoan {
            core: &mut self.core,
            buffer,
            len: offset + len,
            sent: false,
        };
        // SAFETY: the buffer is loaned to this publisher alone and begins with the header's
        // `offset` bytes (0 without a header); all-zero bytes are a valid header (`H: Pod`).
        unsafe { std::ptr::write_bytes(raw.ptr(), 0, offset) };
        Ok(FrameLoanUninit {
            raw,
            offset,
            _header: PhantomData,
        })
    }
}

/// A loaned frame: bytes in the segment, writable, published by [`send`](Self::send) without a
/// copy. Dropped unsent, its buffer goes back to the publisher.
pub struct FrameLoan<'a, H = NoHeader> {
    raw: RawLoan<'a>,
    offset: usize,
    _header: PhantomData<&'a mut H>,
}

impl<H> FrameLoan<'_, H> {
    /// Publishes the frame (no copy).
    pub fn send(self) {
        self.raw.send();
    }

    /// Shortens the frame to `len` bytes (no effect if it is not longer).
    pub fn truncate(&mut self, len: usize) {
        // `raw.len` is at least `offset` (set so by the loan), and stays so.
        self.raw.len = self.offset + len.min(self.raw.len - self.offset);
    }
}

impl<H: IpcMessage> FrameLoan<'_, H> {
    /// The frame's header.
    pub fn header(&self) -> &H {
        // SAFETY: the buffer is loaned to this publisher alone, begins 64-aligned with
        // `size_of::<H>()` bytes of header (checked alignment at most 64), initialised (zeroed
        // at the loan or written since), and any bytes are a valid `H` (`H: Pod`).
        unsafe { &*self.raw.ptr().cast::<H>() }
    }

    /// The frame's header, to write.
    pub fn header_mut(&mut self) -> &mut H {
        // SAFETY: as in `header`; the loan is borrowed mutably, so this is the only reference.
        unsafe { &mut *self.raw.ptr().cast::<H>() }
    }
}

impl<H> Deref for FrameLoan<'_, H> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the buffer is loaned to this publisher alone, holds at least `len` bytes
        // (the header's `offset` and at most the maximum frame length), of which the frame's
        // from `offset` on were initialised (zeroed, copied, or promised by `assume_init`), and
        // stays mapped while the loan borrows the publisher.
        unsafe {
            std::slice::from_raw_parts(self.raw.ptr().add(self.offset), self.raw.len - self.offset)
        }
    }
}

impl<H> DerefMut for FrameLoan<'_, H> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`; the loan is borrowed mutably, so this is the only reference.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.raw.ptr().add(self.offset),
                self.raw.len - self.offset,
            )
        }
    }
}

/// A loaned frame not yet initialised (see [`FramePublisher::loan_uninit`]).
pub struct FrameLoanUninit<'a, H = NoHeader> {
    raw: RawLoan<'a>,
    offset: usize,
    _header: PhantomData<&'a mut H>,
}

impl<H: IpcMessage> FrameLoanUninit<'_, H> {
    /// The frame's header (zeroed at the loan).
    pub fn header(&self) -> &H {
        // SAFETY: the buffer is loaned to this publisher alone and begins 64-aligned with
        // `size_of::<H>()` bytes of header, zeroed by the loan or written since (a valid `H`:
        // `H: Pod`).
        unsafe { &*self.raw.ptr().cast::<H>() }
    }

    /// The frame's header (zeroed at the loan), to write.
    pub fn header_mut(&mut self) -> &mut H {
        // SAFETY: the buffer is loaned to this publisher alone and begins 64-aligned with
        // `size_of::<H>()` bytes of header, zeroed by the loan (a valid `H`: `H: Pod`); the loan
        // is borrowed mutably, so this is the only reference.
        unsafe { &mut *self.raw.ptr().cast::<H>() }
    }
}

impl<'a, H> FrameLoanUninit<'a, H> {
    /// The frame's bytes, as uninitialised memory to write.
    pub fn as_uninit(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: as in `FrameLoan::deref_mut`; `MaybeUninit<u8>` has no validity requirement.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.raw.ptr().add(self.offset).cast(),
                self.raw.len - self.offset,
            )
        }
    }

    /// Fills the frame with `bytes`, which becomes its length (at most the loaned length).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MessageTooLarge`] if `bytes` is longer than the loan (the buffer goes back
    /// to the publisher, nothing is published).
    pub fn copy_from_slice(mut self, bytes: &[u8]) -> Result<FrameLoan<'a, H>> {
        let loaned = self.raw.len - self.offset;
        if bytes.len() > loaned {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                Operation::Send,
                object(self.raw.core.topic.shm.name()),
                format!(
                    "{} bytes do not fit the {loaned}-byte frame this loan was made for: loan \
                     at least as many bytes as you copy",
                    bytes.len()
                ),
            ));
        }
        // SAFETY: the destination is the loaned buffer's frame (at least `loaned` bytes from
        // `offset`, ours alone, and `bytes.len() <= loaned` was checked above); `bytes` is the
        // caller's memory, which cannot be inside the loaned buffer while we hold it mutably.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.raw.ptr().add(self.offset),
                bytes.len(),
            )
        };
        self.raw.len = self.offset + bytes.len();
        Ok(FrameLoan {
            raw: self.raw,
            offset: self.offset,
            _header: PhantomData,
        })
    }

    /// The frame, initialised by the caller.
    ///
    /// # Safety
    ///
    /// Every byte of the frame must have been written through [`as_uninit`](Self::as_uninit).
    pub unsafe fn assume_init(self) -> FrameLoan<'a, H> {
        FrameLoan {
            raw: self.raw,
            offset: self.offset,
            _header: PhantomData,
        }
    }
}

/// The subscribing end of a frame topic. See [`FramePublisher`] for examples.
pub struct FrameSubscriber<H = NoHeader> {
    core: SubCore,
    offset: usize,
    _header: PhantomData<fn() -> H>,
}

impl FrameSubscriber {
    /// Opens a frame topic (without a header) of any maximum frame length and joins it.
    pub fn open(name: &str) -> Result<Self> {
        Self::join(name, None, &SubscribeOptions::new())
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the topic to exist (see
    /// [`SubscribeOptions::wait`]).
    pub fn open_wait(name: &str, timeout: impl Into<Timeout>) -> Result<Self> {
        Self::join(name, None, &SubscribeOptions::new().wait(timeout))
    }

    /// As [`open`](Self::open), as `options` says (waiting for the topic, following restarts).
    pub fn open_with(name: &str, options: &SubscribeOptions) -> Result<Self> {
        Self::join(name, None, options)
    }

    /// Opens a frame topic, requiring this maximum frame length ([`ErrorKind::Mismatch`]
    /// otherwise).
    pub fn open_checked(name: &str, max_frame_len: usize) -> Result<Self> {
        Self::join(name, Some(max_frame_len), &SubscribeOptions::new())
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

impl<H: IpcMessage> FrameSubscriber<H> {
    /// Opens a frame topic whose frames carry an `H` header, of any maximum frame length, and
    /// joins it ([`ErrorKind::Mismatch`] for another header type or none). Name the header
    /// type: `FrameSubscriber::<Image>::open_with_header(name)`.
    pub fn open_with_header(name: &str) -> Result<Self> {
        Self::join(name, None, &SubscribeOptions::new())
    }

    /// As [`open_with_header`](Self::open_with_header), waiting up to `timeout` for the topic
    /// to exist (see [`SubscribeOptions::wait`]).
    pub fn open_wait_with_header(name: &str, timeout: impl Into<Timeout>) -> Result<Self> {
        Self::join(name, None, &SubscribeOptions::new().wait(timeout))
    }

    /// As [`open_with_header`](Self::open_with_header), as `options` says (waiting for the
    /// topic, following restarts).
    pub fn open_with_header_options(name: &str, options: &SubscribeOptions) -> Result<Self> {
        Self::join(name, None, options)
    }

    /// As [`open_with_header`](Self::open_with_header), requiring this maximum frame length
    /// (not counting the header; [`ErrorKind::Mismatch`] otherwise).
    pub fn open_checked_with_header(name: &str, max_frame_len: usize) -> Result<Self> {
        Self::join(name, Some(max_frame_len), &SubscribeOptions::new())
    }

    /// The next frame's header, and its bytes copied into `out` (replacing its contents); a
    /// seqlock read, as [`FrameSubscriber::recv_into`]'s, that copies the header and the bytes
    /// once each.
    pub fn recv_into_with_header(
        &mut self,
        out: &mut Vec<u8>,
        timeout: impl Into<Timeout>,
    ) -> Result<H> {
        let mut header = <H as bytemuck::Zeroable>::zeroed();
        let mut sink = SplitSink {
            header: bytemuck::bytes_of_mut(&mut header),
            offset: self.offset,
            out,
        };
        // A frame shorter than its header (only from a dishonest peer) leaves the rest zero.
        self.core.next_copy(timeout.into().deadline(), &mut sink)?;
        Ok(header)
    }

    /// The next frame's header and bytes, copied out, without waiting:
    /// [`ErrorKind::WouldBlock`] if none.
    pub fn try_recv_with_header(&mut self) -> Result<(H, Vec<u8>)> {
        let mut out = Vec::new();
        let header = self.recv_into_with_header(&mut out, Timeout::Immediate)?;
        Ok((header, out))
    }
}

impl<H: FrameHeader> FrameSubscriber<H> {
    fn join(name: &str, want: Option<usize>, options: &SubscribeOptions) -> Result<Self> {
        let (record, header_size) = frame_record::<H>(name, Operation::Open, 1)?;
        let topic = options
            .opening(|| Topic::open(name, &record, SHAPE_FRAMES, header_size, false, want))?;
        let core = SubCore::with_options(topic, options)?;
        Ok(FrameSubscriber {
            offset: topic_offset(&core),
            core,
            _header: PhantomData,
        })
    }

    /// The largest frame of the topic (not counting the header).
    pub fn max_frame_len(&self) -> usize {
        self.core.topic.max_payload - self.offset
    }

    /// The next frame, in place: a guard that derefs to the bytes in the segment. Waits as
    /// [`Subscriber::recv`](super::Subscriber::recv) does, with the same errors.
    pub fn recv(&mut self) -> Result<Frame<'_, H>> {
        self.recv_with(Timeout::Infinite)
    }

    /// As [`recv`](Self::recv), waiting at most `timeout`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Frame<'_, H>> {
        self.recv_with(timeout)
    }

    /// As [`recv`](Self::recv), with any [`Timeout`].
    pub fn recv_with(&mut self, timeout: impl Into<Timeout>) -> Result<Frame<'_, H>> {
        let held = self.core.next(timeout.into().deadline())?;
        Ok(Frame {
            offset: self.offset,
            core: &mut self.core,
            held,
            _header: PhantomData,
        })
    }
}

/// A received frame, in place: derefs to its bytes in the segment (mapped read-only). The
/// publisher does not reuse its buffer until the guard is dropped.
pub struct Frame<'a, H = NoHeader> {
    core: &'a mut SubCore,
    held: Held,
    offset: usize,
    _header: PhantomData<&'a H>,
}

impl<H> Frame<'_, H> {
    /// The frame's number: how many samples the topic had published before it.
    pub fn index(&self) -> u64 {
        self.held.index
    }

    /// When it was published (`CLOCK_MONOTONIC` ns, as [`now_ns`](crate::now_ns)).
    pub fn published_ns(&self) -> u64 {
        self.held.published
    }
}

impl<H: IpcMessage> Frame<'_, H> {
    /// The frame's header, in the segment.
    pub fn header(&self) -> &H {
        // SAFETY: this subscriber holds the buffer (as in `deref`), which begins 64-aligned with
        // `size_of::<H>()` bytes of header (the topic's header type was checked at open to be
        // `H`, its alignment at most 64, and every buffer is at least the header's `offset`
        // bytes long); any bytes are a valid `H` (`H: Pod`).
        unsafe { &*self.core.topic.payload(self.held.buffer).cast::<H>() }
    }
}

impl<H> Deref for Frame<'_, H> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: this subscriber holds the buffer (holder bit set, stamp re-checked), so an
        // honest publisher does not write it until the guard is dropped; it was published
        // complete (acquire on the stamp); `len` was checked against the buffer bytes a frame
        // may use (the header's `offset` and the maximum frame length, at most the buffer's
        // size), so the bytes from `offset` to `len` lie inside the mapping (none if a
        // dishonest peer stored a length shorter than the header).
        unsafe {
            let len = self.held.len.saturating_sub(self.offset);
            std::slice::from_raw_parts(
                self.core
                    .topic
                    .payload(self.held.buffer)
                    .add(self.offset.min(self.held.len)),
                len,
            )
        }
    }
}

impl<H> std::fmt::Debug for Frame<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("index", &self.index())
            .field("len", &self.len())
            .finish()
    }
}

impl<H> std::fmt::Debug for FrameLoan<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameLoan")
            .field("len", &self.len())
            .finish()
    }
}

impl<H> Drop for Frame<'_, H> {
    fn drop(&mut self) {
        self.core.release();
    }
}

topic_end_methods!(FramePublisher<H> where H: FrameHeader, "FramePublisher");
async_hooks!(FramePublisher<H> where H: FrameHeader, publisher);
async_hooks!(FrameSubscriber<H> where H: FrameHeader, subscriber);
subscriber_methods!(FrameSubscriber<H> where H: FrameHeader);
topic_end_methods!(FrameSubscriber<H> where H: FrameHeader, "FrameSubscriber");
