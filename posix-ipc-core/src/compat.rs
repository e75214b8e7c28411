//! posix_ipc's names and their Rust counterparts (documentation only: this module has no items).
//!
//! Every class, method, property and constant of Python's `posix_ipc` 1.3.2 is here under the
//! same name, over the very same kernel objects; where a Rust convention differs (std's `recv`,
//! builders, `Duration`), both names exist. A posix_ipc program translates line by line:
//!
//! ```
//! use posix_ipc_core::{MessageQueue, Semaphore, SharedMemory, O_CREX};
//!
//! # let pid = std::process::id();
//! # let (lock, data, jobs) = (format!("/doc-compat-l-{pid}"), format!("/doc-compat-d-{pid}"), format!("/doc-compat-j-{pid}"));
//! let sem = Semaphore::new(Some(&lock), O_CREX, 0o600, 1)?;   // or Semaphore::create(&lock, 1)
//! let shm = SharedMemory::create(&data, 4096)?;               // reserved with posix_fallocate
//! let mq = MessageQueue::create(&jobs, 4, 128)?;
//! {
//!     let _held = sem.acquire_guard()?;                        // `with sem:`
//!     shm.map()?.write_at(0, b"hello")?;                       // copy in, never a &mut [u8]
//! }
//! mq.send(b"job", 3)?;
//! let (bytes, priority) = mq.receive()?;
//! assert_eq!((bytes.as_slice(), priority), (&b"job"[..], 3));
//! # sem.unlink()?; shm.unlink()?; mq.unlink()?;
//! # Ok::<(), posix_ipc_core::Error>(())
//! ```
//!
//! # The table
//!
//! | posix_ipc | posix-ipc | Note |
//! |---|---|---|
//! | `O_CREAT`, `O_EXCL`, `O_CREX`, `O_TRUNC`, `O_RDONLY`, `O_WRONLY`, `O_RDWR`, `O_NONBLOCK` | same names, same values (`i32`): [`O_CREX`](crate::O_CREX) | |
//! | `MESSAGE_QUEUES_SUPPORTED`, `SEMAPHORE_TIMEOUT_SUPPORTED`, `SEMAPHORE_VALUE_SUPPORTED` | same (`bool` consts) | |
//! | `QUEUE_MESSAGES_MAX_DEFAULT`, `QUEUE_MESSAGE_SIZE_MAX_DEFAULT`, `QUEUE_PRIORITY_MAX` | same (10, 8192, 32767) | posix_ipc freezes the first two at build time; new queues here default to the live `fs.mqueue.msg_default`/`msgsize_default`, and [`limits::msg_max`](crate::limits::msg_max) etc. read the live limits |
//! | `USER_SIGNAL_MIN`, `USER_SIGNAL_MAX` | same, read as `*USER_SIGNAL_MIN` | glibc decides `SIGRTMIN` at run time, so they are lazily initialised statics |
//! | `PAGE_SIZE`, `SEMAPHORE_VALUE_MAX` | same, `#[deprecated]` | computed at run time; use [`limits::page_size`](crate::limits::page_size), [`limits::sem_value_max`](crate::limits::sem_value_max) |
//! | `VERSION`, `__author__`, `__license__`, `__copyright__` | `VERSION`, `AUTHOR`, `LICENSE`, `COPYRIGHT`, plus `POSIX_IPC_VERSION` ("1.3.2") | `VERSION` is this crate's version |
//! | `Error`, `ExistentialError`, `PermissionsError`, `BusyError`, `SignalError` | one [`Error`](crate::Error) with [`kind()`](crate::Error::kind); `is_existential()`, `is_permissions()`, `is_busy()`, `is_signal()`, [`posix_ipc_exception()`](crate::Error::posix_ipc_exception) | every error names the object, the operation and, for a limit, how to raise it; `From<Error> for io::Error` |
//! | `unlink_semaphore`, `unlink_shared_memory`, `unlink_message_queue` | same | |
//! | `Semaphore(name, flags, mode, initial_value)` | [`Semaphore::new`](crate::Semaphore::new)`(name, flags, mode, initial_value)`; idiomatic: `open`, `create`, `open_or_create`, `create_random`, `options()` | `name = None` is `create_random`; names come from `getrandom`, not `srand(time)` |
//! | `acquire(timeout)` | `acquire()`, `try_acquire()`, `acquire_timeout(Duration)`, `acquire_with(Timeout)` | waits on `CLOCK_MONOTONIC` (`sem_clockwait`): a wall-clock change does not affect it; `Duration::MAX` waits forever instead of failing at once |
//! | `release()`, `value`, `name`, `mode` | `release()`, `value()`, `name()`, `mode()` | `release` at `SEM_VALUE_MAX` is `ErrorKind::Overflow` |
//! | `with sem:` | [`sem.acquire_guard()?`](crate::Semaphore::acquire_guard) | released on drop, also on `?` and panic |
//! | `close()`, `unlink()` | `close(self)`, `unlink()`; drop closes | `close` consumes the handle, so use-after-close cannot compile; `unlink_semaphore(name)` works after close (posix_ipc documents that but raises) |
//! | `SharedMemory(name, flags, mode, size, read_only)` | [`SharedMemory::new`](crate::SharedMemory::new)`(...)`; `open`, `create`, `open_or_create`, `create_random`, `options()` | creation reserves the pages (`posix_fallocate`): a full `/dev/shm` is `NoSpace` at creation, not `SIGBUS` later; a failed resize never unlinks a segment this handle did not create (posix_ipc does) |
//! | `fd`, `fileno()`, `size`, `close_fd()` | `fd()`, `fileno()`, `AsFd`/`AsRawFd`, `size()`, [`close_fd(self)`](crate::SharedMemory::close_fd) | `close_fd` returns a [`ClosedSharedMemory`](crate::ClosedSharedMemory) that can still `unlink()`; `stat()` gives the real mode, owner and whether the name still exists |
//! | `mmap.mmap(shm.fd, shm.size)` | [`shm.map()`](crate::SharedMemory::map), `shm.map_range(offset, len)` → [`Mapping`](crate::Mapping) | checks the real size first; safe access by copy (`read_at`, `write_at`); `unsafe` raw views |
//! | `MessageQueue(name, flags, mode, max_messages, max_message_size, read, write)` | [`MessageQueue::new`](crate::MessageQueue::new)`(...)`; `open`, `create`, `open_or_create`, `create_random`, `options()` | sizes are read back with `mq_getattr`; `created()` tells whether this handle made the queue |
//! | `send(message, timeout, priority)` | `send(msg, prio)`, `try_send`, `send_timeout`, `send_with(msg, prio, Timeout)` | priority and length are checked before the call, with both numbers in the message |
//! | `receive(timeout)` | `receive()`/`recv()`, `try_receive`, `receive_timeout`, `receive_with`, [`receive_into(buf, timeout)`](crate::MessageQueue::receive_into) | `receive_into` allocates nothing |
//! | `block`, `current_messages`, `max_messages`, `max_message_size`, `mqd`, `fileno()` | `block()`/`set_block()`, `current_messages()`, `max_messages()`, `max_message_size()`, `mqd()`, `fileno()`, `AsFd` | the descriptor works with poll/epoll |
//! | `request_notification(None / signum / (f, p))` | [`request_notification`](crate::MessageQueue::request_notification)`(Notification::Cancel / Signal(n) / callback(f))` | the callback is found by a token, never a pointer: dropping the queue with a callback pending is safe (posix_ipc segfaults) |
//! | `close()`, `unlink()` (queue) | `close(self)`, `unlink()`; drop closes | |
//!
//! # Differences beyond the table
//!
//! Handles close when dropped (posix_ipc leaks them); names may be given with or without the
//! leading slash ([`name`](crate::name) has the one rule for all three kinds); a NUL byte in a
//! name, an `O_EXCL` without `O_CREAT`, a negative or NaN timeout
//! ([`Timeout::from_secs_f64`](crate::Timeout::from_secs_f64)), an initial value above
//! `SEM_VALUE_MAX` or a size above `i64::MAX` are clear errors instead of a segfault, a silent
//! wrap or an instant timeout. Blocking calls of the primitives report a signal as
//! [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted) (posix_ipc's `SignalError`); the
//! typed layer retries with the same deadline, unless a [`CancelToken`](crate::CancelToken) or
//! [`signals`](crate::signals) stops it with
//! [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) (see [`lifecycle`](crate::lifecycle)
//! for what happens on each way out of a process).
//!
//! The Python module `posix_ipc_rs` (the `posix-ipc-python` directory of the workspace) serves
//! this same API to Python, as a drop-in for `import posix_ipc`; its README lists where it
//! differs from posix_ipc on purpose.
