//! Topics whose types are known only at run time: [`RecordPublisher`] and [`RecordSubscriber`],
//! for a Python or C peer, or a tool, that has no Rust type to name.
//!
//! A topic of records of a [`RecordType`] interoperates with [`Publisher<T>`](super::Publisher)
//! and [`Subscriber<T>`](super::Subscriber) of a Rust type with that size and fingerprint; a
//! frame topic, with or without a header of a [`RecordType`], with
//! [`FramePublisher<H>`](super::FramePublisher) and [`FrameSubscriber<H>`](super::FrameSubscriber).
//! The segment is the same; only who names the type differs, and the checks when a topic is
//! opened are the same.
//!
//! Besides guards that borrow the end ([`RecordLoan`], [`RecordSample`]) as the typed ends
//! have, both ends can keep a loan or a sample after the call that took it returns
//! ([`RecordLoan::keep`], [`RecordSample::keep`]) and reach it again through the end
//! ([`RecordPublisher::loaned`], [`RecordSubscriber::held`]): what a language binding whose
//! objects cannot borrow needs.

use std::ops::{Deref, DerefMut};

use super::ends::{subscriber_methods, topic_end_methods};
use super::frames::frame_record_of;
use super::topic::{
    create_or_take_over, footprint_of, object, Held, PubCore, SplitSink, SubCore, TakeOver, Topic,
    SHAPE_FRAMES, SHAPE_RECORDS,
};
use super::{Policy, SubscribeOptions, TopicOptions};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::timeout::Timeout;
use crate::typed::layout::LayoutDesc;
use crate::typed::record::RecordType;

/// What a run-time topic carries: records of one type, or frames with an optional header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Records,
    Frames,
}

/// The record type of a record topic, or the header's of a frame topic (`None` without one):
/// a frame topic's record is named and fingerprinted for its header, but sized for its buffers.
fn record_type_of(record: &RecordType, shape: Shape, header_size: usize) -> Option<RecordType> {
    match shape {
        Shape::Records => Some(record.clone()),
        Shape::Frames if header_size > 0 => Some(RecordType::new(
            record.name.clone(),
            header_size,
            record.fingerprint,
        )),
        Shape::Frames => None,
    }
}

/// Checks that a layout given with a record type describes it (size and fingerprint).
fn check_layout(
    name: &str,
    record: &RecordType,
    layout: Option<&LayoutDesc>,
    what: &str,
) -> Result<()> {
    let Some(l) = layout else { return Ok(()) };
    if l.size != record.size as u64 || l.fingerprint() != record.fingerprint {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            Operation::Create,
            object(name),
            format!(
                "the layout given for the {what} {} ({} bytes, fingerprint {:#018x}) is not the \
                 record type's ({} bytes, fingerprint {:#018x})",
                record.name,
                l.size,
                l.fingerprint(),
                record.size,
                record.fingerprint
            ),
        ));
    }
    Ok(())
}

/// What both run-time ends say about their topic's shape.
macro_rules! shape_methods {
    ($end:ty) => {
        impl $end {
            /// Whether the topic carries frames (rather than fixed records).
            pub fn is_frames(&self) -> bool {
                self.shape == Shape::Frames
            }

            /// The record type of a record topic; for a frame topic, the header's (`None` without one).
            pub fn record_type(&self) -> Option<RecordType> {
                record_type_of(
                    &self.core.topic.record,
                    self.shape.clone(),
                    self.header_size,
                )
            }

            /// Bytes of a frame's header (0 for records and for frames without one).
            pub fn header_len(&self) -> usize {
                self.header_size
            }

            /// The largest sample: a record's size, or the maximum frame length (header not counted).
            pub fn max_len(&self) -> usize {
                self.core.topic.max_payload - self.offset
            }

            /// The layout stored in the topic (the record's, or the frame header's), if any.
            pub fn layout(&self) -> Option<LayoutDesc> {
                self.core.topic.stored_layout()
            }
        }
    };
}

