//! The typed ends: [`Publisher<T>`], [`Subscriber<T>`], their [`Loan`], [`LoanUninit`] and
//! [`Sample`].

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use super::topic::{
    create_or_take_over, footprint_of, object, Held, PubCore, SubCore, TakeOver, Topic,
    SHAPE_RECORDS,
};
use super::SubscribeOptions;
use super::{Policy, TopicOptions};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::timeout::Timeout;
use crate::typed::record::RecordType;
use crate::typed::{bytemuck, IpcMessage, LayoutDesc};

/// Whether a sample of `T` may be handed out in place: buffers start 64-byte aligned.
fn check_align<T: IpcMessage>(name: &str, op: Operation) -> Result<()> {
    if std::mem::align_of::<T>() > 64 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            op,
            object(name),
            format!(
                "{} is aligned to {} bytes; topic samples are aligned to 64",
                T::LAYOUT.name,
                std::mem::align_of::<T>()
            ),
        ));
    }
    Ok(())
}

/// The publishing end of a topic of `T` samples: every [`Subscriber<T>`] receives every
/// sample published after it joined (see the [module documentation](super)).
///
/// ```
/// use posix_ipc::{IpcMessage, Publisher, Subscriber, TopicOptions};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// struct Pose { seq: u64, x: f64, y: f64 }
///
/// # let name = format!("/doc-topic-{}", std::process::id());
/// let mut publisher = Publisher::<Pose>::create(&name, &TopicOptions::new())?;
/// let mut a = Subscriber::<Pose>::open(&name)?;        // checks type and layout
/// let mut b = Subscriber::<Pose>::open(&name)?;
///
/// let mut loan = publisher.loan()?;                     // a zeroed sample in the segment
/// loan.seq = 1;
/// loan.x = 0.5;
/// loan.send();                                          // published, no copy
/// publisher.send(&Pose { seq: 2, x: 1.0, y: 2.0 })?;   // or copied in
///
/// assert_eq!(a.recv()?.seq, 1);                         // a guard: &Pose in the segment
/// assert_eq!(b.recv()?.seq, 1);
/// assert_eq!(a.try_recv()?.y, 2.0);                     // a copy
/// publisher.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct Publisher<T> {
    core: PubCore,
    _type: PhantomData<fn(T)>,
}

impl<T: IpcMessage> Publisher<T> {
    /// Creates the topic (exclusive) and becomes its publisher.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] if the name is taken; [`ErrorKind::InvalidArgument`] for
    /// options out of range (each is named).
    pub fn create(name: &str, options: &TopicOptions) -> Result<Self> {
        check_align::<T>(name, Operation::Create)?;
        let t = T::LAYOUT.name;
        let topic = Topic::create(
            name,
            &RecordType::of::<T>(),
            SHAPE_RECORDS,
            0,
            Some(&LayoutDesc::from(&T::LAYOUT)),
            options,
        )
        .map_err(|e| {
            crate::typed::header::exists_naming(
                e,
                &format!("Subscriber::<{t}>::open"),
                &format!("Publisher::<{t}>::create_or_take_over"),
            )
        })?;
        Self::with(topic)
    }

    /// As [`create`](Self::create), owned: the topic is removed when the owner is dropped.
    pub fn create_owned(name: &str, options: &TopicOptions) -> Result<crate::Owned<Self>> {
        Self::create(name, options).map(crate::Owned::new)
    }

