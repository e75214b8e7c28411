//! `#[derive(IpcMessage)]` for [posix-ipc](https://docs.rs/posix-ipc): turns a plain
//! `#[repr(C)]` struct into a typed POSIX IPC message.
//!
//! Use it through the facade crate (`use posix_ipc::IpcMessage;`). The derive works in three
//! stages, one module each: `ast` parses the struct and its `#[ipc(...)]` attributes,
//! `valid` checks every fact known to the macro (priority range, declared sizes, `repr`,
//! forbidden field types) and reports **all** errors at once, each on the offending token, and
//! `expand` emits the impls plus `const` assertions for the facts only the compiler knows
//! (padding, the type's size against the queue limit), one per field where it helps.
//!
//! Attributes: `#[ipc(priority = N)]` (0 to 32767, default 0), `#[ipc(max_message_size = N)]`
//! (declares a queue message size above the default 8192, up to the kernel's 16 MiB), and
//! `#[ipc(crate = "path")]` (where the facade is, default `::posix_ipc`).

#![deny(missing_docs)]

mod ast;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Derives `IpcMessage` (and `IpcField`, `bytemuck::Pod`, `bytemuck::Zeroable`) for a
/// `#[repr(C)]` struct of plain-old-data fields. See the crate docs.
#[proc_macro_derive(IpcMessage, attributes(ipc))]
pub fn derive_ipc_message(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}