/// The publishing end of a topic whose type is given at run time: records of a
/// [`RecordType`] ([`create`](Self::create)) or frames with an optional header of one
/// ([`create_frames`](Self::create_frames)): the same topics as [`Publisher<T>`](super::Publisher)'s
/// and [`FramePublisher<H>`](super::FramePublisher)'s, for a peer (Python, C, a tool) that has
/// no Rust type to name. Besides a guard that borrows the publisher ([`RecordLoan`]), a loan
/// can be kept past the call that took it ([`RecordLoan::keep`]) and reached again with
/// [`loaned`](Self::loaned): what a language binding whose objects cannot borrow needs.
///
/// ```
/// use posix_ipc::{RecordPublisher, RecordSubscriber, RecordType, TopicOptions};
///
/// # let name = format!("/doc-record-topic-{}", std::process::id());
/// let tick = RecordType::new("Tick", 16, 0x7469_636b);
/// let mut publisher = RecordPublisher::create(&name, &tick, None, &TopicOptions::new())?;
/// let mut subscriber = RecordSubscriber::open(&name, &tick)?;
/// publisher.send(&[7; 16])?;
/// let mut loan = publisher.loan()?;
/// loan[0] = 8;
/// loan.send();
/// assert_eq!(&*subscriber.recv()?, &[7; 16]);
/// let mut out = [0u8; 16];
/// subscriber.recv_copy_into(&mut out, posix_ipc::Timeout::Immediate)?;
/// assert_eq!(out[0], 8);
/// publisher.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct RecordPublisher {
    core: PubCore,
    shape: Shape,
    /// Where a frame's bytes start in its buffer (0 for records).
    offset: usize,
    /// The header's size (0: none; records have none).
    header_size: usize,
    /// A loan kept after its guard (see [`RecordLoan::keep`]): buffer and bytes in use.
    kept: Option<(u64, usize)>,
}

impl RecordPublisher {
    /// Creates a topic of `record` records (exclusive) and becomes its publisher. `layout`, if
    /// given, is stored in the topic for tools and other languages (it must describe `record`:
    /// same size and fingerprint).
    pub fn create(
        name: &str,
        record: &RecordType,
        layout: Option<&LayoutDesc>,
        options: &TopicOptions,
    ) -> Result<Self> {
        check_layout(name, record, layout, "record type")?;
        let topic =
            Topic::create(name, record, SHAPE_RECORDS, 0, layout, options).map_err(|e| {
                crate::typed::header::exists_naming(
                    e,
                    "RecordSubscriber::open",
                    "RecordPublisher::create_or_take_over",
                )
            })?;
        Self::with(topic, Shape::Records)
    }

    /// Creates the topic of `record` records, or takes over a stale one of that type and these
    /// options, and owns it: as [`Publisher::create_or_take_over`](super::Publisher::create_or_take_over).
    pub fn create_or_take_over(
        name: &str,
        record: &RecordType,
        layout: Option<&LayoutDesc>,
        options: &TopicOptions,
    ) -> Result<crate::Owned<Self>> {
        check_layout(name, record, layout, "record type")?;
        record.check(Operation::Create, || object(name))?;
        let how = TakeOver {
            record,
            shape: SHAPE_RECORDS,
            header_size: 0,
            frame_len: None,
            layout,
            subscribe: "RecordSubscriber::open",
        };
        let (topic, _) = create_or_take_over(name, &how, options)?;
        Self::with(topic, Shape::Records).map(crate::Owned::new)
    }

    /// Opens an existing topic of `record` records as its publisher (after the previous one
    /// closed or died).
    pub fn open(name: &str, record: &RecordType) -> Result<Self> {
        let topic = Topic::open(name, record, SHAPE_RECORDS, 0, true, None)?;
        Self::with(topic, Shape::Records)
    }

