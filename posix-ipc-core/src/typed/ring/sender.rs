//! The sending end of a ring.

use super::*;

/// The sending end of a ring.
///
/// ```
/// use posix_ipc::{IpcMessage, RingMode, RingReceiver, RingSender};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// struct Tick { seq: u64, value: f64 }
///
/// # let name = format!("/doc-ring-{}", std::process::id());
/// let rx = RingReceiver::<Tick>::create(&name, 1024, RingMode::Spsc)?;
/// let tx = RingSender::<Tick>::open(&name)?;          // checks type and layout
/// tx.send(&Tick { seq: 1, value: 0.5 })?;
/// tx.send_batch(&[Tick { seq: 2, value: 1.0 }, Tick { seq: 3, value: 1.5 }])?;
/// assert_eq!(rx.recv()?.seq, 1);
/// let mut more = Vec::new();
/// assert_eq!(rx.recv_batch(&mut more, 16)?, 2);
/// drop(tx);                                           // the only producer leaves ...
/// assert!(rx.recv().unwrap_err().kind() == posix_ipc::ErrorKind::Disconnected);
/// rx.unlink()?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct RingSender<T> {
    pub(super) ring: Ring,
    pub(super) _type: PhantomData<T>,
    pub(super) entry: usize,
    pub(super) cancel: Option<CancelToken>,
    /// SPSC: the consumer's head as last seen (saves reading the shared line every send).
    pub(super) head_cache: std::cell::Cell<u64>,
    /// SPSC: the tail this producer, its only writer, last stored.
    pub(super) tail_local: std::cell::Cell<u64>,
}

impl<T: IpcMessage> RingSender<T> {
    /// Creates the ring segment (exclusive) with `capacity` slots (a power of two) and
    /// registers as its producer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] if the name exists (the error names the calls to use
    /// instead); [`ErrorKind::InvalidArgument`] for a capacity that is not a power of two from
    /// 2 to 2^30.
    pub fn create(name: &str, capacity: usize, mode: RingMode) -> Result<Self> {
        let record = RecordType::of::<T>();
        let ring = Ring::create(
            name,
            capacity,
            mode,
            &record,
            Some(&T::LAYOUT),
            DEFAULT_PERMISSIONS,
        )
        .map_err(|e| exists_in(e, &format!("RingSender::<{}>", T::LAYOUT.name)))?;
        Self::with(ring)
    }

    /// Creates the ring, or takes over the one under `name` whose owner is gone, and owns it
    /// (the segment is removed when the owner is dropped): what a process restarted under a
    /// fixed name calls. The owner is the handle that created the ring or took it over last;
    /// it stops owning when it is dropped, or when its process dies (SIGKILL included).
    ///
    /// - Nothing there: creates it, as [`create`](Self::create).
    /// - A ring of `T` with this capacity and mode whose owner is gone: takes it over. The
    ///   messages in it stay, and this end registers as [`open`](Self::open) would (a dead
    ///   producer of an SPSC ring does not count).
    /// - A live owner (also this process): [`ErrorKind::AlreadyExists`] naming it (pid and
    ///   command) and what to call instead.
    /// - A ring of another type, capacity or mode, or another kind of segment:
    ///   [`ErrorKind::Mismatch`] naming both.
    ///
    /// Of processes racing on one name, exactly one wins; the others get
    /// [`ErrorKind::AlreadyExists`] naming it.
    pub fn create_or_take_over(
        name: &str,
        capacity: usize,
        mode: RingMode,
    ) -> Result<crate::Owned<Self>> {
        let end = format!("RingSender::<{}>", T::LAYOUT.name);
        let record = RecordType::of::<T>();
        let ring =
            Ring::create_or_take_over(name, capacity, mode, &record, Some(&T::LAYOUT), &end)?;
        Self::with(ring).map(crate::Owned::new)
    }

    /// Opens an existing ring, checking its header against `T`, and registers as a producer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] for a ring of another type; [`ErrorKind::AlreadyExists`] if an
    /// SPSC ring already has a live producer; [`ErrorKind::NotInitialized`] if its creator did
    /// not finish within a second.
    pub fn open(name: &str) -> Result<Self> {
        Self::with(Ring::open(name, DEFAULT_OPEN_WAIT, &RecordType::of::<T>())?)
    }

