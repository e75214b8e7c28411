//! Rings of records from C: `pipc_ring_sender` / `pipc_ring_receiver`, the same segments as
//! Rust's `RingSender<T>` / `RingReceiver<T>` of a type with that size and fingerprint. A
//! ring end is one thread's at a time (calls on one handle are serialised): open one handle
//! per thread.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use posix_ipc_core::{RecordReceiver, RecordSender, RingMode};

use crate::cancel::{self, pipc_cancel};
use crate::handle_struct;
use crate::handles::Handle;
use crate::handles::{Held, Kind, Table};
use crate::status::{buf_arg, bytes_arg, call, out_arg, str_arg, timeout, Fail, Res};
use crate::types::{pipc_record_type, record_type};

handle_struct!(pipc_ring_sender);
handle_struct!(pipc_ring_receiver);

/// `mode`: one sender, one receiver.
pub const PIPC_SPSC: u32 = 0;
/// `mode`: any number of each.
pub const PIPC_MPMC: u32 = 1;

/// The senders.
pub static SENDERS: Table<Mutex<Held<RecordSender>>> = Table::new(Kind::RingSender);
/// The receivers.
pub static RECEIVERS: Table<Mutex<Held<RecordReceiver>>> = Table::new(Kind::RingReceiver);

fn mode(m: u32) -> Res<RingMode> {
    match m {
        PIPC_SPSC => Ok(RingMode::Spsc),
        PIPC_MPMC => Ok(RingMode::Mpmc),
        m => Err(Fail::invalid(format!(
            "ring mode {m} is neither PIPC_SPSC (0) nor PIPC_MPMC (1)"
        ))),
    }
}

/// `how`: 0 open, 1 create (exclusive), 2 create or take over (owned: closing removes it).
const OPEN: u32 = 0;
const CREATE: u32 = 1;
const CREATE_OR_TAKE_OVER: u32 = 2;

macro_rules! ring_end {
    ($open:ident, $send_or_recv:ident, $close:ident, $cancel:ident, $handle:ident, $table:ident, $ty:ident, $what:literal) => {
        /// Opens (`how` 0), creates (1, exclusive) or creates or takes over (2, owned:
        /// closing removes it) the ring `name` of records of `type`; `capacity` (a power of
        /// two) and `mode` (`PIPC_SPSC` or `PIPC_MPMC`) matter when creating.
        ///
        /// # Safety
        ///
        /// `out` is NULL or writable, `name` NULL or a C string, `type` NULL or valid.
        #[no_mangle]
        pub unsafe extern "C" fn $open(
            out: *mut $handle,
            name: *const c_char,
            r#type: *const pipc_record_type,
            how: u32,
            capacity: usize,
            mode_: u32,
        ) -> i32 {
            call(stringify!($open), || {
                // SAFETY: as the function's contract.
                let (out, name, (record, _)) = unsafe {
                    (
                        out_arg(out, "out")?,
                        str_arg(name, "name")?,
                        record_type(r#type, "type")?,
                    )
                };
                let end = match how {
                    OPEN => Held::Plain($ty::open(name, &record)?),
                    CREATE => Held::Plain($ty::create(name, capacity, mode(mode_)?, &record)?),
                    CREATE_OR_TAKE_OVER => Held::Owned($ty::create_or_take_over(
                        name,
                        capacity,
                        mode(mode_)?,
                        &record,
                    )?),
                    h => {
                        return Err(Fail::invalid(format!(
                            "how is {h}: 0 (open), 1 (create) or 2 (create or take over)"
                        )))
                    }
                };
                out.write(Handle::from_id($table.add(end)?));
                Ok(())
            })
        }

        /// Gives the handle a cancel token (`{0}`: none) that stops its waits.
        #[no_mangle]
        pub extern "C" fn $cancel(end: $handle, token: pipc_cancel) -> i32 {
            call(stringify!($cancel), || {
                let token = cancel::token(token)?;
                $table.with(end.id, |held| {
                    replace_with(held, |h| match &token {
                        Some(t) => h.map(|e| e.with_cancel(t)),
                        None => h,
                    });
                    Ok(())
                })
            })
        }

        /// Closes the handle (one made by a create or take over removes the ring).
        #[no_mangle]
        pub extern "C" fn $close(end: $handle) -> i32 {
            call(stringify!($close), || $table.remove(end.id))
        }
    };
}

/// Replaces `*slot` with `f(*slot)`, for builders that take the object by value.
pub fn replace_with<T>(slot: &mut T, f: impl FnOnce(T) -> T) {
    // SAFETY: the value is read out and a value written back before `slot` is used again;
    // `f` cannot unwind between the two, as the caller's closures are `with_cancel` calls
    // (a clone of an `Arc` and a field store) — and if one did, `abort` below ends the
    // process rather than let the moved-out value be dropped twice.
    unsafe {
        let old = std::ptr::read(slot);
        let new = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(old)))
            .unwrap_or_else(|_| std::process::abort());
        std::ptr::write(slot, new);
    }
}

ring_end!(
    pipc_ring_sender_open,
    send,
    pipc_ring_sender_close,
    pipc_ring_sender_set_cancel,
    pipc_ring_sender,
    SENDERS,
    RecordSender,
    "sender"
);
ring_end!(
    pipc_ring_receiver_open,
    recv,
    pipc_ring_receiver_close,
    pipc_ring_receiver_set_cancel,
    pipc_ring_receiver,
    RECEIVERS,
    RecordReceiver,
    "receiver"
);

/// Sends one record (`len` must be the record's size), waiting as `timeout_ns` says while the
/// ring is full; `PIPC_DISCONNECTED` if it is full and every receiver has gone.
///
/// # Safety
///
/// `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pipc_ring_send(
    sender: pipc_ring_sender,
    data: *const c_void,
    len: usize,
    timeout_ns: i64,
) -> i32 {
    call("pipc_ring_send", || {
        // SAFETY: as the function's contract.
        let bytes = unsafe { bytes_arg(data.cast(), len, "data") }?;
        SENDERS.with(sender.id, |s| {
            s.get().send_with(bytes, timeout(timeout_ns))?;
            Ok(())
        })
    })
}

/// Receives one record into `buf` (`len` must be the record's size), waiting as
/// `timeout_ns` says; `PIPC_DISCONNECTED` if the ring is empty and every sender has gone.
///
/// # Safety
///
/// `buf` points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pipc_ring_recv(
    receiver: pipc_ring_receiver,
    buf: *mut c_void,
    len: usize,
    timeout_ns: i64,
) -> i32 {
    call("pipc_ring_recv", || {
        // SAFETY: as the function's contract.
        let out = unsafe { buf_arg(buf.cast(), len, "buf") }?;
        RECEIVERS.with(receiver.id, |r| {
            r.get().recv_into(out, timeout(timeout_ns))?;
            Ok(())
        })
    })
}
