//! Sending and receiving: the one-call fast paths, and the wait loops that poll the queue
//! descriptor on the monotonic clock between non-blocking attempts and obey cancel tokens.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::cancel::{self, Stops};
use crate::constants::QUEUE_PRIORITY_MAX;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::sys::{self};
use crate::timeout::{Deadline, Timeout};

use super::*;

/// How long a wait with a peer check (the typed layer's liveness) sleeps before it looks at the
/// other side's processes again.
pub(crate) const PEER_SLICE: Duration = Duration::from_millis(100);

/// How a send or receive of the typed layer waits.
pub(crate) struct Wait<'a> {
    /// When to give up.
    pub(crate) deadline: Deadline,
    /// Whether `EINTR` (a signal handler ran) retries instead of failing with `Interrupted`.
    pub(crate) retry_eintr: bool,
    /// Asked every [`PEER_SLICE`] of waiting: the `Disconnected` error once every peer of the
    /// other side has gone.
    pub(crate) disconnected: Option<&'a dyn Fn() -> Option<Error>>,
    /// The handle's current slice deadline (`CLOCK_REALTIME` nanoseconds; 0: none yet), for
    /// waits with a peer check and no timeout.
    pub(crate) slice: Option<&'a std::sync::atomic::AtomicU64>,
}

impl Wait<'_> {
    /// posix_ipc's behaviour: a signal interrupts, no peer check.
    pub(crate) fn plain(deadline: Deadline) -> Wait<'static> {
        Wait {
            deadline,
            retry_eintr: false,
            disconnected: None,
            slice: None,
        }
    }
}

impl MessageQueue {
    #[inline]
    fn check_send(&self, message: &[u8], priority: u32) -> Result<()> {
        if !self.write {
            return Err(self.fail(
                ErrorKind::PermissionDenied,
                Operation::Send,
                "the queue is not open for writing (opened with write = false)",
            ));
        }
        if priority > QUEUE_PRIORITY_MAX {
            return Err(self.fail(
                ErrorKind::InvalidArgument,
                Operation::Send,
                format!("priority {priority} exceeds QUEUE_PRIORITY_MAX ({QUEUE_PRIORITY_MAX})"),
            ));
        }
        if message.len() > self.max_message_size {
            return Err(self.fail(
                ErrorKind::MessageTooLarge,
                Operation::Send,
                format!(
                    "the message is {} bytes; it must be no longer than the queue's \
                     max_message_size ({} bytes)",
                    message.len(),
                    self.max_message_size
                ),
            ));
        }
        Ok(())
    }

    /// Sends `message` with `priority` (0 to [`QUEUE_PRIORITY_MAX`]), waiting while the queue
    /// is full (`mq_send`). On a non-blocking queue ([`set_block(false)`](Self::set_block)) a
    /// full queue is [`ErrorKind::WouldBlock`] at once.
    ///
    /// # Errors
    ///
    /// | kind | when |
    /// |---|---|
    /// | [`ErrorKind::InvalidArgument`] | priority above 32767 (checked first) |
    /// | [`ErrorKind::MessageTooLarge`] | longer than [`max_message_size`](Self::max_message_size) (checked first) |
    /// | [`ErrorKind::PermissionDenied`] | the handle was opened with `write = false` |
    /// | [`ErrorKind::WouldBlock`] | non-blocking and full |
    /// | [`ErrorKind::Interrupted`] | a signal handler interrupted the wait |
    #[doc(alias = "mq_send")]
    #[inline]
    pub fn send(&self, message: &[u8], priority: u32) -> Result<()> {
        self.send_with(message, priority, Timeout::Infinite)
    }

    /// Sends without waiting: [`ErrorKind::WouldBlock`] if the queue is full.
    #[inline]
    pub fn try_send(&self, message: &[u8], priority: u32) -> Result<()> {
        self.send_with(message, priority, Timeout::Immediate)
    }

    /// Sends, waiting at most `timeout` for room: [`ErrorKind::TimedOut`] after that.
    #[doc(alias = "mq_timedsend")]
    #[inline]
    pub fn send_timeout(&self, message: &[u8], priority: u32, timeout: Duration) -> Result<()> {
        self.send_with(message, priority, Timeout::from(timeout))
    }