    /// Creates the topic, or takes over the one under `name` after its publisher died or
    /// closed, and owns it (removed when the owner is dropped): what a process that is
    /// restarted under a fixed name calls.
    ///
    /// - Nothing there: creates it.
    /// - A topic of `T` with these options (capacity, subscribers, policy, history) whose
    ///   publisher and owner are gone: takes it over. A new publisher generation starts: its
    ///   subscribers that follow restarts ([`SubscribeOptions::follow_restarts`]) go on with
    ///   this publisher's samples, and no subscriber is handed the old ones as new.
    /// - A live publisher or owner: [`ErrorKind::AlreadyExists`] naming it (pid and command).
    /// - A stale topic of another type or options, or another kind of segment:
    ///   [`ErrorKind::Mismatch`] naming both, unless [`TopicOptions::replace_stale`] asks to
    ///   remove a stale topic and make a new one.
    ///
    /// Of processes racing on one name, exactly one wins; the others get
    /// [`ErrorKind::AlreadyExists`] naming it.
    ///
    /// [`SubscribeOptions::follow_restarts`]: super::SubscribeOptions::follow_restarts
    pub fn create_or_take_over(name: &str, options: &TopicOptions) -> Result<crate::Owned<Self>> {
        check_align::<T>(name, Operation::Create)?;
        let record = RecordType::of::<T>();
        let subscribe = format!("Subscriber::<{}>::open", T::LAYOUT.name);
        let layout = LayoutDesc::from(&T::LAYOUT);
        let how = TakeOver {
            record: &record,
            shape: SHAPE_RECORDS,
            header_size: 0,
            frame_len: None,
            layout: Some(&layout),
            subscribe: &subscribe,
        };
        let (topic, _) = create_or_take_over(name, &how, options)?;
        Self::with(topic).map(crate::Owned::new)
    }

    /// Bytes of `/dev/shm` a topic of `T` made with `options` reserves (all of it at creation).
    pub fn footprint_for(options: &TopicOptions) -> Result<u64> {
        footprint_of(
            std::mem::size_of::<T>(),
            Some(&LayoutDesc::from(&T::LAYOUT)),
            options.resolved(false),
        )
    }

    /// Opens an existing topic of `T` as its publisher (after the previous one closed or died:
    /// it goes on from the samples already published).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] for a topic of another type or a segment that is not a topic;
    /// [`ErrorKind::AlreadyExists`] if the topic has a live publisher.
    pub fn open(name: &str) -> Result<Self> {
        check_align::<T>(name, Operation::Open)?;
        Self::with(Topic::open(
            name,
            &RecordType::of::<T>(),
            SHAPE_RECORDS,
            0,
            true,
            None,
        )?)
    }

    fn with(topic: Topic) -> Result<Self> {
        Ok(Publisher {
            core: PubCore::new(topic)?,
            _type: PhantomData,
        })
    }

    /// Loans the next sample, zeroed, waiting (with [`Policy::Block`]) until the slowest
    /// subscriber leaves room. Write it through the loan and [`send`](Loan::send) it; dropped
    /// unsent, the buffer goes back to the publisher.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Cancelled`] if the handle's token is cancelled while waiting.
    pub fn loan(&mut self) -> Result<Loan<'_, T>> {
        self.loan_with(Timeout::Infinite)
    }

    /// As [`loan`](Self::loan), without waiting: [`ErrorKind::WouldBlock`] if the topic is full.
    pub fn try_loan(&mut self) -> Result<Loan<'_, T>> {
        self.loan_with(Timeout::Immediate)
    }

    /// As [`loan`](Self::loan), waiting at most `timeout`.
    pub fn loan_timeout(&mut self, timeout: Duration) -> Result<Loan<'_, T>> {
        self.loan_with(timeout)
    }

    /// As [`loan`](Self::loan), with any [`Timeout`].
    pub fn loan_with(&mut self, timeout: impl Into<Timeout>) -> Result<Loan<'_, T>> {
        let mut loan = self.loan_uninit_with(timeout.into())?;
        // SAFETY: the buffer is loaned to this publisher alone (see the module's safety
        // argument), `size_of::<T>()` bytes long and 64-aligned; all-zero bytes are a valid `T`
        // (`T: Pod`).
        unsafe { std::ptr::write_bytes(loan.as_mut_ptr(), 0, 1) };
        Ok(Loan {
            raw: loan.raw,
            _type: PhantomData,
        })
    }

    /// Loans the next sample without initialising it: write it with
    /// [`LoanUninit::write`] (or through [`as_mut_ptr`](LoanUninit::as_mut_ptr) and then
    /// `assume_init`). Waits as [`loan`](Self::loan) does.
    pub fn loan_uninit(&mut self) -> Result<LoanUninit<'_, T>> {
        self.loan_uninit_with(Timeout::Infinite)
    }

    fn loan_uninit_with(&mut self, timeout: Timeout) -> Result<LoanUninit<'_, T>> {
        let buffer = self.core.loan(timeout.deadline())?;
        Ok(LoanUninit {
            raw: RawLoan {
                core: &mut self.core,
                buffer,
                len: std::mem::size_of::<T>(),
                sent: false,
            },
            _type: PhantomData,
        })
    }

    /// Publishes a copy of `value`, waiting as [`loan`](Self::loan) does.
    pub fn send(&mut self, value: &T) -> Result<()> {
        self.send_with(value, Timeout::Infinite)
    }

    /// Publishes a copy of `value` without waiting: [`ErrorKind::WouldBlock`] if the topic is
    /// full.
    pub fn try_send(&mut self, value: &T) -> Result<()> {
        self.send_with(value, Timeout::Immediate)
    }

    /// Publishes a copy of `value`, waiting at most `timeout`.
    pub fn send_with(&mut self, value: &T, timeout: impl Into<Timeout>) -> Result<()> {
        self.loan_uninit_with(timeout.into())?.write(*value).send();
        Ok(())
    }
}

