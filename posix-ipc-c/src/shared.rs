//! Shared structs from C (`pipc_shared`): one record in shared memory under a seqlock, the
//! segment of Rust's `Shared<T>` of a type with that size and fingerprint.

use std::ffi::{c_char, c_void};
use std::sync::RwLock;

use posix_ipc_core::RecordShared;

use crate::cancel::{self, pipc_cancel};
use crate::handle_struct;
use crate::handles::Handle;
use crate::handles::{Held, Kind, Table};
use crate::ring::replace_with;
use crate::status::{buf_arg, bytes_arg, call, out_arg, str_arg, timeout, Fail};
use crate::types::{pipc_record_type, record_type};

handle_struct!(pipc_shared);

/// The shared structs.
pub static SHARED: Table<RwLock<Held<RecordShared>>> = Table::new(Kind::Shared);

/// Opens (`how` 0, waiting up to one second for its creator), creates (1, exclusive) or
/// creates or takes over (2, owned: closing removes it) the shared struct `name` of `type`,
/// made with the value `initial` (`type->size` bytes; NULL: zeros).
///
/// # Safety
///
/// `out` is NULL or writable, `name` NULL or a C string, `type` NULL or valid, `initial`
/// NULL or `type->size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pipc_shared_open(
    out: *mut pipc_shared,
    name: *const c_char,
    r#type: *const pipc_record_type,
    how: u32,
    initial: *const c_void,
) -> i32 {
    call("pipc_shared_open", || {
        // SAFETY: as the function's contract.
        let (out, name, (record, _)) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                record_type(r#type, "type")?,
            )
        };
        let zeros;
        let initial = if initial.is_null() {
            zeros = vec![0u8; record.size];
            &zeros[..]
        } else {
            // SAFETY: `record.size` readable bytes (the caller's contract).
            unsafe { bytes_arg(initial.cast(), record.size, "initial") }?
        };
        let shared = match how {
            0 => Held::Plain(RecordShared::open(name, &record)?),
            1 => Held::Plain(RecordShared::create(name, &record, initial)?),
            2 => Held::Owned(RecordShared::create_or_take_over(name, &record, initial)?),
            h => {
                return Err(Fail::invalid(format!(
                    "how is {h}: 0 (open), 1 (create) or 2 (create or take over)"
                )))
            }
        };
        out.write(Handle::from_id(SHARED.add(shared)?));
        Ok(())
    })
}

/// Copies a consistent value into `buf` (`len` = the record's size) and its version (the
/// number of stores) into `*version` (NULL: not wanted).
///
/// # Safety
///
/// `buf` points to `len` writable bytes; `version` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_shared_load(
    shared: pipc_shared,
    buf: *mut c_void,
    len: usize,
    version: *mut u64,
) -> i32 {
    call("pipc_shared_load", || {
        // SAFETY: as the function's contract.
        let out = unsafe { buf_arg(buf.cast(), len, "buf") }?;
        let v = SHARED.with(shared.id, |s| Ok(s.get().load_into(out)?))?;
        // SAFETY: NULL or writable (the caller's contract).
        if let Some(x) = unsafe { version.as_mut() } {
            *x = v;
        }
        Ok(())
    })
}

/// Stores a value (`len` = the record's size) and wakes the waiters of `pipc_shared_wait_change`.
///
/// # Safety
///
/// `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pipc_shared_store(
    shared: pipc_shared,
    data: *const c_void,
    len: usize,
) -> i32 {
    call("pipc_shared_store", || {
        // SAFETY: as the function's contract.
        let bytes = unsafe { bytes_arg(data.cast(), len, "data") }?;
        SHARED.with(shared.id, |s| Ok(s.get().store(bytes)?))
    })
}

/// The current version (the number of stores so far).
///
/// # Safety
///
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_shared_version(shared: pipc_shared, out: *mut u64) -> i32 {
    call("pipc_shared_version", || {
        // SAFETY: NULL or writable (the caller's contract).
        let out = unsafe { out_arg(out, "out") }?;
        out.write(SHARED.with(shared.id, |s| Ok(s.get().version()))?);
        Ok(())
    })
}

/// Waits until the version differs from `since`, as `timeout_ns` says, then copies the value
/// into `buf` (`len` = the record's size) and its version into `*version`.
///
/// # Safety
///
/// As `pipc_shared_load`.
#[no_mangle]
pub unsafe extern "C" fn pipc_shared_wait_change(
    shared: pipc_shared,
    since: u64,
    buf: *mut c_void,
    len: usize,
    version: *mut u64,
    timeout_ns: i64,
) -> i32 {
    call("pipc_shared_wait_change", || {
        // SAFETY: as the function's contract.
        let out = unsafe { buf_arg(buf.cast(), len, "buf") }?;
        let (value, v) = SHARED.with(shared.id, |held| {
            let size = held.get().record().size;
            if len != size {
                return Err(Fail::invalid(format!(
                    "cannot wait on shared struct {}: a record is {size} bytes, not {len}",
                    held.get().name()
                )));
            }
            Ok(held.get().wait_change(since, timeout(timeout_ns))?)
        })?;
        out.copy_from_slice(&value);
        // SAFETY: NULL or writable (the caller's contract).
        if let Some(x) = unsafe { version.as_mut() } {
            *x = v;
        }
        Ok(())
    })
}

/// Gives the handle a cancel token (`{0}`: none) that stops its waits.
#[no_mangle]
pub extern "C" fn pipc_shared_set_cancel(shared: pipc_shared, token: pipc_cancel) -> i32 {
    call("pipc_shared_set_cancel", || {
        let token = cancel::token(token)?;
        SHARED.with_mut(shared.id, |held| {
            replace_with(held, |h| match &token {
                Some(t) => h.map(|s| s.with_cancel(t)),
                None => h,
            });
            Ok(())
        })
    })
}

/// Closes the handle (one made by a create or take over removes the segment).
#[no_mangle]
pub extern "C" fn pipc_shared_close(shared: pipc_shared) -> i32 {
    call("pipc_shared_close", || SHARED.remove(shared.id))
}
