//! The POSIX basics from C, with posix_ipc's semantics and the core's errors: semaphores
//! (`pipc_semaphore`), shared memory (`pipc_shm`, mapped by the library), message queues
//! (`pipc_mq`) and the robust mutex (`pipc_mutex`). `flags` are `PIPC_O_CREAT`,
//! `PIPC_O_EXCL` (and `PIPC_O_TRUNC` for shared memory), as posix_ipc's constructors take.

use std::ffi::{c_char, c_void};
use std::sync::RwLock;

use posix_ipc_core::{Mapping, MessageQueue, RobustMutex, Semaphore, SharedMemory};

use crate::cancel::{self, pipc_cancel};
use crate::handle_struct;
use crate::handles::Handle;
use crate::handles::{Held, Kind, Table};
use crate::ring::replace_with;
use crate::status::{buf_arg, bytes_arg, call, out_arg, str_arg, timeout, Fail};

handle_struct!(pipc_semaphore);
handle_struct!(pipc_shm);
handle_struct!(pipc_mq);
handle_struct!(pipc_mutex);

/// The semaphores.
pub static SEMAPHORES: Table<RwLock<Semaphore>> = Table::new(Kind::Semaphore);
/// The shared memory segments with their mappings.
pub static SEGMENTS: Table<RwLock<(SharedMemory, Option<Mapping>)>> = Table::new(Kind::Shm);
/// The message queues.
pub static QUEUES: Table<RwLock<MessageQueue>> = Table::new(Kind::Mq);
/// The robust mutexes.
pub static MUTEXES: Table<RwLock<Held<RobustMutex>>> = Table::new(Kind::Mutex);

/// Opens or creates the semaphore `name` (`flags`: 0, `PIPC_O_CREAT`, `PIPC_O_CREAT |
/// PIPC_O_EXCL`; `mode` 0: 0600) with `initial` as its value when created.
///
/// # Safety
///
/// `out` is NULL or writable; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pipc_semaphore_open(
    out: *mut pipc_semaphore,
    name: *const c_char,
    flags: i32,
    mode: u32,
    initial: u32,
) -> i32 {
    call("pipc_semaphore_open", || {
        // SAFETY: as the function's contract.
        let (out, name) = unsafe { (out_arg(out, "out")?, str_arg(name, "name")?) };
        let mode = if mode == 0 { 0o600 } else { mode };
        out.write(Handle::from_id(SEMAPHORES.add(Semaphore::new(
            Some(name),
            flags,
            mode,
            initial,
        )?)?));
        Ok(())
    })
}

/// Takes one unit, waiting as `timeout_ns` says.
#[no_mangle]
pub extern "C" fn pipc_semaphore_acquire(sem: pipc_semaphore, timeout_ns: i64) -> i32 {
    call("pipc_semaphore_acquire", || {
        SEMAPHORES.with(sem.id, |s| Ok(s.acquire_with(timeout(timeout_ns))?))
    })
}

/// Gives one unit back.
#[no_mangle]
pub extern "C" fn pipc_semaphore_release(sem: pipc_semaphore) -> i32 {
    call("pipc_semaphore_release", || {
        SEMAPHORES.with(sem.id, |s| Ok(s.release()?))
    })
}

/// The current value.
///
/// # Safety
///
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_semaphore_value(sem: pipc_semaphore, out: *mut u32) -> i32 {
    call("pipc_semaphore_value", || {
        // SAFETY: NULL or writable (the caller's contract).
        let out = unsafe { out_arg(out, "out") }?;
        out.write(SEMAPHORES.with(sem.id, |s| Ok(s.value()?))?);
        Ok(())
    })
}

/// Gives the semaphore a cancel token (`{0}`: none) that stops its waits.
#[no_mangle]
pub extern "C" fn pipc_semaphore_set_cancel(sem: pipc_semaphore, token: pipc_cancel) -> i32 {
    call("pipc_semaphore_set_cancel", || {
        let token = cancel::token(token)?;
        SEMAPHORES.with_mut(sem.id, |s| {
            if let Some(t) = token {
                replace_with(s, |s| s.with_cancel(&t));
            }
            Ok(())
        })
    })
}