    /// Creates a topic of frames of up to `max_frame_len` bytes, each after a header of
    /// `header` (or none), and becomes its publisher: the topic of a
    /// [`FramePublisher<H>`](super::FramePublisher) whose header type has that record type.
    pub fn create_frames(
        name: &str,
        max_frame_len: usize,
        header: Option<&RecordType>,
        header_layout: Option<&LayoutDesc>,
        options: &TopicOptions,
    ) -> Result<Self> {
        let (record, header_size) =
            frame_record_of(name, Operation::Create, max_frame_len, header.cloned(), 1)?;
        let layout = Self::frame_layout(name, header, header_layout)?;
        let topic = Topic::create(name, &record, SHAPE_FRAMES, header_size, layout, options)
            .map_err(|e| {
                crate::typed::header::exists_naming(
                    e,
                    "RecordSubscriber::open_frames",
                    "RecordPublisher::create_or_take_over_frames",
                )
            })?;
        Self::with(topic, Shape::Frames)
    }

    /// As [`create_frames`](Self::create_frames), or takes over a stale frame topic of that
    /// header, maximum length and options, and owns it.
    pub fn create_or_take_over_frames(
        name: &str,
        max_frame_len: usize,
        header: Option<&RecordType>,
        header_layout: Option<&LayoutDesc>,
        options: &TopicOptions,
    ) -> Result<crate::Owned<Self>> {
        let (record, header_size) =
            frame_record_of(name, Operation::Create, max_frame_len, header.cloned(), 1)?;
        let layout = Self::frame_layout(name, header, header_layout)?;
        let how = TakeOver {
            record: &record,
            shape: SHAPE_FRAMES,
            header_size,
            frame_len: Some(max_frame_len),
            layout,
            subscribe: "RecordSubscriber::open_frames",
        };
        let (topic, _) = create_or_take_over(name, &how, options)?;
        Self::with(topic, Shape::Frames).map(crate::Owned::new)
    }

    /// Opens an existing frame topic whose frames carry a `header` (or none) as its publisher.
    pub fn open_frames(name: &str, header: Option<&RecordType>) -> Result<Self> {
        let (record, header_size) = frame_record_of(name, Operation::Open, 1, header.cloned(), 1)?;
        let topic = Topic::open(name, &record, SHAPE_FRAMES, header_size, true, None)?;
        Self::with(topic, Shape::Frames)
    }

    /// Bytes of `/dev/shm` a topic of `record` made with `options` reserves.
    pub fn footprint_for(
        record: &RecordType,
        layout: Option<&LayoutDesc>,
        options: &TopicOptions,
    ) -> Result<u64> {
        footprint_of(record.size, layout, options.resolved(false))
    }

    /// Bytes of `/dev/shm` a frame topic made with these arguments reserves.
    pub fn footprint_for_frames(
        max_frame_len: usize,
        header: Option<&RecordType>,
        header_layout: Option<&LayoutDesc>,
        options: &TopicOptions,
    ) -> Result<u64> {
        let (record, _) =
            frame_record_of("", Operation::Create, max_frame_len, header.cloned(), 1)?;
        footprint_of(record.size, header_layout, options.resolved(true))
    }

