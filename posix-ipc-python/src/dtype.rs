//! numpy structured dtypes and record layouts, both ways (`RecordType.from_dtype`,
//! `RecordType.dtype`), by the rules of `#[derive(IpcMessage)]` on a `#[repr(C)]` struct.
//!
//! A dtype is read through its attributes (`names`, `fields`, `itemsize`, `kind`, `subdtype`,
//! `byteorder`), so building a record type needs no numpy import; giving a dtype back does.

use posix_ipc_core::typed::{ElementDesc, FieldDesc, LayoutDesc, Primitive};
use pyo3::exceptions::{PyImportError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// Nesting deeper than this is refused (a stored layout allows no more).
const DEPTH_MAX: usize = 16;

fn attr<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    obj.getattr(name).map_err(|_| {
        PyTypeError::new_err(format!(
            "expected a numpy structured dtype (an object with names, fields and itemsize), \
             not {}",
            crate::args::type_name(obj)
        ))
    })
}

/// The primitive of a numpy scalar dtype (kind and size), or why it has none.
fn primitive(dt: &Bound<'_, PyAny>, path: &str) -> PyResult<(Primitive, u64)> {
    let kind: String = attr(dt, "kind")?.extract()?;
    let size: u64 = attr(dt, "itemsize")?.extract()?;
    let order: String = attr(dt, "byteorder")?.extract()?;
    let native = if cfg!(target_endian = "little") {
        "<"
    } else {
        ">"
    };
    if !(order == "=" || order == "|" || order == native) {
        return Err(PyValueError::new_err(format!(
            "field {path} is in non-native byte order ({order:?}): records are in this \
             machine's byte order; use dtype.newbyteorder('=')"
        )));
    }
    let p = match (kind.as_str(), size) {
        ("u", 1) => Primitive::U8,
        ("u", 2) => Primitive::U16,
        ("u", 4) => Primitive::U32,
        ("u", 8) => Primitive::U64,
        ("u", 16) => Primitive::U128,
        ("i", 1) => Primitive::I8,
        ("i", 2) => Primitive::I16,
        ("i", 4) => Primitive::I32,
        ("i", 8) => Primitive::I64,
        ("i", 16) => Primitive::I128,
        ("f", 4) => Primitive::F32,
        ("f", 8) => Primitive::F64,
        // Bytes `S8` are `[u8; 8]` in Rust.
        ("S", n) if n > 0 => return Ok((Primitive::U8, n)),
        ("b", _) => {
            return Err(PyValueError::new_err(format!(
                "field {path} is a bool: Rust records have no bool field; use u1 (u8)"
            )))
        }
        ("O", _) => {
            return Err(PyValueError::new_err(format!(
                "field {path} holds Python objects: a record holds plain numbers only"
            )))
        }
        _ => {
            return Err(PyValueError::new_err(format!(
                "field {path} has a {size}-byte kind {kind:?} field that records cannot hold: \
                 use (unsigned) integers of 1 to 8 bytes, float32, float64, bytes (S), nested \
                 structs or fixed arrays of them"
            )))
        }
    };
    Ok((p, 1))
}