/// Closes the handle (the semaphore stays until unlinked).
#[no_mangle]
pub extern "C" fn pipc_semaphore_close(sem: pipc_semaphore) -> i32 {
    call("pipc_semaphore_close", || SEMAPHORES.remove(sem.id))
}

/// Removes the semaphore's name.
///
/// # Safety
///
/// `name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pipc_semaphore_unlink(name: *const c_char) -> i32 {
    call("pipc_semaphore_unlink", || {
        // SAFETY: NULL or a C string (the caller's contract).
        let name = unsafe { str_arg(name, "name") }?;
        Ok(posix_ipc_core::unlink_semaphore(name)?)
    })
}

/// Opens or creates the shared memory segment `name` (`flags` as for semaphores, plus
/// `PIPC_O_TRUNC`; `mode` 0: 0600); a `size` above 0 sizes it (new or existing).
///
/// # Safety
///
/// `out` is NULL or writable; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pipc_shm_open(
    out: *mut pipc_shm,
    name: *const c_char,
    flags: i32,
    mode: u32,
    size: u64,
) -> i32 {
    call("pipc_shm_open", || {
        // SAFETY: as the function's contract.
        let (out, name) = unsafe { (out_arg(out, "out")?, str_arg(name, "name")?) };
        let mode = if mode == 0 { 0o600 } else { mode };
        let shm = SharedMemory::new(Some(name), flags, mode, size, false)?;
        out.write(Handle::from_id(SEGMENTS.add((shm, None))?));
        Ok(())
    })
}

/// Maps the whole segment (once; later calls give the same mapping) read-write: its address
/// into `*data` and its length into `*len`. The mapping lasts until the handle is closed.
///
/// # Safety
///
/// `data` and `len` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_shm_map(
    shm: pipc_shm,
    data: *mut *mut c_void,
    len: *mut usize,
) -> i32 {
    call("pipc_shm_map", || {
        // SAFETY: NULL or writable (the caller's contract).
        let (data, len) = unsafe { (out_arg(data, "data")?, out_arg(len, "len")?) };
        SEGMENTS.with_mut(shm.id, |(segment, mapping)| {
            if mapping.is_none() {
                *mapping = Some(segment.map()?);
            }
            let m = mapping
                .as_mut()
                .ok_or_else(|| Fail::new(crate::PIPC_INTERNAL, "no mapping after mapping"))?;
            data.write(m.as_mut_ptr().cast());
            len.write(m.len());
            Ok(())
        })
    })
}

/// The segment's size in bytes.
///
/// # Safety
///
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_shm_size(shm: pipc_shm, out: *mut u64) -> i32 {
    call("pipc_shm_size", || {
        // SAFETY: NULL or writable (the caller's contract).
        let out = unsafe { out_arg(out, "out") }?;
        out.write(SEGMENTS.with(shm.id, |(s, _)| Ok(s.size()?))?);
        Ok(())
    })
}

/// Unmaps and closes (the segment stays until unlinked).
#[no_mangle]
pub extern "C" fn pipc_shm_close(shm: pipc_shm) -> i32 {
    call("pipc_shm_close", || SEGMENTS.remove(shm.id))
}

/// Removes the segment's name.
///
/// # Safety
///
/// `name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pipc_shm_unlink(name: *const c_char) -> i32 {
    call("pipc_shm_unlink", || {
        // SAFETY: NULL or a C string (the caller's contract).
        let name = unsafe { str_arg(name, "name") }?;
        Ok(posix_ipc_core::unlink_shared_memory(name)?)
    })
}