    /// As [`open`](Self::open), waiting up to `timeout` for the ring to exist and be
    /// initialised (its creator may start later): see [`open_wait`](crate::open_wait), which
    /// this is, for how it waits and stops (Ctrl-C, SIGTERM with
    /// [`signals`](crate::signals) on; a [`CancelToken`](crate::CancelToken) through
    /// `posix_ipc::open_wait` itself).
    pub fn open_wait(name: &str, timeout: impl Into<crate::Timeout>) -> Result<Self> {
        crate::cancel::open_wait(timeout, None, || Self::open(name))
    }

    /// As [`open`](Self::open), also requiring this capacity and mode.
    pub fn open_checked(name: &str, capacity: usize, mode: RingMode) -> Result<Self> {
        let ring = Ring::open(name, DEFAULT_OPEN_WAIT, &RecordType::of::<T>())?;
        check_shape(&ring, capacity, mode)?;
        Self::with(ring)
    }

    /// As [`create`](Self::create), owned: the segment is removed when the owner is dropped
    /// (see [`Owned`](crate::Owned)).
    pub fn create_owned(name: &str, capacity: usize, mode: RingMode) -> Result<crate::Owned<Self>> {
        Self::create(name, capacity, mode).map(crate::Owned::new)
    }

    /// Sends `value`, waiting while the ring is full (spinning briefly, then sleeping).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Disconnected`] if the ring is full and every consumer has gone.
    #[inline]
    pub fn send(&self, value: &T) -> Result<()> {
        if let Step::Done(()) = self.try_push(|r, i| r.write_value(i, value)) {
            self.ring.wake(Side::Consumer);
            return Ok(());
        }
        self.send_with(value, Timeout::Infinite)
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the ring is full.
    pub fn try_send(&self, value: &T) -> Result<()> {
        self.send_with(value, Timeout::Immediate)
    }

    /// Sends, waiting at most `timeout` for room: [`ErrorKind::TimedOut`] after that.
    pub fn send_timeout(&self, value: &T, timeout: Duration) -> Result<()> {
        self.send_with(value, timeout)
    }

    /// Sends with any [`Timeout`].
    #[inline(never)]
    pub fn send_with(&self, value: &T, timeout: impl Into<Timeout>) -> Result<()> {
        // The loop of `send_bytes_with`, made for `T`: the copy has a constant length.
        let r = wait_loop(
            &self.ring,
            Side::Producer,
            timeout.into().deadline(),
            Operation::Send,
            Stops::of(self.cancel.as_ref()),
            || self.try_push(|r, i| r.write_value(i, value)),
            || self.has_room(),
        );
        if r.is_ok() {
            self.ring.wake(Side::Consumer);
        }
        r
    }

    /// Sends every value of `values`, in order, waking consumers once per run of messages that
    /// fit rather than once per message.
    pub fn send_batch(&self, values: &[T]) -> Result<()> {
        let mut rest = values;
        while !rest.is_empty() {
            let n = self.push_many(rest);
            if n > 0 {
                self.ring.wake(Side::Consumer);
                rest = &rest[n..];
                continue;
            }
            self.send_with(&rest[0], Timeout::Infinite)?;
            rest = &rest[1..];
        }
        Ok(())
    }

    /// Sends as many of `values` as fit now, in order; returns how many.
    pub fn try_send_batch(&self, values: &[T]) -> usize {
        let n = self.push_many(values);
        if n > 0 {
            self.ring.wake(Side::Consumer);
        }
        n
    }

    pub(super) fn push_many(&self, values: &[T]) -> usize {
        self.push_many_by(values.len(), |r, index, i| r.write_value(index, &values[i]))
    }
}

/// What the typed sender and the [`RecordSender`] share: the protocol, on bytes.
impl<T> RingSender<T> {
    pub(super) fn with(ring: Ring) -> Result<Self> {
        sys::membarrier_register();
        let entry = ring.register(Side::Producer)?;
        let head = ring.u64_at(HEAD).load(Ordering::Acquire);
        let tail = ring.u64_at(TAIL).load(Ordering::Acquire);
        Ok(RingSender {
            ring,
            _type: PhantomData,
            entry,
            cancel: None,
            head_cache: std::cell::Cell::new(head),
            tail_local: std::cell::Cell::new(tail),
        })
    }