    /// posix_ipc's `send(message, timeout, priority)` with any [`Timeout`].
    #[inline]
    pub fn send_with(
        &self,
        message: &[u8],
        priority: u32,
        timeout: impl Into<Timeout>,
    ) -> Result<()> {
        let deadline = timeout.into().deadline();
        if deadline == Deadline::Never && !Stops::of(self.cancel.as_ref()).active() {
            // The common case, as one blocking call: nothing can stop it but a signal.
            self.check_send(message, priority)?;
            return self
                .handle
                .send(message, priority, None)
                .map_err(|e| self.op_error(e, Operation::Send, false));
        }
        self.send_waiting(message, priority, &Wait::plain(deadline))
    }

    /// Sends as the typed layer asks (`wait`: deadline, `EINTR` policy, peer check).
    #[inline]
    pub(crate) fn send_waiting(
        &self,
        message: &[u8],
        priority: u32,
        wait: &Wait<'_>,
    ) -> Result<()> {
        self.check_send(message, priority)?;
        self.transfer(Operation::Send, wait, |at| {
            self.handle.send(message, priority, at)
        })
    }

    /// Receives the oldest message of the highest priority, waiting while the queue is empty
    /// (`mq_receive`). Returns the bytes and the priority.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`] if opened with `read = false`; [`ErrorKind::WouldBlock`]
    /// if non-blocking and empty; [`ErrorKind::Interrupted`] on a signal.
    #[doc(alias = "mq_receive")]
    #[inline]
    pub fn receive(&self) -> Result<(Vec<u8>, u32)> {
        self.receive_with(Timeout::Infinite)
    }

    /// Receives without waiting: [`ErrorKind::WouldBlock`] if the queue is empty.
    #[inline]
    pub fn try_receive(&self) -> Result<(Vec<u8>, u32)> {
        self.receive_with(Timeout::Immediate)
    }

    /// Receives, waiting at most `timeout`: [`ErrorKind::TimedOut`] after that.
    #[doc(alias = "mq_timedreceive")]
    pub fn receive_timeout(&self, timeout: Duration) -> Result<(Vec<u8>, u32)> {
        self.receive_with(Timeout::from(timeout))
    }

    /// posix_ipc's `receive(timeout)` with any [`Timeout`].
    #[inline]
    pub fn receive_with(&self, timeout: impl Into<Timeout>) -> Result<(Vec<u8>, u32)> {
        let mut buf = vec![0u8; self.max_message_size];
        let (len, priority) = self.receive_into(&mut buf, timeout)?;
        buf.truncate(len);
        Ok((buf, priority))
    }

    /// std-style alias of [`receive`](Self::receive).
    pub fn recv(&self) -> Result<(Vec<u8>, u32)> {
        self.receive()
    }

    /// std-style alias of [`try_receive`](Self::try_receive).
    pub fn try_recv(&self) -> Result<(Vec<u8>, u32)> {
        self.try_receive()
    }