/// A sample loaned by a publisher: a `T` in the segment, writable, published by
/// [`send`](Self::send) without a copy. Dropped unsent, its buffer goes back to the publisher.
pub struct Loan<'a, T> {
    raw: RawLoan<'a>,
    _type: PhantomData<&'a mut T>,
}

/// A sample loaned by a publisher, not yet initialised (see [`Publisher::loan_uninit`]).
pub struct LoanUninit<'a, T> {
    raw: RawLoan<'a>,
    _type: PhantomData<&'a mut T>,
}

/// A loaned buffer: given back unless sent.
pub(super) struct RawLoan<'a> {
    pub(super) core: &'a mut PubCore,
    pub(super) buffer: u64,
    pub(super) len: usize,
    pub(super) sent: bool,
}

impl RawLoan<'_> {
    pub(super) fn send(mut self) {
        self.sent = true;
        self.core.publish(self.buffer, self.len);
    }

    #[inline(always)]
    pub(super) fn ptr(&self) -> *mut u8 {
        self.core.payload_mut(self.buffer)
    }
}

impl Drop for RawLoan<'_> {
    fn drop(&mut self) {
        if !self.sent {
            self.core.give_back(self.buffer);
        }
    }
}

impl<T: IpcMessage> LoanUninit<'_, T> {
    /// The sample's memory in the segment.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.raw.ptr().cast()
    }

    /// The sample's memory, as uninitialised.
    pub fn as_uninit(&mut self) -> &mut MaybeUninit<T> {
        // SAFETY: the buffer is loaned to this publisher alone, lives as long as the loan
        // borrows the publisher, and is `size_of::<T>()` bytes, 64-aligned; `MaybeUninit<T>`
        // has no validity requirement.
        unsafe { &mut *self.raw.ptr().cast::<MaybeUninit<T>>() }
    }
}

impl<'a, T: IpcMessage> LoanUninit<'a, T> {
    /// Writes `value` into the sample.
    pub fn write(mut self, value: T) -> Loan<'a, T> {
        self.as_uninit().write(value);
        Loan {
            raw: self.raw,
            _type: PhantomData,
        }
    }

    /// The sample, initialised by the caller.
    ///
    /// # Safety
    ///
    /// Every byte of the sample must have been written through
    /// [`as_mut_ptr`](Self::as_mut_ptr) or [`as_uninit`](Self::as_uninit) (the buffer may hold
    /// an earlier sample's bytes, but those are not guaranteed to be initialised memory).
    pub unsafe fn assume_init(self) -> Loan<'a, T> {
        Loan {
            raw: self.raw,
            _type: PhantomData,
        }
    }
}