    fn frame_layout<'a>(
        name: &str,
        header: Option<&RecordType>,
        header_layout: Option<&'a LayoutDesc>,
    ) -> Result<Option<&'a LayoutDesc>> {
        match header {
            Some(h) => {
                check_layout(name, h, header_layout, "frame header")?;
                Ok(header_layout)
            }
            None => Ok(None),
        }
    }

    fn with(topic: Topic, shape: Shape) -> Result<Self> {
        let (offset, header_size) = match shape {
            Shape::Records => (0, 0),
            Shape::Frames => (topic.frame_offset, topic.header_size),
        };
        Ok(RecordPublisher {
            core: PubCore::new(topic)?,
            shape,
            offset,
            header_size,
            kept: None,
        })
    }

    fn check_len(&self, len: usize, op: Operation) -> Result<()> {
        let max = self.max_len();
        let bad = match self.shape {
            Shape::Records if len != max => Some(format!(
                "a record of type {} is {max} bytes, not {len}",
                self.core.topic.record.name
            )),
            Shape::Frames if len > max => Some(format!(
                "a frame of {len} bytes is longer than the topic's maximum of {max} bytes, \
                 fixed when it was created (max_frame_len)"
            )),
            _ => None,
        };
        match bad {
            Some(detail) => Err(Error::new(
                if self.shape == Shape::Frames {
                    ErrorKind::MessageTooLarge
                } else {
                    ErrorKind::InvalidArgument
                },
                op,
                object(self.name()),
                detail,
            )),
            None => Ok(()),
        }
    }

    fn check_header(&self, header: Option<&[u8]>) -> Result<()> {
        match header {
            Some(h) if h.len() != self.header_size => Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Send,
                object(self.name()),
                if self.header_size == 0 {
                    format!(
                        "the topic's frames have no header, but {} bytes were given",
                        h.len()
                    )
                } else {
                    format!(
                        "a frame header of type {} is {} bytes, not {}",
                        self.core.topic.record.name,
                        self.header_size,
                        h.len()
                    )
                },
            )),
            _ => Ok(()),
        }
    }

    /// Publishes a copy of `bytes` (a whole record, or a frame of up to the maximum length)
    /// and, for frames with a header, of `header` (zeros if `None`), waiting as `timeout` says
    /// while a [`Policy::Block`](super::Policy::Block) topic is full.
    pub fn send_with(
        &mut self,
        bytes: &[u8],
        header: Option<&[u8]>,
        timeout: impl Into<Timeout>,
    ) -> Result<()> {
        self.check_len(bytes.len(), Operation::Send)?;
        self.check_header(header)?;
        self.give_back_kept();
        let buffer = self.core.loan(timeout.into().deadline())?;
        let ptr = self.core.payload_mut(buffer);
        // SAFETY: the buffer is loaned to this publisher alone and holds `offset` bytes of
        // header room and then the maximum sample length (checked above against `bytes`); the
        // header slice, when given, was checked to be `header_size` bytes, at most `offset`.
        // `bytes` and `header` are caller memory, not the segment's loaned buffer (a safe
        // `&[u8]` cannot alias the buffer, which no one else may reference while loaned).
        unsafe {
            std::ptr::write_bytes(ptr, 0, self.offset);
            if let Some(h) = header {
                std::ptr::copy_nonoverlapping(h.as_ptr(), ptr, h.len());
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.add(self.offset), bytes.len());
        }
        self.core.publish(buffer, self.offset + bytes.len());
        Ok(())
    }

    /// As [`send_with`](Self::send_with) without a header, waiting as long as it takes.
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.send_with(bytes, None, Timeout::Infinite)
    }

    /// Loans a whole record (or a frame of the maximum length), zeroed.
    pub fn loan(&mut self) -> Result<RecordLoan<'_>> {
        self.loan_with(self.max_len(), true, Timeout::Infinite)
    }

    /// Loans a sample of `len` bytes (a record's size for records; up to the maximum for
    /// frames), zeroed if `zero` (else holding whatever an earlier sample in that buffer left,
    /// which is initialised memory), its header zeroed in any case, waiting as `timeout` says.
    pub fn loan_with(
        &mut self,
        len: usize,
        zero: bool,
        timeout: impl Into<Timeout>,
    ) -> Result<RecordLoan<'_>> {
        self.check_len(len, Operation::Send)?;
        self.give_back_kept();
        let buffer = self.core.loan(timeout.into().deadline())?;
        let ptr = self.core.payload_mut(buffer);
        // SAFETY: the buffer is loaned to this publisher alone and holds `offset` header bytes
        // then at least `len` bytes (checked above against the maximum).
        unsafe {
            std::ptr::write_bytes(ptr, 0, self.offset);
            if zero {
                std::ptr::write_bytes(ptr.add(self.offset), 0, len);
            }
        }
        self.kept = Some((buffer, len));
        Ok(RecordLoan { publisher: self })
    }

    /// The loan kept by [`RecordLoan::keep`], if one is out: its header (empty without one)
    /// and its bytes, writable.
    pub fn loaned(&mut self) -> Option<(&mut [u8], &mut [u8])> {
        let (buffer, len) = self.kept?;
        let ptr = self.core.payload_mut(buffer);
        // SAFETY: the buffer is loaned to this publisher alone until it is sent or given
        // back, which needs `&mut self`, as this borrow does; it holds `offset` bytes (at least
        // `header_size`) then `len` bytes (checked at the loan). The two slices do not overlap
        // (`header_size <= offset`).
        unsafe {
            Some((
                std::slice::from_raw_parts_mut(ptr, self.header_size),
                std::slice::from_raw_parts_mut(ptr.add(self.offset), len),
            ))
        }
    }

    /// Publishes the kept loan, shortened to `len` bytes if given (frames only; a record is
    /// always whole). Returns whether there was one.
    pub fn send_loaned(&mut self, len: Option<usize>) -> bool {
        self.send_loaned_at(len, crate::timeout::now_ns())
    }

    /// As [`send_loaned`](Self::send_loaned), with the publication time subscribers see
    /// (`CLOCK_MONOTONIC` ns, as [`now_ns`](crate::now_ns)): what a bridge or a replay that
    /// republishes another publisher's samples stores.
    pub fn send_loaned_at(&mut self, len: Option<usize>, published_ns: u64) -> bool {
        let Some((buffer, loaned)) = self.kept.take() else {
            return false;
        };
        let len = match self.shape {
            Shape::Frames => len.map_or(loaned, |l| l.min(loaned)),
            Shape::Records => loaned,
        };
        self.core
            .publish_at(buffer, self.offset + len, published_ns);
        true
    }

    /// Publishes a gap: `lost` samples that this publisher's source (a bridge, a replay) knows
    /// were lost before they reached the topic. It takes one index and no buffer; each
    /// subscriber receives it as [`ErrorKind::Lagged`] with [`Error::missed`] = `lost`, then
    /// goes on. Gives back a kept loan first.
    pub fn report_lost(&mut self, lost: u64) {
        self.give_back_kept();
        self.core.publish_gap(lost, crate::timeout::now_ns());
    }

    /// Gives the kept loan back unsent (nothing is published). Returns whether there was one.
    pub fn give_back_kept(&mut self) -> bool {
        match self.kept.take() {
            Some((buffer, _)) => {
                self.core.give_back(buffer);
                true
            }
            None => false,
        }
    }
}

