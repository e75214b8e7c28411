//! Stage 1: parse the input into a [`Message`], collecting every attribute error.

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Attribute, DeriveInput, Expr, ExprLit, ExprUnary, Lit, LitInt, Path, Type, UnOp};

/// A value with the span of the token it came from.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// The parsed `#[ipc(...)]` attributes.
#[derive(Debug, Default)]
pub struct Attrs {
    /// `priority = N`, if given (the raw literal is validated in `valid`).
    pub priority: Option<Spanned<Expr>>,
    /// `max_message_size = N`, if given.
    pub max_message_size: Option<Spanned<Expr>>,
    /// `crate = "path"`, if given.
    pub krate: Option<Path>,
}

/// One field of the struct.
pub struct Field<'a> {
    /// The field's accessor: a name or a tuple index.
    pub member: syn::Member,
    /// The field's type.
    pub ty: &'a Type,
}

/// The struct as the later stages see it.
pub struct Message<'a> {
    /// The input.
    pub input: &'a DeriveInput,
    /// Parsed attributes.
    pub attrs: Attrs,
    /// Whether `#[repr(C)]` or `#[repr(transparent)]` is present.
    pub repr_ok: bool,
    /// The fields, if the input is a struct.
    pub fields: Vec<Field<'a>>,
}

/// Parses the input; every error found is pushed to `errors`.
pub fn parse<'a>(input: &'a DeriveInput, errors: &mut Vec<syn::Error>) -> Message<'a> {
    let attrs = parse_attrs(&input.attrs, errors);
    let repr_ok = parse_repr(&input.attrs, errors);
    let fields = match &input.data {
        syn::Data::Struct(s) => s
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| Field {
                member: match &f.ident {
                    Some(id) => syn::Member::Named(id.clone()),
                    None => syn::Member::Unnamed(syn::Index {
                        index: i as u32,
                        span: f.ty.span(),
                    }),
                },
                ty: &f.ty,
            })
            .collect(),
        _ => Vec::new(),
    };
    Message {
        input,
        attrs,
        repr_ok,
        fields,
    }
}

fn parse_repr(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> bool {
    let mut ok = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("repr")) {
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("C") || meta.path.is_ident("transparent") {
                ok = true;
            } else if meta.input.peek(syn::token::Paren) {
                // packed(N), align(N): skip the arguments.
                let content;
                syn::parenthesized!(content in meta.input);
                let _: proc_macro2::TokenStream = content.parse()?;
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    ok
}

fn parse_attrs(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> Attrs {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("ipc")) {
        if let syn::Meta::Path(p) = &attr.meta {
            errors.push(syn::Error::new_spanned(
                p,
                "expected `#[ipc(priority = N)]`, `#[ipc(max_message_size = N)]` or `#[ipc(crate = \"path\")]`",
            ));
            continue;
        }
        let r = attr.parse_nested_meta(|meta| {
            let key = meta.path.clone();
            let name = key
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match name.as_str() {
                "priority" | "max_message_size" => {
                    let expr: Expr = meta.value()?.parse()?;
                    let slot = if name == "priority" {
                        &mut out.priority
                    } else {
                        &mut out.max_message_size
                    };
                    if slot.is_some() {
                        errors.push(syn::Error::new_spanned(
                            &key,
                            format!("duplicate `{name}` attribute"),
                        ));
                    } else {
                        *slot = Some(Spanned {
                            span: expr.span(),
                            value: expr,
                        });
                    }
                }
                "crate" => {
                    let expr: Expr = meta.value()?.parse()?;
                    match &expr {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => match s.parse::<Path>() {
                            Ok(path) if out.krate.is_none() => out.krate = Some(path),
                            Ok(_) => errors.push(syn::Error::new_spanned(
                                &key,
                                "duplicate `crate` attribute",
                            )),
                            Err(_) => errors.push(syn::Error::new_spanned(
                                s,
                                "`crate` must be a path, like `crate = \"my_facade\"`",
                            )),
                        },
                        other => errors.push(syn::Error::new_spanned(
                            other,
                            "`crate` takes a string literal: `crate = \"path::to::posix_ipc\"`",
                        )),
                    }
                }
                _ => {
                    if meta.input.peek(syn::Token![=]) {
                        let _: Expr = meta.value()?.parse()?;
                    } else if meta.input.peek(syn::token::Paren) {
                        let content;
                        syn::parenthesized!(content in meta.input);
                        let _: proc_macro2::TokenStream = content.parse()?;
                    }
                    errors.push(syn::Error::new_spanned(
                        &key,
                        format!(
                            "unknown ipc attribute `{}`; expected `priority`, `max_message_size` or `crate`",
                            quote::quote!(#key).to_string().replace(' ', "")
                        ),
                    ));
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    out
}

/// The value of an integer attribute, or an error on its token: negative numbers and
/// non-integer literals are refused.
pub fn int_value(attr: &Spanned<Expr>, what: &str) -> Result<(u64, LitInt), syn::Error> {
    match &attr.value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit
            .base10_parse::<u64>()
            .map(|v| (v, lit.clone()))
            .map_err(|_| syn::Error::new_spanned(lit, format!("`{what}` is too large"))),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => Err(syn::Error::new(
            attr.span,
            format!("`{what}` must not be negative"),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{what}` must be an integer literal"),
        )),
    }
}