/// Opens or creates the message queue `name` (`flags` as for semaphores; `mode` 0: 0600)
/// for reading and writing; `max_messages` and `max_message_size` (0: the system's defaults)
/// matter when creating.
///
/// # Safety
///
/// `out` is NULL or writable; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pipc_mq_open(
    out: *mut pipc_mq,
    name: *const c_char,
    flags: i32,
    mode: u32,
    max_messages: i64,
    max_message_size: i64,
) -> i32 {
    call("pipc_mq_open", || {
        // SAFETY: as the function's contract.
        let (out, name) = unsafe { (out_arg(out, "out")?, str_arg(name, "name")?) };
        let mode = if mode == 0 { 0o600 } else { mode };
        let max_messages = if max_messages == 0 {
            posix_ipc_core::QUEUE_MESSAGES_MAX_DEFAULT
        } else {
            max_messages
        };
        let max_message_size = if max_message_size == 0 {
            posix_ipc_core::QUEUE_MESSAGE_SIZE_MAX_DEFAULT
        } else {
            max_message_size
        };
        let mq = MessageQueue::new(
            Some(name),
            flags,
            mode,
            max_messages,
            max_message_size,
            true,
            true,
        )?;
        out.write(Handle::from_id(QUEUES.add(mq)?));
        Ok(())
    })
}

/// Sends `len` bytes with `priority`, waiting as `timeout_ns` says while the queue is full.
///
/// # Safety
///
/// `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pipc_mq_send(
    mq: pipc_mq,
    data: *const c_void,
    len: usize,
    priority: u32,
    timeout_ns: i64,
) -> i32 {
    call("pipc_mq_send", || {
        // SAFETY: as the function's contract.
        let bytes = unsafe { bytes_arg(data.cast(), len, "data") }?;
        QUEUES.with(mq.id, |q| {
            Ok(q.send_with(bytes, priority, timeout(timeout_ns))?)
        })
    })
}

/// Receives the highest-priority message into `buf` (`capacity` at least the queue's
/// message size, so nothing is cut), its length into `*len` and its priority into
/// `*priority` (NULL: not wanted), waiting as `timeout_ns` says.
///
/// # Safety
///
/// `buf` points to `capacity` writable bytes; `len` and `priority` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_mq_receive(
    mq: pipc_mq,
    buf: *mut c_void,
    capacity: usize,
    len: *mut usize,
    priority: *mut u32,
    timeout_ns: i64,
) -> i32 {
    call("pipc_mq_receive", || {
        // SAFETY: as the function's contract.
        let out = unsafe { buf_arg(buf.cast(), capacity, "buf") }?;
        let (n, p) = QUEUES.with(mq.id, |q| Ok(q.receive_into(out, timeout(timeout_ns))?))?;
        // SAFETY: NULL or writable (the caller's contract).
        unsafe {
            if let Some(l) = len.as_mut() {
                *l = n;
            }
            if let Some(x) = priority.as_mut() {
                *x = p;
            }
        }
        Ok(())
    })
}

/// The queue's geometry and fill: any of the pointers may be NULL.
///
/// # Safety
///
/// The pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_mq_attributes(
    mq: pipc_mq,
    max_messages: *mut usize,
    max_message_size: *mut usize,
    current_messages: *mut usize,
) -> i32 {
    call("pipc_mq_attributes", || {
        let (m, s, c) = QUEUES.with(mq.id, |q| {
            Ok((
                q.max_messages(),
                q.max_message_size(),
                q.current_messages()?,
            ))
        })?;
        // SAFETY: NULL or writable (the caller's contract).
        unsafe {
            for (p, v) in [
                (max_messages, m),
                (max_message_size, s),
                (current_messages, c),
            ] {
                if let Some(x) = p.as_mut() {
                    *x = v;
                }
            }
        }
        Ok(())
    })
}