impl<T> Loan<'_, T> {
    /// Publishes the sample (no copy): every subscriber can now receive it.
    pub fn send(self) {
        self.raw.send();
    }
}

impl<T: IpcMessage> Deref for Loan<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the buffer is loaned to this publisher alone (no subscriber reads a buffer
        // before it is published, and none still holds it: see the module's safety argument),
        // initialised (zeroed, written or promised by `assume_init`), 64-aligned, and mapped
        // while the loan borrows the publisher.
        unsafe { &*self.raw.ptr().cast::<T>() }
    }
}

impl<T: IpcMessage> DerefMut for Loan<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the loan is borrowed mutably, so this is the only reference.
        unsafe { &mut *self.raw.ptr().cast::<T>() }
    }
}

/// The subscribing end of a topic of `T` samples. See [`Publisher`] for an example.
///
/// A subscriber receives every sample published after it joined (and the topic's `history`
/// before that), in order. With [`Policy::Overwrite`] one that falls behind gets
/// [`ErrorKind::Lagged`] once, with the exact count in [`Error::missed`], and goes on from the
/// oldest sample still there.
pub struct Subscriber<T> {
    core: SubCore,
    _type: PhantomData<fn() -> T>,
}

impl<T: IpcMessage> Subscriber<T> {
    /// Opens a topic of `T` and joins it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] for a topic of another type (or of frames), or a segment that is
    /// not a topic; [`ErrorKind::LimitExceeded`] if the topic already has its
    /// `max_subscribers` (at most 32).
    pub fn open(name: &str) -> Result<Self> {
        Self::open_with(name, &SubscribeOptions::new())
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the topic to exist (see
    /// [`SubscribeOptions::wait`]).
    pub fn open_wait(name: &str, timeout: impl Into<Timeout>) -> Result<Self> {
        Self::open_with(name, &SubscribeOptions::new().wait(timeout))
    }

    /// Opens a topic of `T` and joins it, as `options` says: waiting for it to exist,
    /// following restarts of its publisher.
    pub fn open_with(name: &str, options: &SubscribeOptions) -> Result<Self> {
        check_align::<T>(name, Operation::Open)?;
        let topic = options
            .opening(|| Topic::open(name, &RecordType::of::<T>(), SHAPE_RECORDS, 0, false, None))?;
        let core = SubCore::with_options(topic, options)?;
        Ok(Subscriber {
            core,
            _type: PhantomData,
        })
    }

    /// The next sample, in place: a guard that derefs to the `T` in the segment. Waits
    /// (spinning briefly, then sleeping on the topic's futex) until one is published.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Lagged`] (with [`Error::missed`]) if samples were overwritten before this
    /// subscriber read them; [`ErrorKind::Disconnected`] once the publisher has gone and
    /// everything it published was received; [`ErrorKind::Cancelled`] if the handle's token is
    /// cancelled.
    pub fn recv(&mut self) -> Result<Sample<'_, T>> {
        self.recv_with(Timeout::Infinite)
    }

    /// As [`recv`](Self::recv), waiting at most `timeout` ([`ErrorKind::TimedOut`]).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Sample<'_, T>> {
        self.recv_with(timeout)
    }

    /// As [`recv`](Self::recv), with any [`Timeout`] (`Timeout::Immediate`:
    /// [`ErrorKind::WouldBlock`] if nothing is there).
    pub fn recv_with(&mut self, timeout: impl Into<Timeout>) -> Result<Sample<'_, T>> {
        let held = self.core.next(timeout.into().deadline())?;
        Ok(Sample {
            core: &mut self.core,
            held,
            _type: PhantomData,
        })
    }

    /// The next sample, copied out, waiting as [`recv`](Self::recv) does.
    ///
    /// A copy is taken as a seqlock read (copied, then checked to be still the sample), not
    /// under a hold: for small samples it is the cheaper receive, as it writes nothing the
    /// publisher reads.
    pub fn recv_copy(&mut self) -> Result<T> {
        self.recv_copy_with(Timeout::Infinite)
    }

    /// The next sample, copied out, without waiting: [`ErrorKind::WouldBlock`] if there is none.
    pub fn try_recv(&mut self) -> Result<T> {
        self.recv_copy_with(Timeout::Immediate)
    }

    /// The next sample, copied out, with any [`Timeout`].
    pub fn recv_copy_with(&mut self, timeout: impl Into<Timeout>) -> Result<T> {
        let mut value = <T as bytemuck::Zeroable>::zeroed();
        let mut out: &mut [u8] = bytemuck::bytes_of_mut(&mut value);
        self.core.next_copy(timeout.into().deadline(), &mut out)?;
        Ok(value)
    }
}