impl Drop for RecordPublisher {
    fn drop(&mut self) {
        self.give_back_kept();
    }
}

/// A loaned record or frame: bytes in the segment, writable (`Deref<Target = [u8]>`),
/// published by [`send`](Self::send) without a copy; dropped unsent, it goes back to the
/// publisher.
pub struct RecordLoan<'a> {
    publisher: &'a mut RecordPublisher,
}

impl RecordLoan<'_> {
    /// Publishes it (no copy).
    pub fn send(self) {
        self.publisher.send_loaned(None);
        std::mem::forget(self);
    }

    /// Publishes the first `len` bytes of a frame (no copy; a record is always whole).
    pub fn send_len(self, len: usize) {
        self.publisher.send_loaned(Some(len));
        std::mem::forget(self);
    }

    /// The frame's header, writable (empty for records and frames without one).
    pub fn header_mut(&mut self) -> &mut [u8] {
        self.publisher.loaned().map(|(h, _)| h).unwrap_or_default()
    }

    /// Ends the guard but keeps the loan out: reach it with [`RecordPublisher::loaned`], end it
    /// with [`RecordPublisher::send_loaned`] or [`RecordPublisher::give_back_kept`] (or the
    /// next loan or send, or dropping the publisher, gives it back).
    #[inline]
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Deref for RecordLoan<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let (buffer, len) = self.publisher.kept.expect("a loan guard has its loan");
        // SAFETY: as in `RecordPublisher::loaned`: the buffer is loaned to this publisher, which
        // the guard borrows mutably, and holds `offset + len` bytes.
        unsafe {
            std::slice::from_raw_parts(
                self.publisher
                    .core
                    .payload_mut(buffer)
                    .add(self.publisher.offset),
                len,
            )
        }
    }
}

