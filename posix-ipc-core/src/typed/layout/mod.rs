//! Layout descriptions of `#[derive(IpcMessage)]` types, their fingerprint, and their export to
//! Python `struct` format strings and C declarations; `stored` keeps them as bytes in segments
//! for tools that decode samples without the Rust type.

use std::fmt::Write as _;

mod stored;

pub use stored::*;

/// A primitive field type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Primitive {
    /// `u8`
    U8,
    /// `i8`
    I8,
    /// `u16`
    U16,
    /// `i16`
    I16,
    /// `u32`
    U32,
    /// `i32`
    I32,
    /// `u64`
    U64,
    /// `i64`
    I64,
    /// `u128`
    U128,
    /// `i128`
    I128,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

impl Primitive {
    /// Size in bytes.
    pub const fn size(self) -> usize {
        match self {
            Primitive::U8 | Primitive::I8 => 1,
            Primitive::U16 | Primitive::I16 => 2,
            Primitive::U32 | Primitive::I32 | Primitive::F32 => 4,
            Primitive::U64 | Primitive::I64 | Primitive::F64 => 8,
            Primitive::U128 | Primitive::I128 => 16,
        }
    }

    /// The Rust spelling.
    pub const fn rust_name(self) -> &'static str {
        match self {
            Primitive::U8 => "u8",
            Primitive::I8 => "i8",
            Primitive::U16 => "u16",
            Primitive::I16 => "i16",
            Primitive::U32 => "u32",
            Primitive::I32 => "i32",
            Primitive::U64 => "u64",
            Primitive::I64 => "i64",
            Primitive::U128 => "u128",
            Primitive::I128 => "i128",
            Primitive::F32 => "f32",
            Primitive::F64 => "f64",
        }
    }

    /// The C spelling (`<stdint.h>`).
    pub const fn c_name(self) -> &'static str {
        match self {
            Primitive::U8 => "uint8_t",
            Primitive::I8 => "int8_t",
            Primitive::U16 => "uint16_t",
            Primitive::I16 => "int16_t",
            Primitive::U32 => "uint32_t",
            Primitive::I32 => "int32_t",
            Primitive::U64 => "uint64_t",
            Primitive::I64 => "int64_t",
            Primitive::U128 => "unsigned __int128",
            Primitive::I128 => "__int128",
            Primitive::F32 => "float",
            Primitive::F64 => "double",
        }
    }

    /// The Python `struct` format character (`None` for 128-bit integers, exported as 16 raw
    /// bytes).
    pub const fn python_char(self) -> Option<char> {
        Some(match self {
            Primitive::U8 => 'B',
            Primitive::I8 => 'b',
            Primitive::U16 => 'H',
            Primitive::I16 => 'h',
            Primitive::U32 => 'I',
            Primitive::I32 => 'i',
            Primitive::U64 => 'Q',
            Primitive::I64 => 'q',
            Primitive::F32 => 'f',
            Primitive::F64 => 'd',
            Primitive::U128 | Primitive::I128 => return None,
        })
    }

    /// The primitive's code in [`Layout::fingerprint`] and in stored layouts
    /// ([`LayoutDesc::encode`]): 1 for `u8` to 12 for `f64`, in the order of this enum's
    /// variants. The codes never change: fingerprints and stored layouts depend on them.
    pub const fn code(self) -> u8 {
        match self {
            Primitive::U8 => 1,
            Primitive::I8 => 2,
            Primitive::U16 => 3,
            Primitive::I16 => 4,
            Primitive::U32 => 5,
            Primitive::I32 => 6,
            Primitive::U64 => 7,
            Primitive::I64 => 8,
            Primitive::U128 => 9,
            Primitive::I128 => 10,
            Primitive::F32 => 11,
            Primitive::F64 => 12,
        }
    }

    /// The primitive with [`code`](Self::code) `code`, if any.
    pub const fn from_code(code: u8) -> Option<Primitive> {
        Some(match code {
            1 => Primitive::U8,
            2 => Primitive::I8,
            3 => Primitive::U16,
            4 => Primitive::I16,
            5 => Primitive::U32,
            6 => Primitive::I32,
            7 => Primitive::U64,
            8 => Primitive::I64,
            9 => Primitive::U128,
            10 => Primitive::I128,
            11 => Primitive::F32,
            12 => Primitive::F64,
            _ => return None,
        })
    }
}

