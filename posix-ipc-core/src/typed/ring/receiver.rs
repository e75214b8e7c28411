//! The receiving end of a ring.

use super::*;

/// The receiving end of a ring. See [`RingSender`] for an example.
pub struct RingReceiver<T> {
    pub(super) ring: Ring,
    pub(super) _type: PhantomData<T>,
    pub(super) entry: usize,
    pub(super) cancel: Option<CancelToken>,
    /// SPSC: the producer's tail as last seen.
    pub(super) tail_cache: std::cell::Cell<u64>,
    /// SPSC: the head this consumer, its only writer, last stored.
    pub(super) head_local: std::cell::Cell<u64>,
}

impl<T: IpcMessage> RingReceiver<T> {
    /// Creates the ring segment (exclusive) with `capacity` slots (a power of two) and
    /// registers as its consumer.
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
        .map_err(|e| exists_in(e, &format!("RingReceiver::<{}>", T::LAYOUT.name)))?;
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
    ///   consumer of an SPSC ring does not count).
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
        let end = format!("RingReceiver::<{}>", T::LAYOUT.name);
        let record = RecordType::of::<T>();
        let ring =
            Ring::create_or_take_over(name, capacity, mode, &record, Some(&T::LAYOUT), &end)?;
        Self::with(ring).map(crate::Owned::new)
    }

    /// Opens an existing ring, checking its header against `T`, and registers as a consumer.
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

    /// One message, if one is ready. `Some(None)` is a slot a dead producer abandoned (skipped).
    #[inline(always)]
    pub(super) fn try_pop_value(&self) -> Step<Option<T>> {
        let mut value = std::mem::MaybeUninit::<T>::uninit();
        match self.try_pop(|r, i| r.read_value(i, &mut value)) {
            // SAFETY: `try_pop` ran the reader (it returns `Done` only after reading the
            // claimed slot), which wrote a whole `T` into `value`.
            Step::Done(true) => Step::Done(Some(unsafe { value.assume_init() })),
            Step::Done(false) => Step::Done(None),
            Step::Wait => Step::Wait,
        }
    }

    /// Receives the next message, waiting while the ring is empty (spinning briefly, then
    /// sleeping on the segment's futex).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Disconnected`] once every producer has gone and the ring is drained.
    #[inline]
    pub fn recv(&self) -> Result<T> {
        if let Step::Done(Some(v)) = self.try_pop_value() {
            self.ring.wake(Side::Producer);
            return Ok(v);
        }
        self.recv_with(Timeout::Infinite)
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the ring is empty (and
    /// [`ErrorKind::Disconnected`] if it is empty and every producer has gone).
    pub fn try_recv(&self) -> Result<T> {
        self.recv_with(Timeout::Immediate)
    }

    /// Receives, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.recv_with(timeout)
    }

    /// Receives with any [`Timeout`]. Slots abandoned by a producer that died mid-write are
    /// skipped (MPMC).
    #[inline(never)]
    pub fn recv_with(&self, timeout: impl Into<Timeout>) -> Result<T> {
        // The loop of `recv_bytes_with`, made for `T`: the copy has a constant length.
        let deadline = timeout.into().deadline();
        loop {
            let r = wait_loop(
                &self.ring,
                Side::Consumer,
                deadline,
                Operation::Receive,
                Stops::of(self.cancel.as_ref()),
                || self.try_pop_value(),
                || self.has_data(),
            )?;
            self.ring.wake(Side::Producer);
            if let Some(v) = r {
                return Ok(v);
            }
        }
    }

    /// Waits for at least one message (as [`recv`](Self::recv)), then appends it and every
    /// message ready after it, up to `max` in all, to `out`; returns how many.
    pub fn recv_batch(&self, out: &mut Vec<T>, max: usize) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        out.push(self.recv()?);
        Ok(1 + self.pop_many(out, max - 1))
    }

    /// Appends up to `max` messages that are ready now to `out`; returns how many.
    pub fn try_recv_batch(&self, out: &mut Vec<T>, max: usize) -> usize {
        self.pop_many(out, max)
    }

    pub(super) fn pop_many(&self, out: &mut Vec<T>, max: usize) -> usize {
        out.reserve(max.min(self.ring.capacity as usize));
        self.pop_many_by(max, |taken| {
            let mut value = T::zeroed();
            taken.read(bytemuck::bytes_of_mut(&mut value));
            out.push(value);
        })
    }
}

/// What the typed receiver and the [`RecordReceiver`] share: the protocol, on bytes.
impl<T> RingReceiver<T> {
    pub(super) fn with(ring: Ring) -> Result<Self> {
        sys::membarrier_register();
        let entry = ring.register(Side::Consumer)?;
        let tail = ring.u64_at(TAIL).load(Ordering::Acquire);
        let head = ring.u64_at(HEAD).load(Ordering::Acquire);
        Ok(RingReceiver {
            ring,
            _type: PhantomData,
            entry,
            cancel: None,
            tail_cache: std::cell::Cell::new(tail),
            head_local: std::cell::Cell::new(head),
        })
    }

