//! Message queues: [`MqHandle`] (`mq_open` and friends) and `mq_notify`.

use std::ffi::{c_int, c_void, CStr};
use std::os::fd::{BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::*;

/// Attributes of a queue, from `mq_getattr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MqAttr {
    pub(crate) flags: i64,
    pub(crate) max_messages: i64,
    pub(crate) message_size: i64,
    pub(crate) current_messages: i64,
}

/// An open message-queue descriptor (`mqd_t`, a file descriptor on Linux), closed on drop.
#[derive(Debug)]
pub(crate) struct MqHandle {
    mqd: libc::mqd_t,
}

impl MqHandle {
    /// `mq_open(name, oflag, mode, attr)`; `attr` (max messages, message size) is passed only
    /// when given. Descriptors are close-on-exec (the kernel always sets it for mq_open).
    pub(crate) fn open(
        name: &CStr,
        oflag: c_int,
        mode: u32,
        attr: Option<(i64, i64)>,
    ) -> SysResult<MqHandle> {
        let mqd = match attr {
            Some((max_messages, message_size)) => {
                // SAFETY: an all-zero mq_attr is valid (it is a plain C struct of integers).
                let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
                a.mq_maxmsg = max_messages as _;
                a.mq_msgsize = message_size as _;
                // SAFETY: `name` is NUL-terminated; with O_CREAT mq_open reads a mode_t and a
                // `struct mq_attr *`, which `a` is, valid for the call.
                unsafe {
                    libc::mq_open(
                        name.as_ptr(),
                        oflag,
                        mode as libc::mode_t,
                        &mut a as *mut libc::mq_attr,
                    )
                }
            }
            // SAFETY: `name` is NUL-terminated; without O_CREAT no variadic argument is read,
            // and a NULL attr pointer means "kernel defaults" when O_CREAT is set.
            None => unsafe {
                libc::mq_open(
                    name.as_ptr(),
                    oflag,
                    mode as libc::mode_t,
                    std::ptr::null_mut::<libc::mq_attr>(),
                )
            },
        };
        if mqd < 0 {
            Err(last_errno())
        } else {
            Ok(MqHandle { mqd })
        }
    }

    /// `mq_getattr`.
    pub(crate) fn getattr(&self) -> SysResult<MqAttr> {
        // SAFETY: an all-zero mq_attr is valid.
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: `mqd` is open while `self` lives; `a` is valid and writable.
        check(unsafe { libc::mq_getattr(self.mqd, &mut a) })?;
        Ok(MqAttr {
            flags: a.mq_flags as i64,
            max_messages: a.mq_maxmsg as i64,
            message_size: a.mq_msgsize as i64,
            current_messages: a.mq_curmsgs as i64,
        })
    }

    /// `mq_setattr` with new `mq_flags` (only `O_NONBLOCK` is honoured by the kernel).
    pub(crate) fn set_flags(&self, flags: i64) -> SysResult<()> {
        // SAFETY: an all-zero mq_attr is valid.
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        a.mq_flags = flags as _;
        // SAFETY: `mqd` is open while `self` lives; `a` is valid; the old-attr pointer may be
        // NULL.
        check(unsafe { libc::mq_setattr(self.mqd, &a, std::ptr::null_mut()) })
    }

    /// `mq_send` (deadline `None`) or `mq_timedsend` with an absolute `CLOCK_REALTIME` deadline.
    /// `Some(Duration::ZERO)` (the epoch) makes a non-blocking attempt on a blocking descriptor.
    #[inline]
    pub(crate) fn send(
        &self,
        msg: &[u8],
        priority: u32,
        realtime_at: Option<Duration>,
    ) -> SysResult<()> {
        let rc = match realtime_at {
            // SAFETY: `mqd` is open; `msg` is valid for `msg.len()` bytes.
            None => unsafe { libc::mq_send(self.mqd, msg.as_ptr().cast(), msg.len(), priority) },
            Some(at) => {
                let ts = timespec_of(at);
                // SAFETY: as above; `ts` is a valid, normalised timespec.
                unsafe {
                    libc::mq_timedsend(self.mqd, msg.as_ptr().cast(), msg.len(), priority, &ts)
                }
            }
        };
        check(rc)
    }

    /// `mq_receive` / `mq_timedreceive` into `buf`; returns (length, priority).
    #[inline]
    pub(crate) fn receive(
        &self,
        buf: &mut [u8],
        realtime_at: Option<Duration>,
    ) -> SysResult<(usize, u32)> {
        let mut prio: libc::c_uint = 0;
        let n = match realtime_at {
            // SAFETY: `mqd` is open; `buf` is valid and writable for `buf.len()` bytes; the
            // kernel writes at most that many; `prio` is a valid unsigned int.
            None => unsafe {
                libc::mq_receive(self.mqd, buf.as_mut_ptr().cast(), buf.len(), &mut prio)
            },
            Some(at) => {
                let ts = timespec_of(at);
                // SAFETY: as above; `ts` is a valid, normalised timespec.
                unsafe {
                    libc::mq_timedreceive(
                        self.mqd,
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        &mut prio,
                        &ts,
                    )
                }
            }
        };
        if n < 0 {
            Err(last_errno())
        } else {
            Ok((n as usize, prio))
        }
    }