/// What one element of a field is: a primitive or a nested message struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A primitive number.
    Primitive(Primitive),
    /// A nested `#[derive(IpcMessage)]` struct.
    Struct(&'static Layout),
}

/// The shape of a field type: its element kind and how many elements (arrays are flattened, so
/// `[[u16; 4]; 3]` is 12 `u16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Element kind.
    pub kind: Kind,
    /// Number of elements (1 for a scalar).
    pub count: usize,
}

/// One field of a [`Layout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Field name (`"0"`, `"1"`, ... for tuple structs).
    pub name: &'static str,
    /// Byte offset in the struct.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// Element kind and count.
    pub shape: Shape,
}

/// The layout of an `#[derive(IpcMessage)]` struct, as the compiler laid it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The Rust type name.
    pub name: &'static str,
    /// `size_of`.
    pub size: usize,
    /// `align_of`.
    pub align: usize,
    /// The fields in declaration order (which, with `repr(C)`, is offset order).
    pub fields: &'static [Field],
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

const fn fnv_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

const fn fnv_u64(h: u64, v: u64) -> u64 {
    fnv_bytes(h, &v.to_le_bytes())
}

impl Layout {
    /// A stable 64-bit fingerprint of the layout: FNV-1a over the size, alignment and every
    /// field's name, offset, size, element kind and count, recursively. The type's own name is
    /// not part of it, so two programs may name the struct differently and still match.
    pub const fn fingerprint(&self) -> u64 {
        self.hash_into(FNV_OFFSET)
    }

    const fn hash_into(&self, mut h: u64) -> u64 {
        h = fnv_u64(h, self.size as u64);
        h = fnv_u64(h, self.align as u64);
        h = fnv_u64(h, self.fields.len() as u64);
        let mut i = 0;
        while i < self.fields.len() {
            let f = &self.fields[i];
            h = fnv_bytes(h, f.name.as_bytes());
            h = fnv_u64(h, f.offset as u64);
            h = fnv_u64(h, f.size as u64);
            h = fnv_u64(h, f.shape.count as u64);
            h = match f.shape.kind {
                Kind::Primitive(p) => fnv_u64(h, p.code() as u64),
                Kind::Struct(inner) => inner.hash_into(fnv_u64(h, 0xff)),
            };
            i += 1;
        }
        h
    }

    /// The Python `struct` format string for one value (little- or big-endian per the target,
    /// standard sizes, no alignment: the layout has no padding). `[u8; N]` fields become `Ns`
    /// (a `bytes` object); nested structs are flattened; 128-bit integers are `16s`.
    ///
    /// ```
    /// use posix_ipc_core::typed::{Field, Kind, Layout, Primitive, Shape};
    /// const L: Layout = Layout {
    ///     name: "Pair",
    ///     size: 12,
    ///     align: 4,
    ///     fields: &[
    ///         Field { name: "a", offset: 0, size: 4, shape: Shape { kind: Kind::Primitive(Primitive::U32), count: 1 } },
    ///         Field { name: "b", offset: 4, size: 8, shape: Shape { kind: Kind::Primitive(Primitive::U8), count: 8 } },
    ///     ],
    /// };
    /// assert_eq!(L.python_format(), "<I8s");
    /// ```
    pub fn python_format(&self) -> String {
        let mut s = String::from(if cfg!(target_endian = "little") {
            "<"
        } else {
            ">"
        });
        self.python_body(&mut s);
        s
    }

    fn python_body(&self, s: &mut String) {
        for f in self.fields {
            match f.shape.kind {
                Kind::Primitive(Primitive::U8) if f.shape.count > 1 => {
                    let _ = write!(s, "{}s", f.shape.count);
                }
                Kind::Primitive(p) => match p.python_char() {
                    Some(c) if f.shape.count == 1 => s.push(c),
                    Some(c) => {
                        let _ = write!(s, "{}{c}", f.shape.count);
                    }
                    None => {
                        for _ in 0..f.shape.count {
                            s.push_str("16s");
                        }
                    }
                },
                Kind::Struct(inner) => {
                    for _ in 0..f.shape.count {
                        inner.python_body(s);
                    }
                }
            }
        }
    }