/// The layout of a structured dtype, checked to be what a `#[repr(C)]` struct of those fields
/// is: each field at the offset the previous one ends, aligned to its own alignment, and the
/// size a multiple of the largest alignment (no padding anywhere).
pub(crate) fn layout_of(dt: &Bound<'_, PyAny>, name: &str, depth: usize) -> PyResult<LayoutDesc> {
    if depth > DEPTH_MAX {
        return Err(PyValueError::new_err(format!(
            "the dtype nests structs deeper than {DEPTH_MAX} levels"
        )));
    }
    let names = attr(dt, "names")?;
    if names.is_none() {
        return Err(PyValueError::new_err(format!(
            "{name}: expected a structured dtype (with named fields), not {}",
            dt.str()?
        )));
    }
    let fields = attr(dt, "fields")?;
    let size: u64 = attr(dt, "itemsize")?.extract()?;
    let mut out = Vec::new();
    let (mut end, mut align) = (0u64, 1u64);
    for field_name in names.try_iter()? {
        let field_name: String = field_name?.extract()?;
        let path = format!("{name}.{field_name}");
        let entry = fields.get_item(&field_name)?;
        let field_dt = entry.get_item(0)?;
        let offset: u64 = entry.get_item(1)?.extract()?;
        // A fixed array: `subdtype` is (element dtype, shape), flattened as Rust arrays are.
        let (element_dt, count) = match attr(&field_dt, "subdtype")? {
            sub if sub.is_none() => (field_dt.clone(), 1u64),
            sub => {
                let shape = sub.get_item(1)?;
                let mut count = 1u64;
                for n in shape.try_iter()? {
                    count = count.saturating_mul(n?.extract::<u64>()?);
                }
                (sub.get_item(0)?, count)
            }
        };
        let (element, element_size, element_align, more) = if attr(&element_dt, "names")?.is_none()
        {
            let (p, n) = primitive(&element_dt, &path)?;
            (
                ElementDesc::Primitive(p),
                p.size() as u64,
                p.size() as u64,
                n,
            )
        } else {
            let nested = layout_of(&element_dt, &path, depth + 1)?;
            let (s, a) = (nested.size, nested.align);
            (ElementDesc::Struct(Box::new(nested)), s, a, 1)
        };
        let count = count.saturating_mul(more);
        let field_size = element_size.saturating_mul(count);
        if count == 0 {
            return Err(PyValueError::new_err(format!(
                "field {path} is an array of 0 elements: Rust records have none"
            )));
        }
        if offset != end || offset % element_align != 0 {
            return Err(PyValueError::new_err(format!(
                "field {path} is at offset {offset}, but a #[repr(C)] struct puts it at {} \
                 (right after the previous field, aligned to {element_align}): records have \
                 no padding; reorder the fields or add explicit padding fields",
                end.next_multiple_of(element_align)
            )));
        }
        end = offset + field_size;
        align = align.max(element_align);
        out.push(FieldDesc {
            name: field_name,
            offset,
            size: field_size,
            count,
            element,
        });
    }
    if out.is_empty() {
        return Err(PyValueError::new_err(format!(
            "{name}: the dtype has no fields"
        )));
    }
    if size != end || size % align != 0 {
        return Err(PyValueError::new_err(format!(
            "{name}: the dtype is {size} bytes but its fields end at {end} and a #[repr(C)] \
             struct of them is {} bytes (a multiple of its alignment, {align}): records have \
             no padding; add an explicit padding field",
            end.next_multiple_of(align)
        )));
    }
    Ok(LayoutDesc {
        name: name.to_string(),
        size,
        align,
        fields: out,
    })
}

/// The numpy format of a primitive, in native byte order.
fn format_of(p: Primitive) -> &'static str {
    match p {
        Primitive::U8 => "u1",
        Primitive::I8 => "i1",
        Primitive::U16 => "u2",
        Primitive::I16 => "i2",
        Primitive::U32 => "u4",
        Primitive::I32 => "i4",
        Primitive::U64 => "u8",
        Primitive::I64 => "i8",
        Primitive::U128 => "V16",
        Primitive::I128 => "V16",
        Primitive::F32 => "f4",
        Primitive::F64 => "f8",
        _ => "V1",
    }
}

/// The numpy structured dtype of a layout.
pub(crate) fn dtype_of<'py>(py: Python<'py>, layout: &LayoutDesc) -> PyResult<Bound<'py, PyAny>> {
    let np = py.import("numpy").map_err(|_| {
        PyImportError::new_err(
            "RecordType.dtype needs numpy (pip install numpy); the rest of posix_ipc_rs works \
             without it",
        )
    })?;
    spec(py, &np, layout)
}

fn spec<'py>(
    py: Python<'py>,
    np: &Bound<'py, PyModule>,
    layout: &LayoutDesc,
) -> PyResult<Bound<'py, PyAny>> {
    let (names, formats, offsets) = (PyList::empty(py), PyList::empty(py), PyList::empty(py));
    for f in &layout.fields {
        let element = match &f.element {
            ElementDesc::Primitive(p) => np.getattr("dtype")?.call1((format_of(*p),))?,
            ElementDesc::Struct(inner) => spec(py, np, inner)?,
            _ => np
                .getattr("dtype")?
                .call1((format!("V{}", f.size / f.count.max(1)),))?,
        };
        let format = if f.count == 1 {
            element
        } else {
            PyTuple::new(py, [element, f.count.into_pyobject(py)?.into_any()])?.into_any()
        };
        names.append(&f.name)?;
        formats.append(format)?;
        offsets.append(f.offset)?;
    }
    let d = PyDict::new(py);
    d.set_item("names", names)?;
    d.set_item("formats", formats)?;
    d.set_item("offsets", offsets)?;
    d.set_item("itemsize", layout.size)?;
    np.getattr("dtype")?.call1((d,))
}
