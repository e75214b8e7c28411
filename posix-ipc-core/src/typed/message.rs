//! The traits behind `#[derive(IpcMessage)]`: [`IpcField`] and [`IpcMessage`], the items the
//! generated code uses, and [`python_module`] for Python peers.

use super::layout::{Kind, Layout, Primitive, Shape};

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
    /// Priority used by [`Sender::send`](crate::Sender::send) (0 to 32767, checked when the type is compiled).
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

/// A Python module describing `T` to a Python program that uses `posix_ipc_rs`: the struct
/// format, size, layout fingerprint, priority and maximum message size as constants, a
/// `NamedTuple` of the fields with `pack()`/`unpack()`, and `RECORD` for the module's rings and
/// `Shared` (see [`Layout::python_module`]). Write it to a `.py` file beside the Python program.
pub fn python_module<T: IpcMessage>() -> String {
    T::LAYOUT.python_module(T::PRIORITY, T::MAX_MESSAGE_SIZE)
}