impl DerefMut for RecordLoan<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.publisher
            .loaned()
            .map(|(_, b)| b)
            .expect("a loan guard has its loan")
    }
}

impl Drop for RecordLoan<'_> {
    fn drop(&mut self) {
        self.publisher.give_back_kept();
    }
}

/// The subscribing end of a topic whose type is given at run time: see [`RecordPublisher`].
/// Besides a guard ([`RecordSample`]), a sample can be kept past the call that took it
/// ([`RecordSample::keep`]) and reached again with [`held`](Self::held).
pub struct RecordSubscriber {
    core: SubCore,
    shape: Shape,
    offset: usize,
    header_size: usize,
    /// The sample kept by [`RecordSample::keep`], if any.
    kept: Option<Held>,
}

impl RecordSubscriber {
    /// Opens a topic of `record` records and joins it.
    pub fn open(name: &str, record: &RecordType) -> Result<Self> {
        Self::open_with(name, record, &SubscribeOptions::new())
    }

    /// As [`open`](Self::open), as `options` says (waiting for the topic, following restarts).
    pub fn open_with(name: &str, record: &RecordType, options: &SubscribeOptions) -> Result<Self> {
        let topic = options.opening(|| Topic::open(name, record, SHAPE_RECORDS, 0, false, None))?;
        Self::join(topic, Shape::Records, options)
    }

    /// Opens a frame topic whose frames carry a `header` (or none), of any maximum frame
    /// length, and joins it, as `options` says.
    pub fn open_frames(
        name: &str,
        header: Option<&RecordType>,
        options: &SubscribeOptions,
    ) -> Result<Self> {
        let (record, header_size) = frame_record_of(name, Operation::Open, 1, header.cloned(), 1)?;
        let topic = options
            .opening(|| Topic::open(name, &record, SHAPE_FRAMES, header_size, false, None))?;
        Self::join(topic, Shape::Frames, options)
    }

    fn join(topic: Topic, shape: Shape, options: &SubscribeOptions) -> Result<Self> {
        let (offset, header_size) = match shape {
            Shape::Records => (0, 0),
            Shape::Frames => (topic.frame_offset, topic.header_size),
        };
        let core = SubCore::with_options(topic, options)?;
        Ok(RecordSubscriber {
            core,
            shape,
            offset,
            header_size,
            kept: None,
        })
    }

