//! Status codes, the calling thread's last error, and [`call`], which every exported function
//! goes through.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use posix_ipc_core::{Error, ErrorKind, Timeout};

/// Success.
pub const PIPC_OK: i32 = 0;
/// `ErrorKind::NotFound`.
pub const PIPC_NOT_FOUND: i32 = 1;
/// `ErrorKind::AlreadyExists`.
pub const PIPC_ALREADY_EXISTS: i32 = 2;
/// `ErrorKind::Closed`.
pub const PIPC_CLOSED: i32 = 3;
/// `ErrorKind::PermissionDenied`.
pub const PIPC_PERMISSION_DENIED: i32 = 4;
/// `ErrorKind::WouldBlock`: a call with a zero timeout would have waited.
pub const PIPC_WOULD_BLOCK: i32 = 5;
/// `ErrorKind::TimedOut`.
pub const PIPC_TIMED_OUT: i32 = 6;
/// `ErrorKind::NotificationBusy`.
pub const PIPC_NOTIFICATION_BUSY: i32 = 7;
/// `ErrorKind::Interrupted`.
pub const PIPC_INTERRUPTED: i32 = 8;
/// `ErrorKind::Cancelled`: the call's cancel token fired (or a watched signal arrived).
pub const PIPC_CANCELLED: i32 = 9;
/// `ErrorKind::InvalidName`.
pub const PIPC_INVALID_NAME: i32 = 10;
/// `ErrorKind::InvalidArgument` (also: a NULL pointer, a length beyond a loan, a released
/// sample or loan used again).
pub const PIPC_INVALID_ARGUMENT: i32 = 11;
/// `ErrorKind::LimitExceeded`.
pub const PIPC_LIMIT_EXCEEDED: i32 = 12;
/// `ErrorKind::MessageTooLarge`.
pub const PIPC_MESSAGE_TOO_LARGE: i32 = 13;
/// `ErrorKind::Overflow`.
pub const PIPC_OVERFLOW: i32 = 14;
/// `ErrorKind::NoSpace`.
pub const PIPC_NO_SPACE: i32 = 15;
/// `ErrorKind::OutOfMemory`.
pub const PIPC_OUT_OF_MEMORY: i32 = 16;
/// `ErrorKind::Mismatch`: an existing object of another type or geometry.
pub const PIPC_MISMATCH: i32 = 17;
/// `ErrorKind::WrongLength`.
pub const PIPC_WRONG_LENGTH: i32 = 18;
/// `ErrorKind::NotInitialized`.
pub const PIPC_NOT_INITIALIZED: i32 = 19;
/// `ErrorKind::Disconnected`: the peers are gone and nothing more can arrive.
pub const PIPC_DISCONNECTED: i32 = 20;
/// `ErrorKind::Lagged`: `pipc_last_error_count()` samples were lost; the next receive goes on.
pub const PIPC_LAGGED: i32 = 21;
/// `ErrorKind::Restarted`: a new publisher took the topic over; `pipc_last_error_count()` is
/// its generation.
pub const PIPC_RESTARTED: i32 = 22;
/// `ErrorKind::Unsupported`.
pub const PIPC_UNSUPPORTED: i32 = 23;
/// `ErrorKind::Deadlock`.
pub const PIPC_DEADLOCK: i32 = 24;
/// `ErrorKind::NotRecoverable`.
pub const PIPC_NOT_RECOVERABLE: i32 = 25;
/// `ErrorKind::Untrusted`.
pub const PIPC_UNTRUSTED: i32 = 26;
/// Any other operating-system error (`pipc_last_error_errno()` has the errno).
pub const PIPC_OTHER: i32 = 27;
/// A handle that is zero, closed, or of another kind of object.
pub const PIPC_BAD_HANDLE: i32 = 28;
/// A bug in the library (a caught panic); the message says where.
pub const PIPC_INTERNAL: i32 = 29;

