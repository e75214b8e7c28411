//! Typed messages: the traits behind `#[derive(IpcMessage)]`, typed queue channels
//! ([`Sender`]/[`Receiver`]), typed shared memory ([`Shared`], [`RawShared`]) and layout export
//! for Python and C peers.
//!
//! A message type is plain old data (`bytemuck::Pod`): `#[repr(C)]`, no padding, and fields of
//! primitive numbers, arrays and other message types only. Any byte pattern a peer writes is
//! then a valid value, so a buggy or hostile peer can corrupt values but never cause undefined
//! behaviour here.

mod layout;
mod queue;
pub mod ring;
mod shared;

pub use layout::{Field, Kind, Layout, Primitive, Shape};
pub use queue::{Iter, Receiver, Sender, TryIter};
pub use ring::{RingMode, RingReceiver, RingSender, RING_MAGIC, RING_MAX_PEERS, RING_VERSION};
pub use shared::{RawShared, Shared, SharedHeader, SHARED_MAGIC, SHARED_VERSION};

/// A type that may be a field of an [`IpcMessage`]: a primitive number, an array of fields, or
/// another message type.
///
/// `bool`, `char`, `usize`/`isize`, references, pointers, `Option`, enums and atomics are not
/// fields: their size differs between programs or not every byte pattern is a valid value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an IpcMessage",
    label = "not a fixed-size plain-old-data field",
    note = "fields must be u8..u128, i8..i128, f32, f64, arrays of fields, or #[derive(IpcMessage)] structs; bool, char, usize, isize, references, pointers, Option, enums and atomics are not allowed"
)]
pub trait IpcField: bytemuck::Pod {
    /// Element kind and count.
    const SHAPE: Shape;
}

macro_rules! primitive_fields {
    ($($t:ty => $p:ident),* $(,)?) => {
        $(
            impl IpcField for $t {
                const SHAPE: Shape = Shape { kind: Kind::Primitive(Primitive::$p), count: 1 };
            }
        )*
    };
}

primitive_fields!(
    u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32,
    u64 => U64, i64 => I64, u128 => U128, i128 => I128, f32 => F32, f64 => F64,
);

impl<T: IpcField, const N: usize> IpcField for [T; N] {
    const SHAPE: Shape = Shape {
        kind: T::SHAPE.kind,
        count: T::SHAPE.count * N,
    };
}

/// A message type: plain old data with a priority, a size and a layout, made by
/// `#[derive(IpcMessage)]`.
///
/// ```
/// use posix_ipc::IpcMessage;
///
/// #[derive(Clone, Copy, IpcMessage)]
/// #[repr(C)]
/// #[ipc(priority = 5)]
/// struct Reading {
///     seq: u64,
///     value: f64,
///     sensor: u32,
///     flags: u32,
/// }
///
/// assert_eq!(Reading::PRIORITY, 5);
/// assert_eq!(Reading::LAYOUT.size, 24);
/// assert_eq!(Reading::python_format(), "<QdII");
/// ```
pub trait IpcMessage: IpcField {
    /// Priority used by [`Sender::send`] (0 to 32767, checked when the type is compiled).
    const PRIORITY: u32;
    /// Largest message size a queue for this type may be declared with (`max_message_size`
    /// attribute, default 8192); the type's size is at most this (checked at compile time).
    const MAX_MESSAGE_SIZE: usize;
    /// The compiler's layout of the type.
    const LAYOUT: Layout;
    /// [`Layout::fingerprint`] of [`LAYOUT`](Self::LAYOUT).
    const FINGERPRINT: u64 = Self::LAYOUT.fingerprint();

    /// The Python `struct` format string of one message ([`Layout::python_format`]).
    fn python_format() -> String {
        Self::LAYOUT.python_format()
    }

    /// A C declaration of the message struct ([`Layout::c_declaration`]).
    fn c_declaration() -> String {
        Self::LAYOUT.c_declaration()
    }
}

