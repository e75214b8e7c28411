//! Timeouts, with posix_ipc's three meanings and none of its arithmetic bugs.
//!
//! posix_ipc takes `None` (wait forever), `0` (never block) or a positive number of seconds.
//! [`Timeout`] is the same three cases as a Rust enum. Deadlines are measured on
//! `CLOCK_MONOTONIC`, so setting the wall clock during a wait neither shortens nor stretches it
//! (posix_ipc computes `CLOCK_REALTIME` deadlines). Any `Duration`, up to `Duration::MAX`, is
//! accepted: a deadline beyond what the clock can express waits forever instead of failing at
//! once (posix_ipc's `1e20` bug).

use std::time::Duration;

use crate::error::{Error, ErrorKind, Object, Operation, Result};
use crate::sys;

/// How long a blocking call may wait.
///
/// `From<Duration>` maps `Duration::ZERO` to [`Timeout::Immediate`]; `From<Option<Duration>>`
/// maps `None` to [`Timeout::Infinite`], as posix_ipc's `timeout=None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Timeout {
    /// Wait as long as it takes (posix_ipc `timeout=None`).
    #[default]
    Infinite,
    /// Never block: fail with [`ErrorKind::WouldBlock`] if the call would have to wait
    /// (posix_ipc `timeout=0`).
    Immediate,
    /// Wait at most this long, then fail with [`ErrorKind::TimedOut`]. A zero duration behaves
    /// as [`Timeout::Immediate`].
    After(Duration),
}

impl Timeout {
    /// Converts posix_ipc's float seconds: `0.0` is [`Timeout::Immediate`], `+inf` is
    /// [`Timeout::Infinite`], a value too large for a `Duration` waits forever, anything
    /// else positive is [`Timeout::After`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a negative number or NaN (posix_ipc raises
    /// `TypeError` "The timeout must be None or a non-negative number").
    pub fn from_secs_f64(secs: f64) -> Result<Timeout> {
        if secs.is_nan() || secs < 0.0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Timeout,
                Object {
                    kind: crate::ObjectKind::Timeout,
                    name: None,
                },
                format!("the timeout must be None or a non-negative number of seconds, not {secs}"),
            ));
        }
        if secs == 0.0 {
            return Ok(Timeout::Immediate);
        }
        Ok(match Duration::try_from_secs_f64(secs) {
            Ok(d) if d.is_zero() => Timeout::Immediate,
            Ok(d) => Timeout::After(d),
            Err(_) => Timeout::Infinite,
        })
    }

    #[inline]
    pub(crate) fn deadline(self) -> Deadline {
        match self {
            Timeout::Infinite => Deadline::Never,
            Timeout::Immediate => Deadline::Now,
            Timeout::After(d) if d.is_zero() => Deadline::Now,
            Timeout::After(d) => match sys::monotonic_now().checked_add(d) {
                // Anything past ~292 years from boot cannot be a timespec: wait forever.
                Some(at) if at.as_secs() < i64::MAX as u64 / 2 => Deadline::At(at),
                _ => Deadline::Never,
            },
        }
    }
}

impl From<Duration> for Timeout {
    fn from(d: Duration) -> Timeout {
        if d.is_zero() {
            Timeout::Immediate
        } else {
            Timeout::After(d)
        }
    }
}

impl From<Option<Duration>> for Timeout {
    fn from(d: Option<Duration>) -> Timeout {
        d.map_or(Timeout::Infinite, Timeout::from)
    }
}

/// An absolute deadline on `CLOCK_MONOTONIC`, fixed when the call starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    Never,
    Now,
    /// Time since the monotonic clock's epoch.
    At(Duration),
}

impl Deadline {
    /// Time left before the deadline, `None` if it has passed.
    pub(crate) fn remaining(self) -> Option<Duration> {
        match self {
            Deadline::Never => Some(Duration::MAX),
            Deadline::Now => None,
            Deadline::At(at) => at
                .checked_sub(sys::monotonic_now())
                .filter(|d| !d.is_zero()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_seconds_follow_posix_ipc() {
        assert_eq!(Timeout::from_secs_f64(0.0).unwrap(), Timeout::Immediate);
        assert_eq!(
            Timeout::from_secs_f64(1.5).unwrap(),
            Timeout::After(Duration::from_millis(1500))
        );
        assert_eq!(
            Timeout::from_secs_f64(f64::INFINITY).unwrap(),
            Timeout::Infinite
        );
        assert_eq!(Timeout::from_secs_f64(1e30).unwrap(), Timeout::Infinite);
        assert_eq!(Timeout::from_secs_f64(1e-12).unwrap(), Timeout::Immediate);
        for bad in [-1.0, -0.5, f64::NAN, f64::NEG_INFINITY] {
            let err = Timeout::from_secs_f64(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(Timeout::from(None), Timeout::Infinite);
        assert_eq!(Timeout::from(Some(Duration::ZERO)), Timeout::Immediate);
        assert_eq!(
            Timeout::from(Duration::from_secs(2)),
            Timeout::After(Duration::from_secs(2))
        );
    }

    #[test]
    fn huge_durations_never_overflow_into_an_instant_failure() {
        assert_eq!(Timeout::After(Duration::MAX).deadline(), Deadline::Never);
        let far = Timeout::After(Duration::from_secs(u64::MAX / 4)).deadline();
        assert_eq!(far, Deadline::Never);
        match Timeout::After(Duration::from_secs(5)).deadline() {
            Deadline::At(_) => {}
            other => panic!("expected a deadline, got {other:?}"),
        }
        assert!(Deadline::Now.remaining().is_none());
        assert!(Deadline::Never.remaining().is_some());
    }
}