/// Gives the queue a cancel token (`{0}`: none) that stops its waits.
#[no_mangle]
pub extern "C" fn pipc_mq_set_cancel(mq: pipc_mq, token: pipc_cancel) -> i32 {
    call("pipc_mq_set_cancel", || {
        let token = cancel::token(token)?;
        QUEUES.with_mut(mq.id, |q| {
            if let Some(t) = token {
                replace_with(q, |q| q.with_cancel(&t));
            }
            Ok(())
        })
    })
}

/// Closes the handle (the queue stays until unlinked).
#[no_mangle]
pub extern "C" fn pipc_mq_close(mq: pipc_mq) -> i32 {
    call("pipc_mq_close", || QUEUES.remove(mq.id))
}

/// Removes the queue's name.
///
/// # Safety
///
/// `name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pipc_mq_unlink(name: *const c_char) -> i32 {
    call("pipc_mq_unlink", || {
        // SAFETY: NULL or a C string (the caller's contract).
        let name = unsafe { str_arg(name, "name") }?;
        Ok(posix_ipc_core::unlink_message_queue(name)?)
    })
}

/// Opens (`how` 0), creates (1, exclusive) or creates or takes over (2, owned: closing
/// removes it) the robust mutex `name`.
///
/// # Safety
///
/// `out` is NULL or writable; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pipc_mutex_open(
    out: *mut pipc_mutex,
    name: *const c_char,
    how: u32,
) -> i32 {
    call("pipc_mutex_open", || {
        // SAFETY: as the function's contract.
        let (out, name) = unsafe { (out_arg(out, "out")?, str_arg(name, "name")?) };
        let m = match how {
            0 => Held::Plain(RobustMutex::open(name)?),
            1 => Held::Plain(RobustMutex::create(name)?),
            2 => Held::Owned(RobustMutex::create_or_take_over(name)?),
            h => {
                return Err(Fail::invalid(format!(
                    "how is {h}: 0 (open), 1 (create) or 2 (create or take over)"
                )))
            }
        };
        out.write(Handle::from_id(MUTEXES.add(m)?));
        Ok(())
    })
}

/// Locks, waiting as `timeout_ns` says; `*previous_owner_died` (NULL: not wanted) says
/// whether the last holder died holding it (the data it guards may need repair). Unlock on
/// the same thread.
///
/// # Safety
///
/// `previous_owner_died` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_mutex_lock(
    mutex: pipc_mutex,
    timeout_ns: i64,
    previous_owner_died: *mut i32,
) -> i32 {
    call("pipc_mutex_lock", || {
        let died = MUTEXES.with(mutex.id, |m| {
            Ok(m.get().lock_unguarded(timeout(timeout_ns))?)
        })?;
        // SAFETY: NULL or writable (the caller's contract).
        if let Some(d) = unsafe { previous_owner_died.as_mut() } {
            *d = i32::from(died);
        }
        Ok(())
    })
}

/// Unlocks a lock this thread holds (`PIPC_PERMISSION_DENIED` otherwise, changing nothing).
#[no_mangle]
pub extern "C" fn pipc_mutex_unlock(mutex: pipc_mutex) -> i32 {
    call("pipc_mutex_unlock", || {
        MUTEXES.with(mutex.id, |m| Ok(m.get().unlock()?))
    })
}

/// Gives the mutex a cancel token (`{0}`: none) that stops its waits.
#[no_mangle]
pub extern "C" fn pipc_mutex_set_cancel(mutex: pipc_mutex, token: pipc_cancel) -> i32 {
    call("pipc_mutex_set_cancel", || {
        let token = cancel::token(token)?;
        MUTEXES.with_mut(mutex.id, |m| {
            if let Some(t) = token {
                replace_with(m, |h| h.map(|m| m.with_cancel(&t)));
            }
            Ok(())
        })
    })
}

/// Closes the handle (one made by a create or take over removes the mutex).
#[no_mangle]
pub extern "C" fn pipc_mutex_close(mutex: pipc_mutex) -> i32 {
    call("pipc_mutex_close", || MUTEXES.remove(mutex.id))
}
