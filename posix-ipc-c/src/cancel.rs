//! Cancel tokens (`pipc_cancel`): a blocking call whose handle has a token ends with
//! `PIPC_CANCELLED` as soon as another thread cancels it; `pipc_stop_on_signals` makes SIGINT
//! and SIGTERM stop every blocking call of the process.

use std::sync::Mutex;

use posix_ipc_core::CancelToken;

use crate::handle_struct;
use crate::handles::Handle;
use crate::handles::{Kind, Table};
use crate::status::{call, out_arg, Res};

handle_struct!(pipc_cancel);

/// The tokens.
pub static CANCELS: Table<Mutex<CancelToken>> = Table::new(Kind::Cancel);

/// The token of a handle, or none for id 0.
pub fn token(handle: pipc_cancel) -> Res<Option<CancelToken>> {
    if handle.id == 0 {
        return Ok(None);
    }
    CANCELS.with(handle.id, |t| Ok(Some(t.clone())))
}

/// A new token, not cancelled.
///
/// # Safety
///
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_cancel_new(out: *mut pipc_cancel) -> i32 {
    call("pipc_cancel_new", || {
        // SAFETY: NULL or writable (the caller's contract).
        let out = unsafe { out_arg(out, "out") }?;
        out.write(Handle::from_id(CANCELS.add(CancelToken::new())?));
        Ok(())
    })
}

/// Stops every call waiting with this token, and every later one, until reset. Not from a
/// signal handler (use `pipc_stop_on_signals`).
#[no_mangle]
pub extern "C" fn pipc_cancel_cancel(token: pipc_cancel) -> i32 {
    call("pipc_cancel_cancel", || {
        CANCELS.with(token.id, |t| {
            t.cancel();
            Ok(())
        })
    })
}

/// Makes the token usable again.
#[no_mangle]
pub extern "C" fn pipc_cancel_reset(token: pipc_cancel) -> i32 {
    call("pipc_cancel_reset", || {
        CANCELS.with(token.id, |t| {
            t.reset();
            Ok(())
        })
    })
}

/// Whether the token is cancelled: 1 or 0 (also 0 for a bad handle, with the error left).
#[no_mangle]
pub extern "C" fn pipc_cancel_is_cancelled(token: pipc_cancel) -> i32 {
    let mut cancelled = false;
    call("pipc_cancel_is_cancelled", || {
        CANCELS.with(token.id, |t| {
            cancelled = t.is_cancelled();
            Ok(())
        })
    });
    i32::from(cancelled)
}

/// Closes the handle (objects that were given the token keep it).
#[no_mangle]
pub extern "C" fn pipc_cancel_close(token: pipc_cancel) -> i32 {
    call("pipc_cancel_close", || CANCELS.remove(token.id))
}

/// Makes SIGINT (Ctrl-C) and SIGTERM stop every blocking call of the process with
/// `PIPC_CANCELLED`, and gives the process-wide token (to test, or to reset after a stop).
///
/// # Safety
///
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_stop_on_signals(out: *mut pipc_cancel) -> i32 {
    call("pipc_stop_on_signals", || {
        // SAFETY: NULL or writable (the caller's contract).
        let out = unsafe { out_arg(out, "out") }?;
        let token = posix_ipc_core::signals::stop_on_signals()?;
        out.write(Handle::from_id(CANCELS.add(token)?));
        Ok(())
    })
}
