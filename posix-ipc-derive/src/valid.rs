//! Stage 2: check every fact the macro can see, collecting all errors, each on its token.

use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type};

use crate::ast::{int_value, Message};

/// posix_ipc's `QUEUE_PRIORITY_MAX`.
pub const PRIORITY_MAX: u64 = 32767;
/// The kernel's hard limit on a queue's message size (`HARD_MSGSIZEMAX`, 16 MiB).
pub const HARD_MAX_MESSAGE_SIZE: u64 = 16 * 1024 * 1024;
/// The default maximum message size (posix_ipc's `QUEUE_MESSAGE_SIZE_MAX_DEFAULT`).
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 8192;

/// What the expansion needs, once everything checked out.
pub struct Checked {
    /// The message priority.
    pub priority: u32,
    /// The declared maximum message size.
    pub max_message_size: u64,
    /// Whether `max_message_size` was declared (changes the size assertion's wording).
    pub declared_size: bool,
}

/// Runs every check; pushes all errors found.
pub fn check(msg: &Message<'_>, errors: &mut Vec<syn::Error>) -> Checked {
    let input = msg.input;
    match &input.data {
        syn::Data::Enum(e) => errors.push(syn::Error::new_spanned(
            e.enum_token,
            "IpcMessage cannot be derived for an enum: not every byte pattern a peer sends is \
             a valid discriminant; use a struct with an integer field instead",
        )),
        syn::Data::Union(u) => errors.push(syn::Error::new_spanned(
            u.union_token,
            "IpcMessage cannot be derived for a union: use a struct with a byte array field",
        )),
        syn::Data::Struct(_) => {
            if msg.fields.is_empty() {
                errors.push(syn::Error::new_spanned(
                    &input.ident,
                    "IpcMessage cannot be derived for a zero-sized struct: a queue message must \
                     have at least one byte",
                ));
            }
        }
    }
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "IpcMessage cannot be derived for a generic struct: its size and layout must be \
             known when the derive runs, for other processes and languages to match it",
        ));
    }
    if !msg.repr_ok && matches!(input.data, syn::Data::Struct(_)) {
        errors.push(syn::Error::new_spanned(
            &input.ident,
            "IpcMessage requires #[repr(C)] (or #[repr(transparent)]): without it Rust may \
             reorder the fields, and other processes would read them at the wrong offsets",
        ));
    }
    for field in &msg.fields {
        check_type(field.ty, errors);
    }

    let mut priority = 0;
    if let Some(attr) = &msg.attrs.priority {
        match int_value(attr, "priority") {
            Ok((v, _)) if v <= PRIORITY_MAX => priority = v as u32,
            Ok((v, lit)) => errors.push(syn::Error::new_spanned(
                lit,
                format!(
                    "priority {v} exceeds QUEUE_PRIORITY_MAX ({PRIORITY_MAX}): priorities are 0 \
                     to {PRIORITY_MAX}"
                ),
            )),
            Err(e) => errors.push(e),
        }
    }
    let mut max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
    let mut declared_size = false;
    if let Some(attr) = &msg.attrs.max_message_size {
        match int_value(attr, "max_message_size") {
            Ok((0, lit)) => errors.push(syn::Error::new_spanned(
                lit,
                "max_message_size must be at least 1",
            )),
            Ok((v, _)) if v <= HARD_MAX_MESSAGE_SIZE => {
                max_message_size = v;
                declared_size = true;
            }
            Ok((v, lit)) => errors.push(syn::Error::new_spanned(
                lit,
                format!(
                    "max_message_size {v} exceeds the kernel's hard limit of 16 MiB \
                     ({HARD_MAX_MESSAGE_SIZE} bytes), which no privilege can raise"
                ),
            )),
            Err(e) => errors.push(e),
        }
    }
    Checked {
        priority,
        max_message_size,
        declared_size,
    }
}

/// Refuses field types that are never plain old data, with a reason on the type's token.
/// Anything not caught here (an enum, a non-derived struct) is caught after type checking by
/// the `IpcField` bound, whose message names the type.
fn check_type(ty: &Type, errors: &mut Vec<syn::Error>) {
    let refuse = |errors: &mut Vec<syn::Error>, why: &str| {
        errors.push(syn::Error::new(ty.span(), why.to_string()));
    };
    match ty {
        Type::Array(a) => check_type(&a.elem, errors),
        Type::Paren(p) => check_type(&p.elem, errors),
        Type::Group(g) => check_type(&g.elem, errors),
        Type::Reference(_) => refuse(
            errors,
            "references cannot be IPC message fields: an address means nothing in another \
             process",
        ),
        Type::Ptr(_) => refuse(
            errors,
            "raw pointers cannot be IPC message fields: an address means nothing in another \
             process",
        ),
        Type::BareFn(_) => refuse(
            errors,
            "function pointers cannot be IPC message fields: an address means nothing in \
             another process",
        ),
        Type::Slice(_) | Type::TraitObject(_) | Type::ImplTrait(_) => refuse(
            errors,
            "IPC message fields must have a fixed size; use an array `[T; N]`",
        ),
        Type::Tuple(t) if t.elems.is_empty() => refuse(
            errors,
            "`()` cannot be an IPC message field: it has no bytes",
        ),
        Type::Tuple(_) => refuse(
            errors,
            "tuples cannot be IPC message fields: their layout is unspecified; use a \
             #[repr(C)] struct",
        ),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return;
            };
            let name = last.ident.to_string();
            let why = match name.as_str() {
                "bool" => Some(
                    "`bool` cannot be an IPC message field: only 0 and 1 are valid, and a peer \
                     may send any byte; use `u8`",
                ),
                "char" => Some(
                    "`char` cannot be an IPC message field: not every 32-bit value is a valid \
                     char; use `u32`",
                ),
                "usize" | "isize" => Some(
                    "`usize`/`isize` cannot be IPC message fields: their size differs between \
                     32- and 64-bit programs; use `u64`/`i64` (or `u32`/`i32`)",
                ),
                "Option" => Some(
                    "`Option` cannot be an IPC message field: not every byte pattern is a valid \
                     Option; use a value plus a flag field",
                ),
                "String" | "Vec" | "Box" | "Rc" | "Arc" | "str" => Some(
                    "heap-owning types cannot be IPC message fields: they hold pointers; use a \
                     fixed-size array",
                ),
                "PhantomData" => {
                    Some("`PhantomData` cannot be an IPC message field: it has no bytes")
                }
                n if n.starts_with("Atomic") => Some(
                    "atomics cannot be IPC message fields: a message is copied whole; use the \
                     plain integer (Shared<T> already gives atomic load and store)",
                ),
                n if n.starts_with("NonZero") => Some(
                    "`NonZero*` cannot be an IPC message field: a peer may send zero; use the \
                     plain integer",
                ),
                _ => None,
            };
            if let Some(why) = why {
                refuse(errors, why);
            }
            if let PathArguments::AngleBracketed(args) = &last.arguments {
                for arg in &args.args {
                    if let GenericArgument::Type(inner) = arg {
                        if why.is_none() {
                            check_type(inner, errors);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}
