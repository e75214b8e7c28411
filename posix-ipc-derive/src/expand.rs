//! Stage 3: emit the impls and the `const` assertions for facts only the compiler knows.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::{ast, valid};

/// The whole derive: parse, validate, expand. With errors, the errors are emitted (all of
/// them, each on its token) together with a fallback impl (thiserror's pattern), so that code
/// using the type (`Sender::<T>::open`, `tx.send(&t)`) does not add a cascade of follow-up
/// errors ("the trait bound `T: IpcMessage` is not satisfied", E0599) to the real one.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Vec::new();
    let msg = ast::parse(input, &mut errors);
    let checked = valid::check(&msg, &mut errors);
    if let Some(mut first) = errors.pop() {
        for e in errors {
            first.combine(e);
        }
        let errors = first.to_compile_error();
        let fallback = fallback(&msg);
        return quote!(#errors #fallback);
    }
    expand(&msg, &checked)
}

/// Stand-in impls emitted next to the derive's errors, for a non-generic struct only (an enum,
/// a union or a generic type cannot take them without more errors of their own). They are never
/// part of a program: the `compile_error!`s beside them stop the compilation, so the `unsafe
/// impl`s below, which no check stands behind, are never compiled into anything.
fn fallback(msg: &ast::Message<'_>) -> TokenStream {
    let input = msg.input;
    if !matches!(input.data, syn::Data::Struct(_)) || !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.ident;
    let name = ident.to_string();
    let krate = msg
        .attrs
        .krate
        .as_ref()
        .map_or_else(|| quote!(::posix_ipc), |p| quote!(#p));
    let p = quote!(#krate::typed::__private);
    // `allow`, not `expect`: this lands in the user's crate, where these lints may or may not
    // fire depending on the type and the user's lint levels.
    quote! {
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = {
            #[automatically_derived]
            unsafe impl #p::bytemuck::Zeroable for #ident {}
            // `for<'__f>` makes the bounds non-trivial: on a struct that is not `Copy` the impls
            // simply do not apply, instead of adding "`Copy` is not satisfied" errors.
            #[automatically_derived]
            unsafe impl #p::bytemuck::Pod for #ident
            where
                for<'__f> #ident: #p::core::marker::Copy,
            {
            }
            #[automatically_derived]
            impl #krate::typed::IpcField for #ident
            where
                for<'__f> #ident: #p::core::marker::Copy,
            {
                const SHAPE: #krate::typed::Shape = #krate::typed::Shape {
                    kind: #krate::typed::Kind::Struct(&<#ident as #krate::typed::IpcMessage>::LAYOUT),
                    count: 1,
                };
            }
            #[automatically_derived]
            impl #krate::typed::IpcMessage for #ident
            where
                for<'__f> #ident: #p::core::marker::Copy,
            {
                const PRIORITY: u32 = 0;
                const MAX_MESSAGE_SIZE: usize = #p::DEFAULT_MAX_MESSAGE_SIZE;
                const LAYOUT: #krate::typed::Layout = #krate::typed::Layout {
                    name: #name,
                    size: #p::core::mem::size_of::<#ident>(),
                    align: #p::core::mem::align_of::<#ident>(),
                    fields: &[],
                };
            }
        };
    }
}

fn expand(msg: &ast::Message<'_>, checked: &valid::Checked) -> TokenStream {
    let ident = &msg.input.ident;
    let name = ident.to_string();
    let krate = msg
        .attrs
        .krate
        .as_ref()
        .map_or_else(|| quote!(::posix_ipc), |p| quote!(#p));
    let p = quote!(#krate::typed::__private);
    let priority = checked.priority;
    let max = checked.max_message_size as usize;

    let tys: Vec<_> = msg.fields.iter().map(|f| f.ty).collect();
    let padding_msg = format!(
        "{name} has padding bytes between or after its fields: padding is uninitialised \
         memory that would be sent to other processes; reorder the fields (largest first) or \
         add explicit `_pad: [u8; N]` fields"
    );
    let size_msg = if checked.declared_size {
        format!(
            "{name} is larger than its declared #[ipc(max_message_size = {max})]: raise \
             max_message_size (the kernel allows up to 16 MiB)"
        )
    } else {
        format!(
            "{name} is larger than 8192 bytes, the default message queue limit \
             (QUEUE_MESSAGE_SIZE_MAX_DEFAULT, fs.mqueue.msgsize_max): declare \
             #[ipc(max_message_size = N)] and raise fs.mqueue.msgsize_max on the machines that \
             run it"
        )
    };
    // Facts only the compiler knows, as const assertions spanned on the struct's name (or on
    // the declared size literal), so the error points there.
    let size_span = msg
        .attrs
        .max_message_size
        .as_ref()
        .map_or(ident.span(), |a| a.span);
    let assertions = quote_spanned! {ident.span()=>
        const _: () = ::core::assert!(
            #p::core::mem::size_of::<#ident>() > 0,
            "IpcMessage cannot be derived for a zero-sized struct"
        );
        const _: () = ::core::assert!(
            #p::core::mem::size_of::<#ident>()
                == 0 #(+ #p::core::mem::size_of::<#tys>())*,
            #padding_msg
        );
    };
    let size_assertion = quote_spanned! {size_span=>
        const _: () = ::core::assert!(
            #p::core::mem::size_of::<#ident>() <= #max,
            #size_msg
        );
    };
    let assertions = quote!(#assertions #size_assertion);
    let fields = msg.fields.iter().map(|f| {
        let member = &f.member;
        let ty = f.ty;
        let fname = match member {
            syn::Member::Named(id) => id.to_string(),
            syn::Member::Unnamed(i) => i.index.to_string(),
        };
        // The `IpcField` bound is checked here, spanned on the field's type, so a type that is
        // not a field (an enum, a struct without the derive) is reported on that field with
        // `IpcField`'s diagnostic.
        let shape = quote_spanned! {ty.span()=> <#ty as #krate::typed::IpcField>::SHAPE };
        quote! {
            #krate::typed::Field {
                name: #fname,
                offset: #p::core::mem::offset_of!(#ident, #member),
                size: #p::core::mem::size_of::<#ty>(),
                shape: #shape,
            }
        }
    });

    // SAFETY (of the generated `unsafe impl`s, argued here since comments do not survive
    // expansion): bytemuck's `Zeroable` and `Pod` require a type that is inhabited, `Copy`,
    // `'static`, `#[repr(C)]` or `#[repr(transparent)]`, without padding, whose fields are all
    // `Pod` and for which any bit pattern is valid. The derive emits them only after
    // - `valid::check` proved the repr and that the struct is not generic, not an enum or
    //   union, and has at least one field;
    // - each field type is proven `IpcField` (a subtrait of `Pod`) by `assert_field`, below;
    // - the sum of the field sizes equals the struct size (no padding), asserted below;
    // - `Pod: Copy + 'static` is checked by the compiler on the impl itself.
    // If any assertion fails the crate does not compile, so the impls never exist unsound.
    // `allow`, not `expect`: this lands in the user's crate, where these lints may or may not
    // fire depending on the type and the user's lint levels.
    quote! {
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = {
            #assertions

            #[automatically_derived]
            unsafe impl #p::bytemuck::Zeroable for #ident {}
            #[automatically_derived]
            unsafe impl #p::bytemuck::Pod for #ident {}

            #[automatically_derived]
            impl #krate::typed::IpcField for #ident {
                const SHAPE: #krate::typed::Shape = #krate::typed::Shape {
                    kind: #krate::typed::Kind::Struct(&<#ident as #krate::typed::IpcMessage>::LAYOUT),
                    count: 1,
                };
            }

            #[automatically_derived]
            impl #krate::typed::IpcMessage for #ident {
                const PRIORITY: u32 = #priority;
                const MAX_MESSAGE_SIZE: usize = #max;
                const LAYOUT: #krate::typed::Layout = #krate::typed::Layout {
                    name: #name,
                    size: #p::core::mem::size_of::<#ident>(),
                    align: #p::core::mem::align_of::<#ident>(),
                    fields: &[#(#fields),*],
                };
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(src: &str) -> String {
        let input: DeriveInput = syn::parse_str(src).unwrap();
        derive(&input).to_string()
    }

    #[test]
    fn expands_impls_for_a_valid_struct() {
        let out =
            expand_str("#[repr(C)] #[ipc(priority = 5)] struct Reading { seq: u64, value: f64 }");
        assert!(
            out.contains("impl :: posix_ipc :: typed :: IpcMessage for Reading"),
            "{out}"
        );
        assert!(out.contains("const PRIORITY : u32 = 5u32"), "{out}");
        assert!(out.contains("offset_of ! (Reading , seq)"), "{out}");
        assert!(out.contains(
            "unsafe impl :: posix_ipc :: typed :: __private :: bytemuck :: Pod for Reading"
        ));
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn crate_attribute_changes_every_path() {
        let out = expand_str("#[repr(C)] #[ipc(crate = \"my::ipc\")] struct A { x: u32 }");
        assert!(out.contains("my :: ipc :: typed :: IpcMessage"), "{out}");
        assert!(!out.contains(":: posix_ipc"), "{out}");
    }

    #[test]
    fn default_priority_is_zero_and_default_size_is_8192() {
        let out = expand_str("#[repr(C)] struct A(u32, u32);");
        assert!(out.contains("const PRIORITY : u32 = 0u32"), "{out}");
        assert!(
            out.contains("const MAX_MESSAGE_SIZE : usize = 8192usize"),
            "{out}"
        );
        assert!(out.contains("offset_of ! (A , 1)"), "{out}");
    }

    #[test]
    fn all_attribute_errors_are_reported_together() {
        let out = expand_str(
            "#[ipc(priority = 40000, max_message_size = 99999999, colour = 1)] struct A { b: bool, c: char }",
        );
        for needle in [
            "exceeds QUEUE_PRIORITY_MAX",
            "hard limit of 16 MiB",
            "unknown ipc attribute `colour`",
            "requires #[repr(C)]",
            "`bool` cannot",
            "`char` cannot",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
        assert_eq!(out.matches("compile_error").count(), 6, "{out}");
        // Beside the errors, only the fallback: no field layout, no assertions.
        assert!(
            out.contains("impl :: posix_ipc :: typed :: IpcMessage for A"),
            "{out}"
        );
        assert!(!out.contains("offset_of"), "{out}");
        assert!(!out.contains("assert"), "{out}");
    }

    #[test]
    fn duplicates_and_wrong_value_types_are_errors() {
        let out = expand_str(
            "#[repr(C)] #[ipc(priority = 1, priority = 2, max_message_size = \"big\", crate = 5)] struct A { x: u8 }",
        );
        assert!(out.contains("duplicate `priority`"), "{out}");
        assert!(out.contains("must be an integer literal"), "{out}");
        assert!(out.contains("`crate` takes a string literal"), "{out}");
    }

    #[test]
    fn negative_priority_is_an_error() {
        let out = expand_str("#[repr(C)] #[ipc(priority = -1)] struct A { x: u8 }");
        assert!(out.contains("must not be negative"), "{out}");
    }

    #[test]
    fn enums_unions_generics_and_empty_structs_are_refused() {
        assert!(expand_str("#[repr(C)] enum E { A }").contains("cannot be derived for an enum"));
        assert!(expand_str("#[repr(C)] union U { a: u32 }").contains("for a union"));
        assert!(expand_str("#[repr(C)] struct G<T> { t: T }").contains("generic struct"));
        assert!(expand_str("#[repr(C)] struct Z {}").contains("zero-sized"));
    }

    #[test]
    fn forbidden_field_types_are_named() {
        for (ty, needle) in [
            ("usize", "`usize`/`isize`"),
            ("&'static u8", "references"),
            ("*const u8", "raw pointers"),
            ("Option<u32>", "`Option`"),
            ("core::sync::atomic::AtomicU32", "atomics"),
            ("[bool; 4]", "`bool`"),
            ("(u8, u8)", "tuples"),
        ] {
            let out = expand_str(&format!("#[repr(C)] struct A {{ f: {ty} }}"));
            assert!(out.contains(needle), "{ty}: {out}");
        }
    }
}
