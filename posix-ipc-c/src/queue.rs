//! Typed queues from C (`pipc_queue`): POSIX message queues whose message is one record, with
//! the companion segment of Rust's `Sender<T>` / `Receiver<T>`: the record type is checked
//! against the queue's, the peers are tracked (a receiver waiting on an empty queue whose
//! senders have all gone gets `PIPC_DISCONNECTED`, even after a `kill -9`), and the layout is
//! stored for tools.

use std::ffi::{c_char, c_void};
use std::sync::RwLock;

use posix_ipc_core::{QueueSide, RecordQueue};

use crate::cancel::{self, pipc_cancel};
use crate::handle_struct;
use crate::handles::Handle;
use crate::handles::{Held, Kind, Table};
use crate::ring::replace_with;
use crate::status::{buf_arg, bytes_arg, call, out_arg, str_arg, timeout, Fail};
use crate::types::{pipc_record_type, record_type};

handle_struct!(pipc_queue);

/// `side`: sends only, counted as a sender.
pub const PIPC_QUEUE_SENDER: u32 = 0;
/// `side`: receives only, counted as a receiver.
pub const PIPC_QUEUE_RECEIVER: u32 = 1;
/// `side`: both, counted as neither (the creator that removes the queue at the end).
pub const PIPC_QUEUE_NEITHER: u32 = 2;

/// The typed queues.
pub static TYPED_QUEUES: Table<RwLock<Held<RecordQueue>>> = Table::new(Kind::Queue);

/// Opens (`how` `PIPC_OPEN`), creates (`PIPC_CREATE`, exclusive) or creates or takes over
/// (`PIPC_CREATE_OR_TAKE_OVER`, owned: closing removes it) the typed queue `name` of records
/// of `type`, as `side`; `max_messages` matters when creating.
///
/// # Safety
///
/// `out` is NULL or writable, `name` NULL or a C string, `type` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pipc_queue_open(
    out: *mut pipc_queue,
    name: *const c_char,
    r#type: *const pipc_record_type,
    how: u32,
    max_messages: usize,
    side: u32,
) -> i32 {
    call("pipc_queue_open", || {
        // SAFETY: as the function's contract.
        let (out, name, (record, layout)) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                record_type(r#type, "type")?,
            )
        };
        let side = match side {
            PIPC_QUEUE_SENDER => QueueSide::Sender,
            PIPC_QUEUE_RECEIVER => QueueSide::Receiver,
            PIPC_QUEUE_NEITHER => QueueSide::Neither,
            s => {
                return Err(Fail::invalid(format!(
                    "side is {s}: PIPC_QUEUE_SENDER (0), PIPC_QUEUE_RECEIVER (1) or \
                     PIPC_QUEUE_NEITHER (2)"
                )))
            }
        };
        let q = match how {
            0 => Held::Plain(RecordQueue::open(name, &record, side)?),
            1 => Held::Plain(RecordQueue::create(
                name,
                &record,
                layout.as_ref(),
                max_messages,
                side,
            )?),
            2 => Held::Owned(RecordQueue::create_or_take_over(
                name,
                &record,
                layout.as_ref(),
                max_messages,
                side,
            )?),
            h => {
                return Err(Fail::invalid(format!(
                    "how is {h}: 0 (open), 1 (create) or 2 (create or take over)"
                )))
            }
        };
        out.write(Handle::from_id(TYPED_QUEUES.add(q)?));
        Ok(())
    })
}

/// Sends one record (`len` = the record's size) with `priority`, waiting as `timeout_ns` says
/// while the queue is full; `PIPC_DISCONNECTED` if it stays full and every receiver has gone.
///
/// # Safety
///
/// `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pipc_queue_send(
    queue: pipc_queue,
    data: *const c_void,
    len: usize,
    priority: u32,
    timeout_ns: i64,
) -> i32 {
    call("pipc_queue_send", || {
        // SAFETY: as the function's contract.
        let bytes = unsafe { bytes_arg(data.cast(), len, "data") }?;
        TYPED_QUEUES.with(queue.id, |q| {
            Ok(q.get().send_with(bytes, priority, timeout(timeout_ns))?)
        })
    })
}

/// Receives one record into `buf` (`len` = the record's size) and its priority into
/// `*priority` (NULL: not wanted), waiting as `timeout_ns` says; `PIPC_DISCONNECTED` once the
/// queue is empty and every sender has gone; `PIPC_WRONG_LENGTH` for a message of another
/// length from a foreign sender.
///
/// # Safety
///
/// `buf` points to `len` writable bytes; `priority` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_queue_recv(
    queue: pipc_queue,
    buf: *mut c_void,
    len: usize,
    priority: *mut u32,
    timeout_ns: i64,
) -> i32 {
    call("pipc_queue_recv", || {
        // SAFETY: as the function's contract.
        let out = unsafe { buf_arg(buf.cast(), len, "buf") }?;
        let p = TYPED_QUEUES.with(queue.id, |q| {
            Ok(q.get().recv_into(out, timeout(timeout_ns))?)
        })?;
        // SAFETY: NULL or writable (the caller's contract).
        if let Some(x) = unsafe { priority.as_mut() } {
            *x = p;
        }
        Ok(())
    })
}

/// Gives the queue a cancel token (`{0}`: none) that stops its waits.
#[no_mangle]
pub extern "C" fn pipc_queue_set_cancel(queue: pipc_queue, token: pipc_cancel) -> i32 {
    call("pipc_queue_set_cancel", || {
        let token = cancel::token(token)?;
        TYPED_QUEUES.with_mut(queue.id, |q| {
            if let Some(t) = token {
                replace_with(q, |h| h.map(|q| q.with_cancel(&t)));
            }
            Ok(())
        })
    })
}

/// Removes the queue's name and its companion's (connected handles keep working).
#[no_mangle]
pub extern "C" fn pipc_queue_unlink(queue: pipc_queue) -> i32 {
    call("pipc_queue_unlink", || {
        TYPED_QUEUES.with(queue.id, |q| Ok(q.get().unlink()?))
    })
}

/// Closes the handle (one made by a create or take over removes the queue).
#[no_mangle]
pub extern "C" fn pipc_queue_close(queue: pipc_queue) -> i32 {
    call("pipc_queue_close", || TYPED_QUEUES.remove(queue.id))
}