/// Items used by the code `#[derive(IpcMessage)]` generates. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use bytemuck;
    pub use core;

    /// posix_ipc's default `max_message_size` (and Linux's default `msgsize_max`).
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 8192;
    /// The kernel's hard limit on a queue's message size.
    pub const HARD_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
    /// The highest queue priority.
    pub const PRIORITY_MAX: u32 = 32767;
}

/// How a typed layer (`Shared`, the ring, the robust mutex) describes the header it waits for
/// at open.
pub(crate) struct HeaderSpec<'a> {
    /// Header length in bytes (mapped and copied).
    pub len: usize,
    /// The size below which the segment is still being made (at least `len`).
    pub min_size: usize,
    /// Whether a creator of this kind makes a segment of exactly this many bytes: a blank
    /// segment of any other size is not one being made, but someone else's.
    pub made_size: &'a dyn Fn(u64) -> bool,
    /// The 8 magic bytes at offset 0.
    pub magic: &'a [u8; 8],
    /// The layout version, a `u32` at offset 8, written with the magic.
    pub version: u32,
    /// Offset of the `u32` ready flag the creator stores (`Release`) after the rest. Creators
    /// never write it otherwise (`ftruncate` zeroed it), so it is only accessed atomically.
    pub ready: usize,
    /// The object, for the error when its name goes away during the wait.
    pub object: crate::error::Object,
}

/// Waits until the creator of a typed segment has published its header, and returns a copy.
///
/// A segment is made in steps: `shm_open` (size 0), `ftruncate` to its exact size (all zeros),
/// the header, then the ready flag. An opener may arrive at any step, so a segment that is too
/// small, or of the size its creator makes with the magic still blank or partly written (every
/// byte either 0 or the magic's), means "not yet": wait with back-off until `deadline`, then
/// `not_ready`. A magic that cannot become ours, a blank segment of another size, or our magic
/// with another non-zero version is not worth waiting for: `foreign(header)` at once. If the
/// name is removed during the wait (a creator that failed cleans up), the answer is `NotFound`.
/// The header is copied only after the ready flag was loaded with `Acquire`, so every field the
/// creator wrote before it is seen.
pub(crate) fn published_header(
    shm: &crate::SharedMemory,
    spec: &HeaderSpec<'_>,
    deadline: std::time::Instant,
    not_ready: &dyn Fn(&str) -> crate::Error,
    foreign: &dyn Fn(&[u8]) -> crate::Error,
) -> crate::Result<Vec<u8>> {
    use std::time::{Duration, Instant};
    let mut backoff = Duration::from_micros(50);
    let mut map: Option<crate::Mapping> = None;
    loop {
        let stat = shm.stat()?;
        if !stat.linked {
            return Err(crate::Error::new(
                crate::ErrorKind::NotFound,
                crate::error::Operation::Open,
                spec.object.clone(),
                "its name was removed while waiting for its creator to finish (a creator that \
                 fails removes what it made): open it again once it exists",
            ));
        }
        let waiting_for = if stat.size < spec.min_size.max(spec.len) as u64 {
            "the segment is still smaller than its header"
        } else {
            let header = match &map {
                Some(m) => m,
                None => map.insert(shm.map_range(0, spec.len)?),
            };
            let mut start = [0u8; 12];
            header.read_at(0, &mut start)?;
            let magic = &start[..8];
            let version = u32::from_ne_bytes([start[8], start[9], start[10], start[11]]);
            if magic == spec.magic {
                if version != 0 && version != spec.version {
                    return Err(foreign(&header.read_vec(0, spec.len)?));
                }
                if header.load_u32_acquire(spec.ready)? == 1 {
                    return header.read_vec(0, spec.len);
                }
                "the segment is not marked ready"
            } else if (spec.made_size)(stat.size)
                && magic
                    .iter()
                    .zip(spec.magic)
                    .all(|(&b, &m)| b == 0 || b == m)
            {
                "the segment's header is still blank"
            } else {
                return Err(foreign(&header.read_vec(0, spec.len)?));
            }
        };
        if Instant::now() >= deadline {
            return Err(not_ready(waiting_for));
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_millis(10));
    }
}
