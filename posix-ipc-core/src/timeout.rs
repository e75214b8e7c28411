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

/// Nanoseconds on `CLOCK_MONOTONIC`: the clock a topic records publish times on and the topic
/// tools (`posix-ipc topic hz`, `echo`) measure with, comparable between processes of one
/// machine (not across machines or reboots). For a frame header's timestamp:
///
/// ```
/// let t0 = posix_ipc_core::now_ns();
/// let t1 = posix_ipc_core::now_ns();
/// assert!(t1 >= t0 && t0 > 0);
/// ```
#[inline]
pub fn now_ns() -> u64 {
    u64::try_from(sys::monotonic_now().as_nanos()).unwrap_or(u64::MAX)
}

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

/// Randomised properties (issue 6): float and `Duration` conversions and deadlines.
#[cfg(test)]
mod randomised {

    use proptest::prelude::*;

    use super::*;

    use crate::proptest_run::run;

    /// 2^64 seconds: the first float a `Duration` cannot hold (`Duration::MAX` is just below).
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

    /// Every class of float: any bit pattern (all NaNs, subnormals, infinities), proptest's
    /// float classes, values around one nanosecond and around 2^64 seconds, and the specials.
    fn floats() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            any::<f64>(),
            (-3e-9..3e-9f64),
            (0.0..1e4f64),
            (1.8e19..1.9e19f64),
            prop::sample::select(vec![
                0.0,
                -0.0,
                f64::NAN,
                -f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MIN_POSITIVE,
                f64::MIN_POSITIVE / 2.0,
                5e-324,
                -5e-324,
                0.5e-9,
                TWO_POW_64,
                Duration::MAX.as_secs_f64(),
                f64::MAX,
                1e20,
            ]),
        ]
    }

    #[test]
    fn float_seconds_convert_as_documented() {
        run("timeout::from_secs_f64", 4000, floats(), |x| {
            let got = Timeout::from_secs_f64(x);
            if x.is_nan() || x < 0.0 {
                let e = match got {
                    Err(e) => e,
                    Ok(t) => return Err(TestCaseError::fail(format!("{x:e} gave {t:?}"))),
                };
                prop_assert_eq!(e.kind(), ErrorKind::InvalidArgument);
                prop_assert_eq!(e.operation(), Operation::Timeout);
                return Ok(());
            }
            let t = got.map_err(|e| TestCaseError::fail(format!("{x:e} refused: {e}")))?;
            match t {
                // +inf and anything a Duration cannot hold wait forever.
                Timeout::Infinite => prop_assert!(x >= TWO_POW_64, "{:e} -> Infinite", x),
                // Zero (also -0.0) and anything that rounds to 0 ns never block.
                Timeout::Immediate => prop_assert!(x < 1e-9, "{:e} -> Immediate", x),
                Timeout::After(d) => {
                    prop_assert!(x < TWO_POW_64 && !d.is_zero(), "{:e} -> {:?}", x, d);
                    // Within half a nanosecond of rounding, plus the float's own precision.
                    let err = (d.as_secs_f64() - x).abs();
                    prop_assert!(
                        err <= 0.5e-9 + x * 4.0 * f64::EPSILON,
                        "{:e} -> {:?} (off by {:e} s)",
                        x,
                        d,
                        err
                    );
                }
            }
            Ok(())
        });
    }

    fn durations() -> impl Strategy<Value = Duration> {
        prop_oneof![
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
            (0u64..100_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
            (0u64..4).prop_map(Duration::from_nanos),
            (u64::MAX / 2 - 1_000_000..=u64::MAX).prop_map(|s| Duration::new(s, 999_999_999)),
            prop::sample::select(vec![
                Duration::ZERO,
                Duration::MAX,
                Duration::from_secs(i64::MAX as u64 / 2),
                Duration::from_secs(i64::MAX as u64),
            ]),
        ]
    }

    #[test]
    fn durations_convert_and_give_deadlines_without_overflow() {
        run("timeout::duration_and_deadline", 3000, durations(), |d| {
            let t = Timeout::from(d);
            prop_assert_eq!(t, Timeout::from(Some(d)));
            prop_assert_eq!(Timeout::from(None), Timeout::Infinite);
            if d.is_zero() {
                prop_assert_eq!(t, Timeout::Immediate);
            } else {
                prop_assert_eq!(t, Timeout::After(d));
            }
            // The float spelling of the same wait gives the same kind of timeout, within
            // the float's precision.
            match (Timeout::from_secs_f64(d.as_secs_f64()), t) {
                (Ok(Timeout::After(a)), Timeout::After(b)) => {
                    let diff = a.abs_diff(b);
                    prop_assert!(
                        diff.as_secs_f64() <= 1e-9 + d.as_secs_f64() * 4.0 * f64::EPSILON,
                        "{:?} vs {:?}",
                        a,
                        b
                    );
                }
                (Ok(Timeout::Immediate), Timeout::Immediate) => {}
                // Near Duration::MAX the float rounds up to 2^64 s: "forever".
                (Ok(Timeout::Infinite), Timeout::After(b)) => {
                    prop_assert!(b.as_secs() > u64::MAX / 2, "{:?} -> Infinite", b)
                }
                (other, t) => {
                    return Err(TestCaseError::fail(format!(
                        "{d:?}: float {other:?}, Duration {t:?}"
                    )))
                }
            }
            let before = sys::monotonic_now();
            let deadline = t.deadline();
            let after = sys::monotonic_now();
            match deadline {
                Deadline::Now => prop_assert!(d.is_zero(), "{:?} -> Now", d),
                Deadline::Never => {
                    // Only when the deadline cannot be a timespec (about 146 years and up
                    // from boot with the i64::MAX / 2 margin).
                    let at = before.checked_add(d);
                    prop_assert!(
                        at.is_none_or(|at| at.as_secs() >= i64::MAX as u64 / 2 - 1),
                        "{:?} -> Never",
                        d
                    );
                    prop_assert_eq!(deadline.remaining(), Some(Duration::MAX));
                }
                Deadline::At(at) => {
                    prop_assert!(!d.is_zero());
                    prop_assert!(before + d <= at && at <= after + d, "{:?} -> {:?}", d, at);
                    prop_assert!(at.as_secs() < i64::MAX as u64 / 2);
                    let left = deadline.remaining();
                    prop_assert!(left.is_none_or(|left| left <= d), "{:?} left {:?}", d, left);
                }
            }
            Ok(())
        });
    }
}