/// The code of an error kind.
pub fn code_of(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::NotFound => PIPC_NOT_FOUND,
        ErrorKind::AlreadyExists => PIPC_ALREADY_EXISTS,
        ErrorKind::Closed => PIPC_CLOSED,
        ErrorKind::PermissionDenied => PIPC_PERMISSION_DENIED,
        ErrorKind::WouldBlock => PIPC_WOULD_BLOCK,
        ErrorKind::TimedOut => PIPC_TIMED_OUT,
        ErrorKind::NotificationBusy => PIPC_NOTIFICATION_BUSY,
        ErrorKind::Interrupted => PIPC_INTERRUPTED,
        ErrorKind::Cancelled => PIPC_CANCELLED,
        ErrorKind::InvalidName => PIPC_INVALID_NAME,
        ErrorKind::InvalidArgument => PIPC_INVALID_ARGUMENT,
        ErrorKind::LimitExceeded => PIPC_LIMIT_EXCEEDED,
        ErrorKind::MessageTooLarge => PIPC_MESSAGE_TOO_LARGE,
        ErrorKind::Overflow => PIPC_OVERFLOW,
        ErrorKind::NoSpace => PIPC_NO_SPACE,
        ErrorKind::OutOfMemory => PIPC_OUT_OF_MEMORY,
        ErrorKind::Mismatch => PIPC_MISMATCH,
        ErrorKind::WrongLength => PIPC_WRONG_LENGTH,
        ErrorKind::NotInitialized => PIPC_NOT_INITIALIZED,
        ErrorKind::Disconnected => PIPC_DISCONNECTED,
        ErrorKind::Lagged => PIPC_LAGGED,
        ErrorKind::Restarted => PIPC_RESTARTED,
        ErrorKind::Unsupported => PIPC_UNSUPPORTED,
        ErrorKind::Deadlock => PIPC_DEADLOCK,
        ErrorKind::NotRecoverable => PIPC_NOT_RECOVERABLE,
        ErrorKind::Untrusted => PIPC_UNTRUSTED,
        _ => PIPC_OTHER,
    }
}

/// A failed call: what `pipc_last_error_*` report.
#[derive(Debug)]
pub struct Fail {
    /// The status code.
    pub code: i32,
    /// The message (naming the object, the operation and the limit).
    pub message: String,
    /// For `PIPC_LAGGED` the samples lost, for `PIPC_RESTARTED` the new generation, else 0.
    pub count: u64,
    /// The system's errno, or 0.
    pub errno: i32,
}

impl Fail {
    /// A failure of the library's own checks (bad arguments, handles, loans).
    pub fn new(code: i32, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
            count: 0,
            errno: 0,
        }
    }

    /// `PIPC_INVALID_ARGUMENT` with this message.
    pub fn invalid(message: impl Into<String>) -> Fail {
        Fail::new(PIPC_INVALID_ARGUMENT, message)
    }
}

/// The Rust calls the core's messages suggest ("open it with ..."), and the C calls that do the
/// same: a C programmer reads the names of the API in hand. Longer names first, so that a name
/// that starts another is not replaced inside it.
const C_NAMES: &[(&str, &str)] = &[
    (
        "RecordPublisher::create_or_take_over_frames",
        "pipc_frame_publisher_create_or_take_over",
    ),
    (
        "RecordPublisher::create_or_take_over",
        "pipc_publisher_create_or_take_over",
    ),
    (
        "RecordPublisher::create_frames",
        "pipc_frame_publisher_create",
    ),
    ("RecordPublisher::open_frames", "pipc_frame_publisher_open"),
    (
        "RecordSubscriber::open_frames",
        "pipc_frame_subscriber_open",
    ),
    ("RecordSubscriber::open", "pipc_subscriber_open"),
    ("RecordPublisher::create", "pipc_publisher_create"),
    ("RecordPublisher::open", "pipc_publisher_open"),
    (
        "RecordSender::create_or_take_over",
        "pipc_ring_sender_open (PIPC_CREATE_OR_TAKE_OVER)",
    ),
    (
        "RecordReceiver::create_or_take_over",
        "pipc_ring_receiver_open (PIPC_CREATE_OR_TAKE_OVER)",
    ),
    ("RecordSender::open", "pipc_ring_sender_open (PIPC_OPEN)"),
    (
        "RecordReceiver::open",
        "pipc_ring_receiver_open (PIPC_OPEN)",
    ),
    (
        "RecordShared::create_or_take_over",
        "pipc_shared_open (PIPC_CREATE_OR_TAKE_OVER)",
    ),
    ("RecordShared::open", "pipc_shared_open (PIPC_OPEN)"),
];