    /// The Python field names matching [`python_format`](Self::python_format), one per
    /// unpacked value (nested fields as `outer.inner`, array elements as `name[i]` except byte
    /// arrays, which unpack to one `bytes`).
    pub fn python_field_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.python_names("", &mut out);
        out
    }

    fn python_names(&self, prefix: &str, out: &mut Vec<String>) {
        for f in self.fields {
            let base = format!("{prefix}{}", f.name);
            match f.shape.kind {
                Kind::Primitive(Primitive::U8) if f.shape.count > 1 => out.push(base),
                Kind::Primitive(_) if f.shape.count == 1 => out.push(base),
                Kind::Primitive(_) => {
                    out.extend((0..f.shape.count).map(|i| format!("{base}[{i}]")))
                }
                Kind::Struct(inner) if f.shape.count == 1 => {
                    inner.python_names(&format!("{base}."), out);
                }
                Kind::Struct(inner) => {
                    for i in 0..f.shape.count {
                        inner.python_names(&format!("{base}[{i}]."), out);
                    }
                }
            }
        }
    }

    /// The Python types of the values [`python_format`](Self::python_format) unpacks, in
    /// order: `"int"`, `"float"` or `"bytes"` (byte arrays and 128-bit integers).
    pub fn python_types(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.python_types_into(&mut out);
        out
    }

    fn python_types_into(&self, out: &mut Vec<&'static str>) {
        for f in self.fields {
            match f.shape.kind {
                Kind::Primitive(Primitive::U8) if f.shape.count > 1 => out.push("bytes"),
                Kind::Primitive(p) => {
                    let t = match p {
                        Primitive::F32 | Primitive::F64 => "float",
                        Primitive::U128 | Primitive::I128 => "bytes",
                        _ => "int",
                    };
                    out.extend(std::iter::repeat_n(t, f.shape.count));
                }
                Kind::Struct(inner) => {
                    for _ in 0..f.shape.count {
                        inner.python_types_into(out);
                    }
                }
            }
        }
    }

    /// A Python module that describes this layout to a Python program: the `struct` format,
    /// size and layout fingerprint as constants, a `NamedTuple` of the fields with `pack()` and
    /// `unpack()`, and `RECORD`, the `posix_ipc_rs.RecordType` the Python module's rings and
    /// `Shared` take. `priority` and `max_message_size` are the queue facts of the type
    /// (see [`python_module`](super::python_module) for an `IpcMessage`).
    pub fn python_module(&self, priority: u32, max_message_size: usize) -> String {
        let names: Vec<String> = self
            .python_field_names()
            .iter()
            .map(|n| {
                let mut id: String = n
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                while id.ends_with('_') {
                    id.pop();
                }
                if id.is_empty()
                    || id.starts_with(|c: char| c.is_ascii_digit())
                    || id.starts_with('_')
                {
                    id.insert(0, 'f');
                }
                id
            })
            .collect();
        let types = self.python_types();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\"\"\"The layout of the Rust type `{0}`, for posix_ipc_rs.\n\n\
             Generated by posix-ipc (`Layout::python_module`); regenerate it when `{0}` changes.\n\"\"\"\n\n\
             from __future__ import annotations\n\n\
             import struct\n\
             from typing import NamedTuple\n\n\
             import posix_ipc_rs\n",
            self.name
        );
        let _ = writeln!(s, "FORMAT = {:?}", self.python_format());
        let _ = writeln!(s, "SIZE = {}", self.size);
        let _ = writeln!(s, "FINGERPRINT = {:#018x}", self.fingerprint());
        let _ = writeln!(s, "PRIORITY = {priority}");
        let _ = writeln!(s, "MAX_MESSAGE_SIZE = {max_message_size}");
        let _ = writeln!(
            s,
            "RECORD = posix_ipc_rs.RecordType({:?}, SIZE, FINGERPRINT)",
            self.name
        );
        let _ = writeln!(s, "_STRUCT = struct.Struct(FORMAT)\n\n");
        let _ = writeln!(s, "class {}(NamedTuple):", python_class_name(self.name));
        for (n, t) in names.iter().zip(&types) {
            let _ = writeln!(s, "    {n}: {t}");
        }
        let _ = writeln!(
            s,
            "\n    def pack(self) -> bytes:\n        return _STRUCT.pack(*self)\n\n\
             \x20   @classmethod\n    def unpack(cls, data: bytes) -> {0}:\n        \
             return cls._make(_STRUCT.unpack(data))",
            python_class_name(self.name)
        );
        s
    }

    /// A C (C11, and C++) declaration of the struct (and of nested structs, first), with
    /// `static_assert`s on the size and every offset, so a program compiled against it is
    /// checked to agree; then the values C code needs: `NAME_SIZE`, `NAME_FINGERPRINT` and,
    /// when `posix_ipc.h` (the C library's header) was included first, the `pipc_layout` of
    /// each struct and the `pipc_record_type` `Name_type` to open topics, rings, queues and
    /// shared structs of this type with.
    pub fn c_declaration(&self) -> String {
        let mut out = String::from(
            "#include <assert.h> /* static_assert, in C11 and C++ */\n#include <stddef.h>\n\
             #include <stdint.h>\n\n",
        );
        let mut done = Vec::new();
        self.c_decl_into(&mut out, &mut done);
        let upper = c_macro_name(self.name);
        let _ = writeln!(out, "#define {upper}_SIZE {}", self.size);
        let _ = writeln!(
            out,
            "#define {upper}_FINGERPRINT UINT64_C({:#018x})",
            self.fingerprint()
        );
        let _ = writeln!(
            out,
            "#ifdef POSIX_IPC_H\nPIPC_UNUSED static const pipc_record_type {0}_type = \
             {{\"{0}\", sizeof(struct {0}), {upper}_FINGERPRINT, &{0}_layout}};\n#endif",
            self.name
        );
        out
    }

    fn c_decl_into(&self, out: &mut String, done: &mut Vec<&'static str>) {
        for f in self.fields {
            if let Kind::Struct(inner) = f.shape.kind {
                if !done.contains(&inner.name) {
                    inner.c_decl_into(out, done);
                }
            }
        }
        done.push(self.name);
        let _ = writeln!(out, "struct {} {{", self.name);
        for f in self.fields {
            let ty = match f.shape.kind {
                Kind::Primitive(p) => p.c_name().to_string(),
                Kind::Struct(inner) => format!("struct {}", inner.name),
            };
            let name = c_field_name(f.name);
            if f.shape.count == 1 {
                let _ = writeln!(out, "    {ty} {name};");
            } else {
                let _ = writeln!(out, "    {ty} {name}[{}];", f.shape.count);
            }
        }
        let _ = writeln!(out, "}};");
        let _ = writeln!(
            out,
            "static_assert(sizeof(struct {0}) == {1}, \"struct {0} must be {1} bytes\");",
            self.name, self.size
        );
        for f in self.fields {
            let _ = writeln!(
                out,
                "static_assert(offsetof(struct {0}, {1}) == {2}, \"{0}.{1} at offset {2}\");",
                self.name,
                c_field_name(f.name),
                f.offset
            );
        }
        // The layout for the C library, if its header is in: what it stores in the objects
        // it creates and derives the fingerprint from.
        let _ = writeln!(
            out,
            "#ifdef POSIX_IPC_H\nPIPC_UNUSED static const pipc_field {}_fields[] = {{",
            self.name
        );
        for f in self.fields {
            let name = c_field_name(f.name);
            match f.shape.kind {
                Kind::Primitive(p) => {
                    let kind = format!("PIPC_{}", p.rust_name().to_ascii_uppercase());
                    let _ = writeln!(out, "    PIPC_FIELD(struct {}, {name}, {kind}),", self.name);
                }
                Kind::Struct(inner) => {
                    let _ = writeln!(
                        out,
                        "    PIPC_STRUCT_FIELD(struct {}, {name}, &{}_layout),",
                        self.name, inner.name
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "}};\nPIPC_UNUSED static const pipc_layout {0}_layout =\n    \
             PIPC_LAYOUT(struct {0}, \"{0}\", {0}_fields);\n#endif\n",
            self.name
        );
    }
}

/// `FrameInfo` → `FRAME_INFO`: a macro prefix for a type name.
fn c_macro_name(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn c_field_name(name: &str) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("f{name}")
    } else {
        name.to_string()
    }
}

/// Randomised properties (issue 6): the fingerprint sees every structural change and only
/// those; the Python and C exports agree with the layout for arbitrary layouts.
/// A Python class name for a Rust type name (generic arguments and paths flattened).
fn python_class_name(rust: &str) -> String {
    let id: String = rust
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_digit()) || id.is_empty() {
        format!("T{id}")
    } else {
        id
    }
}

#[cfg(test)]
mod randomised;