    /// Takes one record into `out` (one record long), if one is ready: `Done(true)`, or
    /// `Done(false)` for a slot a dead producer abandoned (skipped; `out` holds no message).
    #[inline(always)]
    pub(super) fn try_pop(&self, read: impl FnOnce(&Ring, u64)) -> Step<bool> {
        let r = &self.ring;
        match r.mode {
            RingMode::Spsc => {
                let head = self.head_local.get();
                if head == self.tail_cache.get() {
                    self.tail_cache.set(r.u64_at(TAIL).load(Ordering::Acquire));
                    if head == self.tail_cache.get() {
                        return Step::Wait;
                    }
                }
                read(r, head);
                r.u64_at(HEAD).store(head + 1, Ordering::Release);
                self.head_local.set(head + 1);
                Step::Done(true)
            }
            RingMode::Mpmc => {
                let busy = r.entry_busy(Side::Consumer, self.entry);
                busy.store(u64::MAX, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                let head = r.u64_at(HEAD);
                let mut pos = head.load(Ordering::Relaxed);
                loop {
                    let seq = r.slot_seq(pos).load(Ordering::Acquire);
                    let diff = seq as i64 - (pos + 1) as i64;
                    if diff == 0 {
                        match head.compare_exchange_weak(
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
                        pos = head.load(Ordering::Relaxed);
                    }
                }
                busy.store(pos + 1, Ordering::Relaxed);
                let valid = r.slot_stamp(pos).load(Ordering::Acquire) == pos + 1;
                read(r, pos);
                r.slot_seq(pos).store(pos + r.capacity, Ordering::Release);
                busy.store(0, Ordering::Release);
                Step::Done(valid)
            }
        }
    }

    #[inline]
    pub(super) fn has_data(&self) -> bool {
        let r = &self.ring;
        match r.mode {
            RingMode::Spsc => {
                r.u64_at(HEAD).load(Ordering::SeqCst) != r.u64_at(TAIL).load(Ordering::SeqCst)
            }
            RingMode::Mpmc => {
                let pos = r.u64_at(HEAD).load(Ordering::SeqCst);
                r.slot_seq(pos).load(Ordering::SeqCst) as i64 - (pos + 1) as i64 >= 0
            }
        }
    }

    /// Takes up to `max` records that are ready now, in order, handing each to `take` (which
    /// must call the reader it gets once, with a buffer of one record); wakes producers once.
    /// Returns how many were taken (abandoned MPMC slots are skipped, not counted).
    pub(super) fn pop_many_by(&self, max: usize, mut take: impl FnMut(Taken<'_>)) -> usize {
        let r = &self.ring;
        if r.mode == RingMode::Spsc {
            let head = self.head_local.get();
            let mut ready = self.tail_cache.get() - head;
            if ready < max as u64 {
                self.tail_cache.set(r.u64_at(TAIL).load(Ordering::Acquire));
                ready = self.tail_cache.get() - head;
            }
            let n = ready.min(max as u64);
            for i in 0..n {
                take(Taken::Slot(r, head + i));
            }
            if n > 0 {
                r.u64_at(HEAD).store(head + n, Ordering::Release);
                self.head_local.set(head + n);
                r.wake(Side::Producer);
            }
            return n as usize;
        }
        let mut n = 0;
        let mut buf = vec![0u8; r.record.size];
        while n < max {
            match self.try_pop(|r, i| r.read_slot(i, &mut buf)) {
                Step::Done(true) => {
                    take(Taken::Copied(&buf));
                    n += 1;
                }
                Step::Done(false) => {}
                Step::Wait => break,
            }
        }
        if n > 0 {
            r.wake(Side::Producer);
        }
        n
    }

    /// Receives one record into `out` with any timeout, skipping abandoned slots.
    #[inline(never)]
    pub(super) fn recv_bytes_with(&self, out: &mut [u8], timeout: Timeout) -> Result<()> {
        let deadline = timeout.deadline();
        loop {
            let valid = wait_loop(
                &self.ring,
                Side::Consumer,
                deadline,
                Operation::Receive,
                Stops::of(self.cancel.as_ref()),
                || self.try_pop(|r, i| r.read_slot(i, out)),
                || self.has_data(),
            )?;
            self.ring.wake(Side::Producer);
            if valid {
                return Ok(());
            }
        }
    }
}

impl<T> Drop for RingReceiver<T> {
    fn drop(&mut self) {
        self.ring.deregister(Side::Consumer, self.entry);
    }
}

impl<T: IpcMessage> std::fmt::Debug for RingReceiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RingReceiver<{}>({:?}, {:?}, capacity {})",
            T::LAYOUT.name,
            self.name(),
            self.ring.mode,
            self.ring.capacity
        )
    }
}