/// A core message with the Rust calls it names put as their C counterparts.
fn in_c_terms(message: String) -> String {
    if !message.contains("::") {
        return message;
    }
    C_NAMES
        .iter()
        .fold(message, |m, (rust, c)| m.replace(rust, c))
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail {
            code: code_of(e.kind()),
            message: in_c_terms(e.to_string()),
            count: e.missed().or(e.generation()).unwrap_or(0),
            errno: e.errno().unwrap_or(0),
        }
    }
}

/// What an exported function's body returns.
pub type Res<T = ()> = std::result::Result<T, Fail>;

struct Last {
    code: i32,
    message: CString,
    count: u64,
    errno: i32,
}

thread_local! {
    static LAST: RefCell<Last> = RefCell::new(Last {
        code: PIPC_OK,
        message: CString::default(),
        count: 0,
        errno: 0,
    });
}

#[cold]
fn remember(fail: Fail) -> i32 {
    let code = fail.code;
    let message = CString::new(fail.message.replace('\0', "\\0")).unwrap_or_default();
    LAST.with(|l| {
        *l.borrow_mut() = Last {
            code,
            message,
            count: fail.count,
            errno: fail.errno,
        }
    });
    code
}

/// Runs an exported function's body: its status, the failure remembered for the thread, a
/// panic caught and reported as `PIPC_INTERNAL`.
#[inline]
pub fn call(what: &str, body: impl FnOnce() -> Res) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => PIPC_OK,
        Ok(Err(fail)) => remember(fail),
        Err(panic) => panicked(what, panic),
    }
}

#[cold]
fn panicked(what: &str, panic: Box<dyn std::any::Any + Send>) -> i32 {
    let why = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    remember(Fail::new(
        PIPC_INTERNAL,
        format!("internal error in {what} (please report it): {why}"),
    ))
}

/// A C string argument as UTF-8, or why not.
///
/// # Safety
///
/// `s`, if not NULL, points to a NUL-terminated string that stays valid for `'a`.
pub unsafe fn str_arg<'a>(s: *const c_char, what: &str) -> Res<&'a str> {
    if s.is_null() {
        return Err(Fail::invalid(format!("{what} is NULL")));
    }
    // SAFETY: not NULL (checked) and NUL-terminated, valid for 'a (the caller's contract).
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map_err(|_| Fail::invalid(format!("{what} is not UTF-8")))
}

/// An out-pointer argument, or `PIPC_INVALID_ARGUMENT` if NULL: written, never read (C may
/// pass uninitialised memory).
///
/// # Safety
///
/// `p`, if not NULL, points to writable, aligned memory for a `T` that stays valid for `'a`
/// and that nothing else accesses meanwhile.
#[inline]
pub unsafe fn out_arg<'a, T>(p: *mut T, what: &str) -> Res<&'a mut std::mem::MaybeUninit<T>> {
    // SAFETY: the caller's contract; `as_mut` returns None for NULL. `MaybeUninit<T>` has
    // `T`'s layout and makes no claim that the memory is initialised.
    unsafe { p.cast::<std::mem::MaybeUninit<T>>().as_mut() }
        .ok_or_else(|| Fail::invalid(format!("{what} is NULL")))
}

/// An in-out argument (a loan or sample the library filled in), or `PIPC_INVALID_ARGUMENT`
/// if NULL.
///
/// # Safety
///
/// `p`, if not NULL, points to an initialised `T` (the library's contract with the caller:
/// filled by the library, or zero-initialised) that stays valid for `'a` and that nothing
/// else accesses meanwhile.
#[inline]
pub unsafe fn inout_arg<'a, T>(p: *mut T, what: &str) -> Res<&'a mut T> {
    // SAFETY: the caller's contract; `as_mut` returns None for NULL.
    unsafe { p.as_mut() }.ok_or_else(|| Fail::invalid(format!("{what} is NULL")))
}