    /// The next sample, in place, waiting as `timeout` says (the errors of
    /// [`Subscriber::recv`](super::Subscriber::recv)). Releases a kept sample first.
    #[inline]
    pub fn recv_with(&mut self, timeout: impl Into<Timeout>) -> Result<RecordSample<'_>> {
        self.kept = None;
        let held = self.core.next(timeout.into().deadline())?;
        self.kept = Some(held);
        Ok(RecordSample { subscriber: self })
    }

    /// As [`recv_with`](Self::recv_with), waiting as long as it takes.
    pub fn recv(&mut self) -> Result<RecordSample<'_>> {
        self.recv_with(Timeout::Infinite)
    }

    /// The sample kept by [`RecordSample::keep`], if any: `(index, header, bytes)`, read-only
    /// (the header is empty for records and frames without one).
    #[inline]
    pub fn held(&self) -> Option<(u64, &[u8], &[u8])> {
        let held = self.kept.as_ref()?;
        let len = held.len.saturating_sub(self.offset);
        let head = self.header_size.min(held.len);
        let base = self.core.topic.payload(held.buffer);
        // SAFETY: this subscriber holds the buffer (holder bit set and the stamp re-checked by
        // `SubCore::hold`); an honest publisher does not write it until it is released, which
        // needs `&mut self`. `held.len` was checked against the buffer bytes a sample may use
        // (at most the buffer's size), so `head` bytes from the start and `len` bytes from
        // `offset` (none if a dishonest peer stored a length shorter than the header) lie
        // inside the mapping.
        unsafe {
            Some((
                held.index,
                std::slice::from_raw_parts(base, head),
                std::slice::from_raw_parts(base.add(self.offset.min(held.len)), len),
            ))
        }
    }

    /// When the sample last received (held or copied) was published (`CLOCK_MONOTONIC` ns).
    #[inline]
    pub fn last_published_ns(&self) -> u64 {
        self.core.published
    }

    /// Releases the kept sample, if any: the publisher may reuse its buffer.
    #[inline]
    pub fn release(&mut self) {
        if self.kept.take().is_some() {
            self.core.release();
        }
    }

    /// The next record copied into `out` (exactly a record's size) as a seqlock read, waiting
    /// as `timeout` says; returns its index. Releases a kept sample first.
    pub fn recv_copy_into(&mut self, out: &mut [u8], timeout: impl Into<Timeout>) -> Result<u64> {
        if self.shape == Shape::Records && out.len() != self.max_len() {
            return Err(self.core.topic.record.wrong_length(
                Operation::Receive,
                object(self.name()),
                out.len(),
            ));
        }
        self.kept = None;
        let mut sink: &mut [u8] = out;
        let (index, _) = self.core.next_copy(timeout.into().deadline(), &mut sink)?;
        Ok(index)
    }

    /// The next frame copied: its header into `header` (exactly [`header_len`](Self::header_len)
    /// bytes) and its bytes into `out` (replacing its contents); returns its index. Releases a
    /// kept sample first.
    pub fn recv_copy_frame(
        &mut self,
        header: &mut [u8],
        out: &mut Vec<u8>,
        timeout: impl Into<Timeout>,
    ) -> Result<u64> {
        if header.len() != self.header_size {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Receive,
                object(self.name()),
                format!(
                    "the frame header is {} bytes, not {}",
                    self.header_size,
                    header.len()
                ),
            ));
        }
        self.kept = None;
        let mut sink = SplitSink {
            header,
            offset: self.offset,
            out,
        };
        let (index, _) = self.core.next_copy(timeout.into().deadline(), &mut sink)?;
        Ok(index)
    }
}

/// A received record or frame, in place: derefs to its bytes in the segment (read-only). The
/// publisher does not reuse its buffer until the guard is dropped (or, after
/// [`keep`](Self::keep), until [`RecordSubscriber::release`]).
pub struct RecordSample<'a> {
    subscriber: &'a mut RecordSubscriber,
}

impl RecordSample<'_> {
    /// The sample's number: how many samples the topic had published before it.
    pub fn index(&self) -> u64 {
        self.subscriber.held().map_or(0, |(i, _, _)| i)
    }

    /// The frame's header (empty for records and frames without one).
    pub fn header(&self) -> &[u8] {
        self.subscriber.held().map_or(&[], |(_, h, _)| h)
    }

    /// When it was published (`CLOCK_MONOTONIC` ns, as [`now_ns`](crate::now_ns)).
    pub fn published_ns(&self) -> u64 {
        self.subscriber.kept.map_or(0, |h| h.published)
    }

    /// Ends the guard but keeps the sample held: reach it with [`RecordSubscriber::held`],
    /// release it with [`RecordSubscriber::release`] (the next receive also releases it).
    #[inline]
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Deref for RecordSample<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.subscriber.held().map_or(&[], |(_, _, b)| b)
    }
}

impl Drop for RecordSample<'_> {
    fn drop(&mut self) {
        self.subscriber.release();
    }
}

impl std::fmt::Debug for RecordSample<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordSample")
            .field("index", &self.index())
            .field("len", &self.len())
            .finish()
    }
}

impl std::fmt::Debug for RecordLoan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordLoan")
            .field("len", &self.len())
            .finish()
    }
}

shape_methods!(RecordPublisher);
shape_methods!(RecordSubscriber);
topic_end_methods!(RecordPublisher, "RecordPublisher");
topic_end_methods!(RecordSubscriber, "RecordSubscriber");
subscriber_methods!(RecordSubscriber);