    /// `mq_notify(SIGEV_SIGNAL, signo)`.
    pub(crate) fn notify_signal(&self, signo: c_int) -> SysResult<()> {
        // SAFETY: an all-zero sigevent is valid.
        let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
        ev.sigev_notify = libc::SIGEV_SIGNAL;
        ev.sigev_signo = signo;
        // SAFETY: `mqd` is open; `ev` is a valid sigevent for the call.
        check(unsafe { libc::mq_notify(self.mqd, &ev) })
    }

    /// `mq_notify(SIGEV_THREAD)`: glibc runs `function(token)` on a new thread when the queue
    /// goes from empty to non-empty. `token` is an integer, never a pointer, so a late call can
    /// never touch freed memory.
    pub(crate) fn notify_thread(
        &self,
        function: extern "C" fn(libc::sigval),
        token: usize,
    ) -> SysResult<()> {
        let ev = SigeventThread {
            sigev_value: libc::sigval {
                sival_ptr: token as *mut c_void,
            },
            sigev_signo: 0,
            sigev_notify: libc::SIGEV_THREAD,
            function: Some(function),
            attributes: std::ptr::null_mut(),
            _pad: [0; SIGEV_PAD - 4],
        };
        // SAFETY: `SigeventThread` has glibc's `struct sigevent` layout with the
        // `_sigev_thread` union member selected (checked by the const assertion below); `mqd` is
        // open; `function` is a valid `extern "C" fn(sigval)` with 'static lifetime; the
        // attributes pointer may be NULL.
        check(unsafe { libc::mq_notify(self.mqd, (&ev as *const SigeventThread).cast()) })
    }

    /// `mq_notify(NULL)`: cancel this process's registration.
    pub(crate) fn notify_cancel(&self) -> SysResult<()> {
        // SAFETY: `mqd` is open; NULL cancels.
        check(unsafe { libc::mq_notify(self.mqd, std::ptr::null()) })
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.mqd
    }

    /// A second descriptor for the same open queue (`fcntl(F_DUPFD_CLOEXEC)`).
    pub(crate) fn try_clone(&self) -> SysResult<MqHandle> {
        // SAFETY: fcntl with F_DUPFD_CLOEXEC on a descriptor open while `self` lives returns a
        // new descriptor (or -1) that nobody else owns.
        let fd = unsafe { libc::fcntl(self.mqd, libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            Err(last_errno())
        } else {
            Ok(MqHandle { mqd: fd })
        }
    }

    pub(crate) fn borrow(&self) -> BorrowedFd<'_> {
        // SAFETY: on Linux an mqd_t is a file descriptor, open until `self` is dropped, and the
        // BorrowedFd cannot outlive `&self`.
        unsafe { BorrowedFd::borrow_raw(self.mqd) }
    }

    /// `mq_close`, reporting its result.
    pub(crate) fn close(self) -> SysResult<()> {
        let mqd = self.mqd;
        std::mem::forget(self);
        // SAFETY: `mqd` is open and, `self` being forgotten, closed only here.
        check(unsafe { libc::mq_close(mqd) })
    }
}

impl Drop for MqHandle {
    fn drop(&mut self) {
        // SAFETY: `mqd` came from mq_open and this is its only close.
        unsafe { libc::mq_close(self.mqd) };
    }
}

/// `mq_notify(mqd, NULL)` on a descriptor number: cancels this process's registration. Used
/// while the owning `MqHandle` is still open (see `mq::NotifyState`); on a closed or reused
/// number it can at worst fail with `EBADF` or cancel this process's own registration.
pub(crate) fn mq_notify_cancel(mqd: RawFd) -> SysResult<()> {
    // SAFETY: mq_notify reads no memory when the sigevent pointer is NULL; any int is an
    // acceptable descriptor argument (invalid ones give EBADF).
    check(unsafe { libc::mq_notify(mqd, std::ptr::null()) })
}

/// `mq_unlink(name)`.
pub(crate) fn mq_unlink(name: &CStr) -> SysResult<()> {
    // SAFETY: `name` is a valid NUL-terminated string.
    check(unsafe { libc::mq_unlink(name.as_ptr()) })
}

pub(super) const SIGEV_PAD: usize = (64 / std::mem::size_of::<c_int>()) - 4;

/// glibc's `struct sigevent` with the `_sigev_thread` member of its union, which the libc crate
/// does not expose.
#[repr(C)]
pub(super) struct SigeventThread {
    sigev_value: libc::sigval,
    sigev_signo: c_int,
    sigev_notify: c_int,
    function: Option<extern "C" fn(libc::sigval)>,
    attributes: *mut libc::pthread_attr_t,
    _pad: [c_int; SIGEV_PAD - 4],
}

const _: () =
    assert!(std::mem::size_of::<SigeventThread>() == std::mem::size_of::<libc::sigevent>());
const _: () = assert!(std::mem::size_of::<libc::sigevent>() == 64);

/// Closes `fd`, reporting the result (`OwnedFd`'s drop ignores it).
pub(crate) fn close(fd: OwnedFd) -> SysResult<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` was owned by `fd`, which gave up ownership; it is closed exactly once here.
    check(unsafe { libc::close(raw) })
}