/// Bytes given from C: `len` bytes at `p` (NULL allowed only for zero bytes).
///
/// # Safety
///
/// `p`, if not NULL, points to `len` readable bytes valid for `'a` that are not written
/// meanwhile.
pub unsafe fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> Res<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fail::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    // SAFETY: not NULL, `len` readable bytes valid for 'a (the caller's contract).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A writable buffer given from C: `len` bytes at `p`.
///
/// # Safety
///
/// `p`, if not NULL, points to `len` writable bytes valid for `'a` that nothing else accesses
/// meanwhile.
pub unsafe fn buf_arg<'a>(p: *mut u8, len: usize, what: &str) -> Res<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(Fail::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    // SAFETY: not NULL, `len` writable bytes valid for 'a, not aliased (the caller's
    // contract).
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// A timeout in nanoseconds: negative waits forever (`PIPC_FOREVER`), 0 never waits.
#[inline]
pub fn timeout(ns: i64) -> Timeout {
    match ns {
        n if n < 0 => Timeout::Infinite,
        0 => Timeout::Immediate,
        n => Timeout::from(std::time::Duration::from_nanos(n as u64)),
    }
}

/// The status of the calling thread's last failed call (`PIPC_OK` if none failed yet).
#[no_mangle]
pub extern "C" fn pipc_last_error_code() -> i32 {
    LAST.with(|l| l.borrow().code)
}

/// The message of the calling thread's last failed call: naming the object, the operation and
/// the limit. Valid until the thread's next failing call; never NULL.
#[no_mangle]
pub extern "C" fn pipc_last_error_message() -> *const c_char {
    LAST.with(|l| l.borrow().message.as_ptr())
}

/// For the last `PIPC_LAGGED`: the samples lost; for `PIPC_RESTARTED`: the new publisher's
/// generation; else 0.
#[no_mangle]
pub extern "C" fn pipc_last_error_count() -> u64 {
    LAST.with(|l| l.borrow().count)
}

/// The system errno of the last failed call, or 0.
#[no_mangle]
pub extern "C" fn pipc_last_error_errno() -> i32 {
    LAST.with(|l| l.borrow().errno)
}

/// The name of a status code (`"PIPC_LAGGED"`), or `"PIPC_UNKNOWN"`; a static string.
#[no_mangle]
pub extern "C" fn pipc_status_name(code: i32) -> *const c_char {
    let name: &'static CStr = match code {
        PIPC_OK => c"PIPC_OK",
        PIPC_NOT_FOUND => c"PIPC_NOT_FOUND",
        PIPC_ALREADY_EXISTS => c"PIPC_ALREADY_EXISTS",
        PIPC_CLOSED => c"PIPC_CLOSED",
        PIPC_PERMISSION_DENIED => c"PIPC_PERMISSION_DENIED",
        PIPC_WOULD_BLOCK => c"PIPC_WOULD_BLOCK",
        PIPC_TIMED_OUT => c"PIPC_TIMED_OUT",
        PIPC_NOTIFICATION_BUSY => c"PIPC_NOTIFICATION_BUSY",
        PIPC_INTERRUPTED => c"PIPC_INTERRUPTED",
        PIPC_CANCELLED => c"PIPC_CANCELLED",
        PIPC_INVALID_NAME => c"PIPC_INVALID_NAME",
        PIPC_INVALID_ARGUMENT => c"PIPC_INVALID_ARGUMENT",
        PIPC_LIMIT_EXCEEDED => c"PIPC_LIMIT_EXCEEDED",
        PIPC_MESSAGE_TOO_LARGE => c"PIPC_MESSAGE_TOO_LARGE",
        PIPC_OVERFLOW => c"PIPC_OVERFLOW",
        PIPC_NO_SPACE => c"PIPC_NO_SPACE",
        PIPC_OUT_OF_MEMORY => c"PIPC_OUT_OF_MEMORY",
        PIPC_MISMATCH => c"PIPC_MISMATCH",
        PIPC_WRONG_LENGTH => c"PIPC_WRONG_LENGTH",
        PIPC_NOT_INITIALIZED => c"PIPC_NOT_INITIALIZED",
        PIPC_DISCONNECTED => c"PIPC_DISCONNECTED",
        PIPC_LAGGED => c"PIPC_LAGGED",
        PIPC_RESTARTED => c"PIPC_RESTARTED",
        PIPC_UNSUPPORTED => c"PIPC_UNSUPPORTED",
        PIPC_DEADLOCK => c"PIPC_DEADLOCK",
        PIPC_NOT_RECOVERABLE => c"PIPC_NOT_RECOVERABLE",
        PIPC_UNTRUSTED => c"PIPC_UNTRUSTED",
        PIPC_OTHER => c"PIPC_OTHER",
        PIPC_BAD_HANDLE => c"PIPC_BAD_HANDLE",
        PIPC_INTERNAL => c"PIPC_INTERNAL",
        _ => c"PIPC_UNKNOWN",
    };
    name.as_ptr()
}

/// The library's version, `"0.1.0"`; a static string.
#[no_mangle]
pub extern "C" fn pipc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