    /// std-style alias of [`receive_timeout`](Self::receive_timeout).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<(Vec<u8>, u32)> {
        self.receive_timeout(timeout)
    }

    /// Receives into `buf`, allocating nothing; returns the message length and priority.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `buf` is shorter than
    /// [`max_message_size`](Self::max_message_size) (the kernel would refuse even a short
    /// message); otherwise as [`receive_with`](Self::receive_with).
    #[inline]
    pub fn receive_into(
        &self,
        buf: &mut [u8],
        timeout: impl Into<Timeout>,
    ) -> Result<(usize, u32)> {
        let deadline = timeout.into().deadline();
        if deadline == Deadline::Never
            && !Stops::of(self.cancel.as_ref()).active()
            && self.read
            && buf.len() >= self.max_message_size
        {
            // The common case, as one blocking call: nothing can stop it but a signal.
            return self
                .handle
                .receive(buf, None)
                .map_err(|e| self.op_error(e, Operation::Receive, false));
        }
        self.receive_waiting(buf, &Wait::plain(deadline))
    }

    /// Receives as the typed layer asks (`wait`: deadline, `EINTR` policy, peer check).
    #[inline]
    pub(crate) fn receive_waiting(&self, buf: &mut [u8], wait: &Wait<'_>) -> Result<(usize, u32)> {
        let op = Operation::Receive;
        if !self.read {
            return Err(self.fail(
                ErrorKind::PermissionDenied,
                op,
                "the queue is not open for reading (opened with read = false)",
            ));
        }
        if buf.len() < self.max_message_size {
            return Err(self.fail(
                ErrorKind::InvalidArgument,
                op,
                format!(
                    "the buffer is {} bytes, shorter than the queue's max_message_size ({}); \
                     the kernel refuses any receive into it",
                    buf.len(),
                    self.max_message_size
                ),
            ));
        }
        self.transfer(op, wait, |at| self.handle.receive(buf, at))
    }

    /// The waiting strategy shared by send and receive. `attempt(None)` is the blocking call,
    /// `attempt(Some(t))` the timed one with the absolute `CLOCK_REALTIME` deadline `t`
    /// (`Duration::ZERO`: do not wait).
    ///
    /// - No token, no peer check: one blocking call (or `mq_timed*` for "now"), as always.
    /// - A finite timeout, or a token: non-blocking attempts, and between them a `ppoll` on the
    ///   queue and the tokens' eventfds, measured on the monotonic clock; the peer check runs
    ///   when a slice of [`PEER_SLICE`] passes without progress.
    /// - No token, no timeout, a peer check: one `mq_timed*` call per message whose deadline,
    ///   [`PEER_SLICE`] ahead on the wall clock, only bounds how long a dead peer goes
    ///   unnoticed (a wall-clock jump backwards delays that, nothing else).
    #[inline]
    fn transfer<R>(
        &self,
        op: Operation,
        wait: &Wait<'_>,
        mut attempt: impl FnMut(Option<Duration>) -> sys::SysResult<R>,
    ) -> Result<R> {
        let stops = Stops::of(self.cancel.as_ref());
        match wait.deadline {
            Deadline::Now => {
                let mut r = attempt(Some(Duration::ZERO));
                while wait.retry_eintr && r.as_ref().err() == Some(&libc::EINTR) {
                    r = attempt(Some(Duration::ZERO));
                }
                return match r {
                    Ok(r) => Ok(r),
                    // Empty (or full), and nobody left on the other side: say so.
                    Err(e @ (libc::ETIMEDOUT | libc::EAGAIN)) => Err(wait
                        .disconnected
                        .and_then(|gone| gone())
                        .unwrap_or_else(|| self.op_error(e, op, false))),
                    Err(e) => Err(self.op_error(e, op, false)),
                };
            }
            Deadline::Never if !stops.active() => match wait.disconnected {
                None => loop {
                    match attempt(None) {
                        Err(libc::EINTR) if wait.retry_eintr => continue,
                        r => return r.map_err(|e| self.op_error(e, op, false)),
                    }
                },
                Some(gone) => loop {
                    // The slice deadline is kept per handle and renewed only when a call
                    // times out, so a call that need not wait reads no clock.
                    let at = wait.slice.map_or(0, |s| s.load(Ordering::Relaxed));
                    match attempt(Some(Duration::from_nanos(at))) {
                        Ok(r) => return Ok(r),
                        Err(libc::ETIMEDOUT) => {
                            let now = sys::realtime_now();
                            let now_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
                            // The slice is over (the call waited until its deadline, or the
                            // deadline had passed already): look at the peers, at most once a
                            // slice, then start a new slice and wait again.
                            if at != 0 && now_ns >= at {
                                if let Some(err) = gone() {
                                    return self.last_attempt(op, err, &mut attempt);
                                }
                            }
                            let next = now_ns.saturating_add(PEER_SLICE.as_nanos() as u64);
                            match wait.slice {
                                Some(s) => s.store(next, Ordering::Relaxed),
                                None => {
                                    match attempt(Some(Duration::from_nanos(next))) {
                                        Ok(r) => return Ok(r),
                                        Err(libc::ETIMEDOUT) | Err(libc::EINTR) => {}
                                        Err(e) => return Err(self.op_error(e, op, false)),
                                    }
                                    if let Some(err) = gone() {
                                        return self.last_attempt(op, err, &mut attempt);
                                    }
                                }
                            }
                        }
                        Err(libc::EINTR) if wait.retry_eintr => {}
                        Err(e) => return Err(self.op_error(e, op, false)),
                    }
                },
            },
            _ => {}
        }
        self.transfer_polling(op, wait, stops, &mut attempt)
    }

    #[cold]
    fn transfer_polling<R>(
        &self,
        op: Operation,
        wait: &Wait<'_>,
        stops: Stops<'_>,
        attempt: &mut dyn FnMut(Option<Duration>) -> sys::SysResult<R>,
    ) -> Result<R> {
        let timed = matches!(wait.deadline, Deadline::At(_));
        let (mut fds, mut sliced) = stops.event_fds();
        let mut peers_checked = sys::monotonic_now();
        loop {
            match attempt(Some(Duration::ZERO)) {
                Ok(r) => return Ok(r),
                Err(libc::ETIMEDOUT) => {}
                Err(libc::EINTR) if wait.retry_eintr => {}
                Err(e) => return Err(self.op_error(e, op, false)),
            }
            stops.check(op, || self.object())?;
            if let Some(gone) = wait.disconnected {
                let now = sys::monotonic_now();
                if now.saturating_sub(peers_checked) >= PEER_SLICE {
                    peers_checked = now;
                    if let Some(err) = gone() {
                        return self.last_attempt(op, err, attempt);
                    }
                }
            }
            let Some(left) = wait.deadline.remaining() else {
                return Err(self.op_error(libc::ETIMEDOUT, op, true));
            };
            let mut slice = left;
            if wait.disconnected.is_some() {
                slice = slice.min(PEER_SLICE);
            }
            if sliced {
                slice = slice.min(cancel::SLICE);
            }
            match sys::poll_with(self.handle.raw(), op == Operation::Send, &fds, slice) {
                Ok((_, token_ready)) => {
                    // A token's eventfd readable although no token is cancelled (a signal
                    // handler's late write after a reset): poll the queue alone for the rest
                    // of this call, in slices, rather than spin on it.
                    if token_ready && !stops.cancelled() {
                        fds = [None, None];
                        sliced = true;
                    }
                }
                Err(libc::EINTR) => {
                    stops.check(op, || self.object())?;
                    if !wait.retry_eintr {
                        return Err(self.op_error(libc::EINTR, op, timed));
                    }
                }
                Err(e) => return Err(self.op_error(e, op, true)),
            }
        }
    }

    /// Every peer of the other side has gone: one last attempt (a receive drains what is
    /// left; a send may find room), else `gone`.
    fn last_attempt<R>(
        &self,
        op: Operation,
        gone: Error,
        attempt: &mut dyn FnMut(Option<Duration>) -> sys::SysResult<R>,
    ) -> Result<R> {
        match attempt(Some(Duration::ZERO)) {
            Ok(r) => Ok(r),
            Err(libc::ETIMEDOUT) | Err(libc::EAGAIN) => Err(gone),
            Err(e) => Err(self.op_error(e, op, false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPU time of the calling thread.
    fn thread_cpu() -> Duration {
        sys::thread_cpu_time()
    }

    /// A signal handler's eventfd write that lands after the program reset the token leaves the
    /// eventfd readable on a token that is not cancelled: a queue wait must not spin on it.
    #[test]
    fn a_stale_eventfd_write_does_not_make_a_queue_wait_spin() {
        let name = format!("/pit-{}-stale-eventfd", std::process::id());
        let token = CancelToken::new();
        let mq = MessageQueue::create(&name, 1, 8)
            .unwrap()
            .with_cancel(&token);
        let _ = super::unlink_message_queue(&name);
        token.cancel_from_signal_handler(libc::SIGINT);
        token.reset();
        // The late write.
        sys::eventfd_signal(token.event_fd().unwrap());
        let before = thread_cpu();
        let err = mq.receive_timeout(Duration::from_millis(200)).unwrap_err();
        let burnt = thread_cpu() - before;
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(
            burnt < Duration::from_millis(100),
            "the wait spun: {burnt:?} of CPU in 200 ms"
        );
    }
}
