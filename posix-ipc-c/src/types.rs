//! Record types and layouts described from C: `pipc_layout` (a struct's fields, built with
//! `offsetof` and `sizeof` by the header's `PIPC_FIELD` macros) and `pipc_record_type` (name,
//! size, fingerprint and, optionally, the layout). The layout gives the same fingerprint as
//! `#[derive(IpcMessage)]` on a `#[repr(C)]` Rust struct of the same fields, and is stored in
//! the topics a C program creates so that tools and other languages can decode them.

use std::ffi::c_char;

use posix_ipc_core::typed::{ElementDesc, FieldDesc, LayoutDesc, Primitive, RECORD_SIZE_MAX};
use posix_ipc_core::RecordType;

use crate::status::{call, out_arg, str_arg, Fail, Res};

/// `PIPC_STRUCT`: a field that is a nested struct (its `nested` layout says which).
pub const PIPC_STRUCT: u32 = 13;

/// Nesting deeper than this is refused (as in the Python module).
const DEPTH_MAX: usize = 16;

/// One field of a C struct.
#[repr(C)]
#[derive(Debug)]
pub struct pipc_field {
    /// The field's name.
    pub name: *const c_char,
    /// `offsetof(struct, field)`.
    pub offset: usize,
    /// `sizeof(field)`: an array's whole size (its element count is size / element size).
    pub size: usize,
    /// `PIPC_U8` .. `PIPC_F64`, or `PIPC_STRUCT`.
    pub kind: u32,
    /// For `PIPC_STRUCT`: the nested struct's layout; else NULL.
    pub nested: *const pipc_layout,
}

/// A C struct's layout.
#[repr(C)]
#[derive(Debug)]
pub struct pipc_layout {
    /// The struct's name (informative).
    pub name: *const c_char,
    /// `sizeof(struct)`.
    pub size: usize,
    /// `_Alignof(struct)`.
    pub align: usize,
    /// How many fields `fields` points to.
    pub field_count: usize,
    /// The fields in declaration order.
    pub fields: *const pipc_field,
}

/// A record type: what both ends of a topic, ring, queue or shared struct agree on.
#[repr(C)]
#[derive(Debug)]
pub struct pipc_record_type {
    /// A name for messages.
    pub name: *const c_char,
    /// `sizeof` the record.
    pub size: usize,
    /// The layout fingerprint; 0: computed from `layout`.
    pub fingerprint: u64,
    /// The layout (NULL: none; then `fingerprint` must be given).
    pub layout: *const pipc_layout,
}

/// The primitive of a `PIPC_U8` .. `PIPC_F64` kind: the header's numbers are the stored
/// layout's element codes.
fn primitive(kind: u32) -> Option<Primitive> {
    u8::try_from(kind).ok().and_then(Primitive::from_code)
}

/// The layout as the library stores it, checked to be what a `#[repr(C)]` struct without
/// padding is: each field right after the previous one, aligned to its element, the size the
/// end of the last field rounded to the alignment and equal to it.
///
/// # Safety
///
/// `l` points to a valid `pipc_layout` whose pointers are valid (NULL where allowed).
pub unsafe fn layout_desc(l: &pipc_layout, path: &str, depth: usize) -> Res<LayoutDesc> {
    if depth > DEPTH_MAX {
        return Err(Fail::invalid(format!(
            "layout {path} nests structs deeper than {DEPTH_MAX} levels"
        )));
    }
    let name = if l.name.is_null() {
        "Record".to_string()
    } else {
        // SAFETY: not NULL; NUL-terminated and valid (the caller's contract).
        unsafe { str_arg(l.name, "the layout's name") }?.to_string()
    };
    let path = if path.is_empty() {
        name.clone()
    } else {
        path.to_string()
    };
    if l.field_count == 0 || l.fields.is_null() {
        return Err(Fail::invalid(format!("layout {path} has no fields")));
    }
    if l.field_count > 4096 {
        return Err(Fail::invalid(format!(
            "layout {path} has {} fields; at most 4096",
            l.field_count
        )));
    }
    // SAFETY: `fields` is not NULL and points to `field_count` fields (the caller's contract).
    let fields = unsafe { std::slice::from_raw_parts(l.fields, l.field_count) };
    let (mut end, mut align, mut out) = (0u64, 1u64, Vec::new());
    for (i, f) in fields.iter().enumerate() {
        let field_name = if f.name.is_null() {
            return Err(Fail::invalid(format!(
                "layout {path}: field {i} has no name"
            )));
        } else {
            // SAFETY: not NULL; NUL-terminated and valid (the caller's contract).
            unsafe { str_arg(f.name, "a field's name") }?.to_string()
        };
        let fpath = format!("{path}.{field_name}");
        let (element, element_size, element_align) = match primitive(f.kind) {
            Some(p) => (ElementDesc::Primitive(p), p.size() as u64, p.size() as u64),
            None if f.kind == PIPC_STRUCT => {
                // SAFETY: NULL or a valid layout (the caller's contract).
                let Some(nested) = (unsafe { f.nested.as_ref() }) else {
                    return Err(Fail::invalid(format!(
                        "field {fpath} is PIPC_STRUCT but its nested layout is NULL"
                    )));
                };
                // SAFETY: a valid layout with valid pointers (the caller's contract).
                let inner = unsafe { layout_desc(nested, &fpath, depth + 1) }?;
                let (s, a) = (inner.size, inner.align);
                (ElementDesc::Struct(Box::new(inner)), s, a)
            }
            None => {
                return Err(Fail::invalid(format!(
                    "field {fpath} has kind {}, not one of PIPC_U8 .. PIPC_F64 or PIPC_STRUCT",
                    f.kind
                )))
            }
        };
        let size = f.size as u64;
        if size == 0 || size % element_size != 0 {
            return Err(Fail::invalid(format!(
                "field {fpath} is {size} bytes, not a whole number of its {element_size}-byte \
                 elements"
            )));
        }
        let offset = f.offset as u64;
        if offset != end || offset % element_align != 0 {
            return Err(Fail::invalid(format!(
                "field {fpath} is at offset {offset}, but a struct without padding puts it at \
                 {end} (right after the previous field, aligned to {element_align}): records \
                 have no padding; reorder the fields or add explicit padding fields"
            )));
        }
        end = offset + size;
        align = align.max(element_align);
        out.push(FieldDesc {
            name: field_name,
            offset,
            size,
            count: size / element_size,
            element,
        });
    }
    let size = l.size as u64;
    if size != end || size % align != 0 || l.align as u64 != align {
        return Err(Fail::invalid(format!(
            "layout {path} is {size} bytes aligned to {}, but its fields end at {end} and \
             need alignment {align}: records have no padding; add an explicit padding field \
             (or correct size and align: sizeof and _Alignof of the struct)",
            l.align
        )));
    }
    let desc = LayoutDesc {
        name,
        size,
        align,
        fields: out,
    };
    // What the library stores must read back: the stored form's own checks (unique names,
    // field counts) run here, before any object is made.
    LayoutDesc::decode(&desc.encode())
        .map_err(|e| Fail::invalid(format!("layout {path}: {}", e.message())))?;
    Ok(desc)
}