/// A received sample, in place: derefs to the `T` in the segment. The publisher does not reuse
/// its buffer until the guard is dropped.
pub struct Sample<'a, T> {
    core: &'a mut SubCore,
    held: Held,
    _type: PhantomData<&'a T>,
}

impl<T> Sample<'_, T> {
    /// The sample's number: how many samples the topic had published before it.
    pub fn index(&self) -> u64 {
        self.held.index
    }

    /// When it was published (`CLOCK_MONOTONIC` ns, as [`now_ns`](crate::now_ns)).
    pub fn published_ns(&self) -> u64 {
        self.held.published
    }
}

impl<T: IpcMessage> Deref for Sample<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this subscriber holds the buffer (its holder bit was set and the entry's stamp
        // re-checked after that), so an honest publisher does not write it until the guard is
        // dropped (see the module's safety argument); it was published complete (the stamp was
        // loaded with acquire ordering), is `size_of::<T>()` bytes in the mapping, 64-aligned,
        // and any bytes are a valid `T` (`T: Pod`).
        unsafe { &*self.core.topic.payload(self.held.buffer).cast::<T>() }
    }
}

impl<T> Drop for Sample<'_, T> {
    fn drop(&mut self) {
        self.core.release();
    }
}

impl<T: IpcMessage + std::fmt::Debug> std::fmt::Debug for Sample<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sample")
            .field("index", &self.index())
            .field("value", &**self)
            .finish()
    }
}

impl<T: IpcMessage + std::fmt::Debug> std::fmt::Debug for Loan<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loan").field("value", &**self).finish()
    }
}