    /// Publishes one record, written into its slot by `write(ring, index)`, if there is room.
    #[inline(always)]
    pub(super) fn try_push(&self, write: impl FnOnce(&Ring, u64)) -> Step<()> {
        let r = &self.ring;
        match r.mode {
            RingMode::Spsc => {
                let tail = self.tail_local.get();
                if tail - self.head_cache.get() >= r.capacity {
                    self.head_cache.set(r.u64_at(HEAD).load(Ordering::Acquire));
                    if tail - self.head_cache.get() >= r.capacity {
                        return Step::Wait;
                    }
                }
                write(r, tail);
                r.u64_at(TAIL).store(tail + 1, Ordering::Release);
                self.tail_local.set(tail + 1);
                Step::Done(())
            }
            RingMode::Mpmc => {
                let busy = r.entry_busy(Side::Producer, self.entry);
                busy.store(u64::MAX, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                let tail = r.u64_at(TAIL);
                let mut pos = tail.load(Ordering::Relaxed);
                loop {
                    let seq = r.slot_seq(pos).load(Ordering::Acquire);
                    let diff = seq as i64 - pos as i64;
                    if diff == 0 {
                        match tail.compare_exchange_weak(
                            pos,
                            pos + 1,
                            Ordering::SeqCst,
                            Ordering::Relaxed,
                        ) {
                            Ok(_) => break,
                            Err(p) => pos = p,
                        }
                    } else if diff < 0 {
                        busy.store(0, Ordering::Release);
                        return Step::Wait;
                    } else {
                        pos = tail.load(Ordering::Relaxed);
                    }
                }
                busy.store(pos + 1, Ordering::Relaxed);
                write(r, pos);
                r.slot_stamp(pos).store(pos + 1, Ordering::Release);
                r.slot_seq(pos).store(pos + 1, Ordering::Release);
                busy.store(0, Ordering::Release);
                Step::Done(())
            }
        }
    }

    #[inline]
    pub(super) fn has_room(&self) -> bool {
        let r = &self.ring;
        match r.mode {
            RingMode::Spsc => {
                r.u64_at(TAIL).load(Ordering::SeqCst) - r.u64_at(HEAD).load(Ordering::SeqCst)
                    < r.capacity
            }
            RingMode::Mpmc => {
                let pos = r.u64_at(TAIL).load(Ordering::SeqCst);
                r.slot_seq(pos).load(Ordering::SeqCst) as i64 - pos as i64 >= 0
            }
        }
    }

    /// Publishes as many of the `count` records `record(i)` as fit now, in order (no wake);
    /// returns how many.
    pub(super) fn push_many_by(&self, count: usize, write: impl Fn(&Ring, u64, usize)) -> usize {
        let r = &self.ring;
        if r.mode == RingMode::Spsc {
            // One index update for the whole run.
            let tail = self.tail_local.get();
            let mut room = r.capacity - (tail - self.head_cache.get());
            if room < count as u64 {
                self.head_cache.set(r.u64_at(HEAD).load(Ordering::Acquire));
                room = r.capacity - (tail - self.head_cache.get());
            }
            let n = room.min(count as u64);
            for i in 0..n {
                write(r, tail + i, i as usize);
            }
            if n > 0 {
                r.u64_at(TAIL).store(tail + n, Ordering::Release);
                self.tail_local.set(tail + n);
            }
            return n as usize;
        }
        let mut n = 0;
        while n < count {
            match self.try_push(|r, index| write(r, index, n)) {
                Step::Done(()) => n += 1,
                Step::Wait => break,
            }
        }
        n
    }

    /// Sends one record, waiting as long as it takes.
    #[inline(always)]
    pub(super) fn send_bytes(&self, bytes: &[u8]) -> Result<()> {
        if let Step::Done(()) = self.try_push(|r, i| r.write_slot(i, bytes)) {
            self.ring.wake(Side::Consumer);
            return Ok(());
        }
        self.send_bytes_with(bytes, Timeout::Infinite)
    }

    /// Sends one record with any timeout.
    #[inline(never)]
    pub(super) fn send_bytes_with(&self, bytes: &[u8], timeout: Timeout) -> Result<()> {
        let r = wait_loop(
            &self.ring,
            Side::Producer,
            timeout.deadline(),
            Operation::Send,
            Stops::of(self.cancel.as_ref()),
            || self.try_push(|r, i| r.write_slot(i, bytes)),
            || self.has_room(),
        );
        if r.is_ok() {
            self.ring.wake(Side::Consumer);
        }
        r
    }
}

impl<T> Drop for RingSender<T> {
    fn drop(&mut self) {
        self.ring.deregister(Side::Producer, self.entry);
    }
}

impl<T: IpcMessage> std::fmt::Debug for RingSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RingSender<{}>({:?}, {:?}, capacity {})",
            T::LAYOUT.name,
            self.name(),
            self.ring.mode,
            self.ring.capacity
        )
    }
}