/// A record type and its layout from C.
///
/// # Safety
///
/// `t` is NULL or points to a valid `pipc_record_type` with valid pointers.
pub unsafe fn record_type(
    t: *const pipc_record_type,
    what: &str,
) -> Res<(RecordType, Option<LayoutDesc>)> {
    // SAFETY: NULL or valid (the caller's contract).
    let Some(t) = (unsafe { t.as_ref() }) else {
        return Err(Fail::invalid(format!("{what} is NULL")));
    };
    // SAFETY: NULL or valid (the caller's contract).
    let layout = match unsafe { t.layout.as_ref() } {
        // SAFETY: valid, with valid pointers (the caller's contract).
        Some(l) => Some(unsafe { layout_desc(l, "", 0) }?),
        None => None,
    };
    let name = if t.name.is_null() {
        layout
            .as_ref()
            .map_or_else(|| "Record".to_string(), |l| l.name.clone())
    } else {
        // SAFETY: not NULL; NUL-terminated and valid (the caller's contract).
        unsafe { str_arg(t.name, "the record type's name") }?.to_string()
    };
    if t.size == 0 || t.size > RECORD_SIZE_MAX {
        return Err(Fail::invalid(format!(
            "record type {name} is {} bytes; a record is 1 byte to {RECORD_SIZE_MAX} bytes",
            t.size
        )));
    }
    let fingerprint = match &layout {
        Some(l) => {
            let computed = l.fingerprint();
            if l.size != t.size as u64 {
                return Err(Fail::invalid(format!(
                    "record type {name} is {} bytes but its layout {} is {}",
                    t.size, l.name, l.size
                )));
            }
            if t.fingerprint != 0 && t.fingerprint != computed {
                return Err(Fail::invalid(format!(
                    "record type {name} gives fingerprint {:#018x} but its layout's is \
                     {computed:#018x}: the struct changed since the fingerprint was written \
                     down (or give 0 to use the layout's)",
                    t.fingerprint
                )));
            }
            computed
        }
        None if t.fingerprint == 0 => {
            return Err(Fail::invalid(format!(
                "record type {name} has neither a fingerprint nor a layout to compute it from"
            )))
        }
        None => t.fingerprint,
    };
    Ok((RecordType::new(name, t.size, fingerprint), layout))
}

/// The fingerprint of a layout (what `#[derive(IpcMessage)]` gives a Rust struct of the same
/// fields), after checking it.
///
/// # Safety
///
/// `layout` is NULL or valid with valid pointers; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_layout_fingerprint(layout: *const pipc_layout, out: *mut u64) -> i32 {
    call("pipc_layout_fingerprint", || {
        // SAFETY: NULL or writable (the caller's contract).
        let out = unsafe { out_arg(out, "out") }?;
        // SAFETY: NULL or valid (the caller's contract).
        let Some(l) = (unsafe { layout.as_ref() }) else {
            return Err(Fail::invalid("layout is NULL"));
        };
        // SAFETY: valid with valid pointers (the caller's contract).
        out.write(unsafe { layout_desc(l, "", 0) }?.fingerprint());
        Ok(())
    })
}