/// What both ends of every kind share.
macro_rules! topic_end_methods {
    ($end:ty $(where $g:ident: $b:path)?, $what:literal) => {
        impl<$($g: $b)?> $end {
            /// Attaches a [`CancelToken`]: a call that waits ends with
            /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) as soon as the token is
            /// cancelled. Replaces an earlier token.
            pub fn with_cancel(mut self, token: &CancelToken) -> Self {
                self.core.cancel = Some(token.clone());
                self
            }

            /// The topic's name.
            pub fn name(&self) -> &str {
                self.core.topic.shm.name()
            }

            /// Whether this handle created the topic (or took it over).
            pub fn created(&self) -> bool {
                self.core.topic.shm.created()
            }

            /// What the topic's segment holds in `/dev/shm`: its size (all of it reserved at
            /// creation) and the bytes of memory allocated to it.
            pub fn footprint(&self) -> Result<super::Footprint> {
                let st = self.stat()?;
                Ok(super::Footprint {
                    reserved: st.size,
                    resident: st.allocated,
                })
            }

            /// A handle on the topic's counters that borrows nothing: read it while a sample
            /// or frame from this end is alive (see [`TopicStatus`](super::TopicStatus)).
            pub fn status(&self) -> Result<super::TopicStatus> {
                super::TopicStatus::of(&self.core.topic, self.core.status_entry())
            }

            /// The generation of the topic's current (or last) publisher: 1 for the first,
            /// one more for each publisher that opened or took it over since (for a
            /// subscriber: the generation whose samples it receives now).
            pub fn generation(&self) -> u64 {
                self.core.generation()
            }

            /// The topic's policy for slow subscribers.
            pub fn policy(&self) -> Policy {
                self.core.topic.policy
            }

            /// How many samples the topic keeps.
            pub fn capacity(&self) -> usize {
                self.core.topic.capacity as usize
            }

            /// Most subscribers at once, fixed when the topic was created.
            pub fn max_subscribers(&self) -> usize {
                self.core.topic.max_subscribers
            }

            /// How many subscribers are connected and alive now, counting one once it has joined
            /// (placed its cursor): it then receives every sample published from now on.
            pub fn subscribers(&self) -> usize {
                self.core.topic.live_subscribers()
            }

            /// Samples published on the topic so far.
            pub fn published(&self) -> u64 {
                self.core
                    .topic
                    .tail()
                    .load(std::sync::atomic::Ordering::Acquire)
            }

            /// Owner, mode and size of the segment (`fstat` of this handle's descriptor).
            pub fn stat(&self) -> Result<crate::SegmentStat> {
                self.core.topic.shm.stat().map_err(super::topic::as_topic)
            }

            /// Removes the topic's name; connected ends keep working.
            pub fn unlink(&self) -> Result<()> {
                self.core.topic.shm.unlink().map_err(super::topic::as_topic)
            }
        }

        impl<$($g: $b)?> std::fmt::Debug for $end {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($what)
                    .field("name", &self.name())
                    .field("record", &self.core.topic.record.name)
                    .field("policy", &self.policy())
                    .field("capacity", &self.capacity())
                    .finish()
            }
        }

        impl<$($g: $b)?> crate::owned::sealed::Sealed for $end {}
        impl<$($g: $b)?> crate::owned::Removable for $end {
            fn created_object(&self) -> bool {
                self.core.topic.shm.created()
            }
            fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
                crate::owned::Removable::owned_names(&self.core.topic.shm)
            }
        }
    };
}
pub(super) use topic_end_methods;

/// Hooks of the async layer (`crate::asyncio`, feature `tokio`): readiness and a futex wait
/// that take or publish nothing, so a task can wait on the blocking pool and do the
/// non-blocking call itself.
macro_rules! async_hooks {
    ($end:ty $(where $g:ident: $b:path)?, publisher) => {
        #[cfg(feature = "tokio")]
        impl<$($g: $b)?> $end {
            pub(crate) fn ready_now(&mut self) -> bool {
                self.core.ready_now()
            }
            pub(crate) fn wait_ready(&mut self, timeout: Duration) {
                self.core.wait_writable(timeout);
            }
        }
    };
    ($end:ty $(where $g:ident: $b:path)?, subscriber) => {
        #[cfg(feature = "tokio")]
        impl<$($g: $b)?> $end {
            pub(crate) fn ready_now(&mut self) -> bool {
                self.core.ready_now()
            }
            pub(crate) fn wait_ready(&mut self, timeout: Duration) {
                self.core.wait_readable(timeout);
            }
        }
    };
}
pub(super) use async_hooks;

/// What both subscribing ends have.
macro_rules! subscriber_methods {
    ($end:ty $(where $g:ident: $b:path)?) => {
        impl<$($g: $b)?> $end {
            /// How many samples were published that this subscriber has not received yet
            /// (some may be overwritten by the time it asks for them): one atomic load, for
            /// polling loops that should not build an error per empty poll.
            pub fn pending(&self) -> u64 {
                self.core.pending()
            }

            /// Whether a receive would find a sample (or a lag) now: what a polling loop should
            /// wait on (it looks at the one shared word that changes when the next sample is
            /// published).
            pub fn has_samples(&self) -> bool {
                self.core.has_samples()
            }
        }
    };
}
pub(super) use subscriber_methods;

subscriber_methods!(Subscriber<T> where T: IpcMessage);
async_hooks!(Publisher<T> where T: IpcMessage, publisher);
async_hooks!(Subscriber<T> where T: IpcMessage, subscriber);

topic_end_methods!(Publisher<T> where T: IpcMessage, "Publisher");
topic_end_methods!(Subscriber<T> where T: IpcMessage, "Subscriber");
