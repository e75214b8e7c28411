//! The C library of posix-ipc, `libposix_ipc.so` / `libposix_ipc.a`, whose API is
//! `include/posix_ipc.h` (and the C++17 wrappers of `include/posix_ipc.hpp`).
//!
//! Every function returns a status (`PIPC_OK`, 0, or the error's code) and, on failure, leaves
//! the error's message, count and errno for the calling thread (`pipc_last_error_*`). Objects
//! are handles: small structs holding a 64-bit id into a table, never pointers. An id that is
//! zero, closed, or of another kind of object is an error (`PIPC_BAD_HANDLE`), not a crash,
//! and a handle used by two threads at once is serialised. A panic inside the library (a bug)
//! is caught and reported as `PIPC_INTERNAL`, never unwound into C.
//!
//! The modules: [`status`] (codes, the last error, the call wrapper), [`handles`] (the
//! table), [`types`] (record types and layouts described from C), [`topic`] (publishers and
//! subscribers of records and frames), [`ring`], [`queue`], [`shared`], [`basics`]
//! (semaphores, shared memory, message queues, the robust mutex) and [`cancel`].

#![allow(non_camel_case_types, reason = "the C names of the header's types")]

pub mod basics;
pub mod cancel;
pub mod handles;
pub mod queue;
pub mod ring;
pub mod shared;
pub mod status;
pub mod topic;
pub mod types;

pub use status::*;
