//! [`AnySubscriber`]: a subscriber of a topic of any type, for tools (`posix-ipc topic echo`,
//! bridges, recorders) that decode samples from the layout the topic stores.

use super::topic::{SubCore, Topic, SHAPE_FRAMES};
use super::{Policy, SubscribeOptions};
use crate::cancel::CancelToken;
use crate::error::Result;
use crate::timeout::Timeout;
use crate::typed::layout::LayoutDesc;

/// What a topic carries, read from its header: enough to decode its samples without the Rust
/// type.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TopicInfo {
    /// The sample type's name (frames with a header: the header's; frames without: `byte
    /// frames`).
    pub type_name: String,
    /// The layout fingerprint of the sample type (frames: of the header, or
    /// [`FRAME_FINGERPRINT`](super::FRAME_FINGERPRINT)).
    pub fingerprint: u64,
    /// Whether the topic carries byte frames (otherwise fixed-size records).
    pub frames: bool,
    /// Records: the sample size. Frames: the maximum frame length (not counting the header).
    pub sample_size: usize,
    /// Frames with a typed header: the header's size in bytes (0: none).
    pub header_size: usize,
    /// Frames: where the frame's bytes start in a received buffer (the header's size rounded up
    /// to 64; 0 without a header).
    pub frame_offset: usize,
    /// The policy for slow subscribers.
    pub policy: Policy,
    /// Samples the topic keeps.
    pub capacity: usize,
    /// Most subscribers at once.
    pub max_subscribers: usize,
    /// Samples a new subscriber is given first.
    pub history: usize,
    /// How long a `Block` publisher waits for a stopped subscriber before it skips it.
    pub stall_timeout: std::time::Duration,
    /// The layout of the sample type (frames: of the header) as its creator stored it; `None`
    /// for frames without a header and for topics made before layouts were stored.
    pub layout: Option<LayoutDesc>,
}

/// One sample received by an [`AnySubscriber`], copied out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnySample {
    /// Its number on the topic.
    pub index: u64,
    /// Bytes copied: the record, or the frame's header area and bytes
    /// ([`TopicInfo::frame_offset`] + the frame's length).
    pub len: usize,
    /// The generation of the publisher that sent it.
    pub generation: u64,
    /// When it was published (`CLOCK_MONOTONIC` ns, as [`now_ns`](crate::now_ns)).
    pub published_ns: u64,
}

/// A subscriber of a topic of any type: samples are copied out as bytes (a seqlock read that
/// never holds a buffer, so it never holds the publisher back), to decode with
/// [`TopicInfo::layout`].
///
/// ```
/// use std::time::Duration;
/// use posix_ipc::{AnySubscriber, IpcMessage, Publisher, SubscribeOptions, TopicOptions};
///
/// #[derive(Clone, Copy, IpcMessage)]
/// #[repr(C)]
/// struct Pose { x: f64, y: f64 }
///
/// # let name = format!("/doc-any-{}", std::process::id());
/// let mut publisher = Publisher::<Pose>::create_owned(&name, &TopicOptions::new())?;
/// let mut tool = AnySubscriber::open_with(&name, &SubscribeOptions::new())?;
/// assert_eq!(tool.info().type_name, "Pose");
/// publisher.send(&Pose { x: 1.5, y: -2.0 })?;
/// let mut bytes = Vec::new();
/// tool.recv_into(&mut bytes, Duration::from_secs(1))?;
/// let layout = tool.info().layout.clone().expect("stored at creation");
/// assert_eq!(layout.format_sample_text(&bytes), "x: 1.5\ny: -2.0\n");
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct AnySubscriber {
    pub(super) core: SubCore,
    info: TopicInfo,
}

impl AnySubscriber {
    /// Opens a topic of any type and joins it, as `options` says.
    pub fn open_with(name: &str, options: &SubscribeOptions) -> Result<AnySubscriber> {
        let topic = options.opening(|| Topic::open_any(name))?;
        let frames = topic.shape == SHAPE_FRAMES;
        let info = TopicInfo {
            type_name: topic.record.name.to_string(),
            fingerprint: topic.record.fingerprint,
            frames,
            sample_size: topic.max_payload - topic.frame_offset,
            header_size: topic.header_size,
            frame_offset: topic.frame_offset,
            policy: topic.policy,
            capacity: topic.capacity as usize,
            max_subscribers: topic.max_subscribers,
            history: topic.history as usize,
            stall_timeout: topic.stall,
            layout: topic.stored_layout(),
        };
        let core = SubCore::with_options(topic, options)?;
        Ok(AnySubscriber { core, info })
    }

    /// What the topic carries.
    pub fn info(&self) -> &TopicInfo {
        &self.info
    }

    /// The next sample copied into `out` (replacing its contents), waiting up to `timeout`.
    /// Errors as [`Subscriber::recv`](super::Subscriber::recv)'s.
    pub fn recv_into(
        &mut self,
        out: &mut Vec<u8>,
        timeout: impl Into<Timeout>,
    ) -> Result<AnySample> {
        let (index, len) = self.core.next_copy(timeout.into().deadline(), out)?;
        Ok(AnySample {
            index,
            len,
            generation: self.core.generation,
            published_ns: self.core.published,
        })
    }

    /// The next sample, read in place: `read` is given its header (frames with a typed
    /// header; empty otherwise) and its bytes (the record, or the frame's bytes without the
    /// padding after the header), while this subscriber holds its buffer; the buffer is
    /// released when `read` returns. A plain copy at memory speed, where
    /// [`recv_into`](Self::recv_into) reads word by word so as never to hold a buffer. Under
    /// [`Policy::Overwrite`] a held buffer is skipped, never waited for; under
    /// [`Policy::Block`] the publisher may wait for it, so `read` should be short. Errors as
    /// [`Subscriber::recv`](super::Subscriber::recv)'s.
    pub fn recv_in_place<R>(
        &mut self,
        timeout: impl Into<Timeout>,
        read: impl FnOnce(&AnySample, &[u8], &[u8]) -> R,
    ) -> Result<R> {
        let held = self.core.next(timeout.into().deadline())?;
        let (offset, header) = if self.info.frames {
            (self.info.frame_offset, self.info.header_size)
        } else {
            (0, 0)
        };
        let head = header.min(held.len);
        let len = held.len.saturating_sub(offset);
        let base = self.core.topic.payload(held.buffer);
        let sample = AnySample {
            index: held.index,
            len: held.len,
            generation: self.core.generation,
            published_ns: held.published,
        };
        // SAFETY: this subscriber holds the buffer (its holder bit set and the stamp re-checked
        // by `SubCore::next`), so an honest publisher does not write it until `release` below;
        // `held.len` was checked against the bytes a buffer's sample may use (at most the
        // buffer's size) before the hold, so `head` bytes from the start and `len` bytes from
        // `offset` (none when a dishonest peer stored a length shorter than the offset) lie
        // inside the data mapping, which `self` keeps mapped for the borrow's length.
        let (h, b) = unsafe {
            (
                std::slice::from_raw_parts(base, head),
                std::slice::from_raw_parts(base.add(offset.min(held.len)), len),
            )
        };
        let r = read(&sample, h, b);
        self.core.release();
        Ok(r)
    }
}

super::ends::subscriber_methods!(AnySubscriber);
super::ends::topic_end_methods!(AnySubscriber, "AnySubscriber");
