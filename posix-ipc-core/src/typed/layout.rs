//! Layout descriptions of `#[derive(IpcMessage)]` types, their fingerprint, and their export to
//! Python `struct` format strings and C declarations.

use std::fmt::Write as _;

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

    const fn code(self) -> u8 {
        self as u8 + 1
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

    /// A C declaration of the struct (and of nested structs, first), with `_Static_assert`s on
    /// the size and every offset, so a C program compiled against it is checked to agree.
    pub fn c_declaration(&self) -> String {
        let mut out = String::from("#include <stdint.h>\n#include <stddef.h>\n\n");
        let mut done = Vec::new();
        self.c_decl_into(&mut out, &mut done);
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
            "_Static_assert(sizeof(struct {0}) == {1}, \"struct {0} must be {1} bytes\");",
            self.name, self.size
        );
        for f in self.fields {
            let _ = writeln!(
                out,
                "_Static_assert(offsetof(struct {0}, {1}) == {2}, \"{0}.{1} at offset {2}\");",
                self.name,
                c_field_name(f.name),
                f.offset
            );
        }
        out.push('\n');
    }
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
mod randomised {

    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::*;

    use crate::proptest_run::run;

    const PRIMITIVES: [Primitive; 12] = [
        Primitive::U8,
        Primitive::I8,
        Primitive::U16,
        Primitive::I16,
        Primitive::U32,
        Primitive::I32,
        Primitive::U64,
        Primitive::I64,
        Primitive::U128,
        Primitive::I128,
        Primitive::F32,
        Primitive::F64,
    ];

    /// An owned layout, turned into a `&'static Layout` by leaking (tests only).
    #[derive(Clone, Debug)]
    struct L {
        name: String,
        size: usize,
        align: usize,
        fields: Vec<F>,
    }

    #[derive(Clone, Debug)]
    struct F {
        name: String,
        offset: usize,
        size: usize,
        count: usize,
        kind: K,
    }

    #[derive(Clone, Debug)]
    enum K {
        P(Primitive),
        S(Box<L>),
    }

    fn leak(l: &L) -> &'static Layout {
        let fields: Vec<Field> = l
            .fields
            .iter()
            .map(|f| Field {
                name: Box::leak(f.name.clone().into_boxed_str()),
                offset: f.offset,
                size: f.size,
                shape: Shape {
                    kind: match &f.kind {
                        K::P(p) => Kind::Primitive(*p),
                        K::S(inner) => Kind::Struct(leak(inner)),
                    },
                    count: f.count,
                },
            })
            .collect();
        Box::leak(Box::new(Layout {
            name: Box::leak(l.name.clone().into_boxed_str()),
            size: l.size,
            align: l.align,
            fields: Box::leak(fields.into_boxed_slice()),
        }))
    }

    /// Lays out `fields` (name, kind, count) packed in order, as the derive would for a struct
    /// without padding.
    fn pack(name: String, fields: Vec<(String, K, usize)>) -> L {
        let mut offset = 0;
        let mut align = 1;
        let fields = fields
            .into_iter()
            .map(|(name, kind, count)| {
                let (elem, elem_align) = match &kind {
                    K::P(p) => (p.size(), p.size()),
                    K::S(inner) => (inner.size, inner.align),
                };
                align = align.max(elem_align);
                let f = F {
                    name,
                    offset,
                    size: elem * count,
                    count,
                    kind,
                };
                offset += f.size;
                f
            })
            .collect();
        L {
            name,
            size: offset,
            align,
            fields,
        }
    }

    fn field_name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_][a-z0-9_]{0,7}",
            (0u8..12).prop_map(|i| i.to_string()),
        ]
    }

    fn count() -> impl Strategy<Value = usize> {
        prop_oneof![4 => Just(1usize), 2 => 2usize..6, 1 => Just(0usize), 1 => 6usize..40]
    }

    fn primitive() -> impl Strategy<Value = Primitive> {
        prop::sample::select(PRIMITIVES.to_vec())
    }

    /// A struct of up to 6 fields: primitives, arrays, and up to two distinct nested structs
    /// (each used any number of times), which hold primitives only.
    fn layouts() -> impl Strategy<Value = L> {
        let prim_fields = || prop::collection::vec((field_name(), primitive(), count()), 1..5);
        let inners = prop::collection::vec(prim_fields(), 0..3).prop_map(|inners| {
            inners
                .into_iter()
                .enumerate()
                .map(|(i, fs)| {
                    pack(
                        format!("Inner{i}"),
                        fs.into_iter().map(|(n, p, c)| (n, K::P(p), c)).collect(),
                    )
                })
                .collect::<Vec<_>>()
        });
        let outer = prop::collection::vec(
            (
                field_name(),
                primitive(),
                any::<Index>(),
                any::<bool>(),
                count(),
            ),
            0..7,
        );
        (inners, outer).prop_map(|(inners, outer)| {
            let fields = outer
                .into_iter()
                .map(|(name, p, which, nested, count)| {
                    let kind = if nested && !inners.is_empty() {
                        K::S(Box::new(inners[which.index(inners.len())].clone()))
                    } else {
                        K::P(p)
                    };
                    (name, kind, count)
                })
                .collect();
            pack("Outer".to_string(), fields)
        })
    }

    /// One step of a mutation: what to change, where, and by how much (`delta` is never 0).
    type Step = (u8, Index, u64, Primitive);

    /// Applies the mutation `steps` to `l`; returns whether it changed the structure (true) or
    /// only a type name (false).
    fn mutate(l: &mut L, steps: &[Step]) -> bool {
        let Some(&(what, at, delta, p)) = steps.first() else {
            l.size ^= 1;
            return true;
        };
        let delta = delta as usize;
        if l.fields.is_empty() && what >= 3 {
            l.size = l.size.wrapping_add(delta);
            return true;
        }
        let n = l.fields.len();
        let i = if n == 0 { 0 } else { at.index(n) };
        match what {
            0 => l.size ^= delta,
            1 => l.align ^= delta,
            2 => {
                l.name.push('X');
                return false;
            }
            3 => l.fields[i].offset ^= delta,
            4 => l.fields[i].size ^= delta,
            5 => l.fields[i].count ^= delta,
            6 => l.fields[i].name.push('x'),
            7 => {
                let name = &mut l.fields[i].name;
                let last = name.pop().unwrap_or('a');
                name.push(if last == 'q' { 'r' } else { 'q' });
            }
            8 => {
                l.fields[i].kind = match &l.fields[i].kind {
                    K::P(old) if *old == p => K::P(if p == Primitive::U8 {
                        Primitive::I8
                    } else {
                        Primitive::U8
                    }),
                    K::P(_) | K::S(_) => K::P(p),
                }
            }
            9 => {
                l.fields.remove(i);
            }
            10 => {
                let copy = l.fields[i].clone();
                l.fields.insert(i, copy);
            }
            11 => l.fields.swap(i, (i + 1) % n),
            _ => {
                // Into the nested struct of the first struct field at or after `i`, if any.
                let nested = (0..n)
                    .map(|k| (i + k) % n)
                    .find(|&k| matches!(l.fields[k].kind, K::S(_)));
                match nested {
                    Some(k) => {
                        let K::S(inner) = &mut l.fields[k].kind else {
                            unreachable!("found as a struct field")
                        };
                        return mutate(inner, &steps[1..]);
                    }
                    None => l.fields[i].offset = l.fields[i].offset.wrapping_add(delta),
                }
            }
        }
        // Swapping a field with itself (one field) or with an identical one changes nothing.
        let j = (i + 1) % n.max(1);
        !(what == 11 && format!("{:?}", l.fields[i]) == format!("{:?}", l.fields[j]))
    }

    #[test]
    fn fingerprint_changes_with_every_structural_change_and_only_those() {
        let step = (0u8..13, any::<Index>(), 1u64..=u64::MAX, primitive());
        run(
            "layout::fingerprint_mutations",
            2000,
            (layouts(), prop::collection::vec(step, 1..4)),
            |(l, steps)| {
                let before = leak(&l).fingerprint();
                // The same structure, built again, hashes the same.
                prop_assert_eq!(leak(&l.clone()).fingerprint(), before);
                let mut m = l.clone();
                let structural = mutate(&mut m, &steps);
                let after = leak(&m).fingerprint();
                if structural {
                    prop_assert_ne!(after, before, "{:?} -> {:?}", l, m);
                } else {
                    prop_assert_eq!(after, before, "a type name is not part of it: {:?}", m);
                }
                Ok(())
            },
        );
    }

    /// `struct.calcsize` and the number of unpacked values of a Python format string with
    /// standard sizes, parsed independently of the code that writes it.
    fn calcsize(format: &str) -> std::result::Result<(usize, usize), String> {
        let mut chars = format.chars();
        if !matches!(chars.next(), Some('<' | '>')) {
            return Err(format!("{format:?}: no byte order"));
        }
        let (mut bytes, mut values, mut digits) = (0usize, 0usize, String::new());
        for c in chars {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let n: usize = if digits.is_empty() {
                1
            } else {
                digits.parse().map_err(|e| format!("{format:?}: {e}"))?
            };
            digits.clear();
            let size = match c {
                's' => {
                    bytes += n;
                    values += 1;
                    continue;
                }
                'b' | 'B' => 1,
                'h' | 'H' => 2,
                'i' | 'I' | 'f' => 4,
                'q' | 'Q' | 'd' => 8,
                other => return Err(format!("{format:?}: unexpected {other:?}")),
            };
            bytes += n * size;
            values += n;
        }
        if !digits.is_empty() {
            return Err(format!("{format:?}: trailing count"));
        }
        Ok((bytes, values))
    }

    fn flat_size(l: &L) -> usize {
        l.fields
            .iter()
            .map(|f| {
                f.count
                    * match &f.kind {
                        K::P(p) => p.size(),
                        K::S(inner) => flat_size(inner),
                    }
            })
            .sum()
    }

    fn value_count(l: &L) -> usize {
        l.fields
            .iter()
            .map(|f| match &f.kind {
                K::P(Primitive::U8) if f.count > 1 => 1,
                K::P(_) => f.count,
                K::S(inner) => f.count * value_count(inner),
            })
            .sum()
    }

    #[test]
    fn python_format_and_c_declaration_agree_with_the_layout() {
        run("layout::exports", 1500, layouts(), |l| {
            let layout = leak(&l);
            let format = layout.python_format();
            let (bytes, values) = calcsize(&format).map_err(TestCaseError::fail)?;
            prop_assert_eq!(bytes, flat_size(&l), "{}", format);
            prop_assert_eq!(bytes, layout.size, "{}", format);
            prop_assert_eq!(values, value_count(&l), "{}", format);
            prop_assert_eq!(layout.python_field_names().len(), values, "{}", format);

            let c = layout.c_declaration();
            prop_assert_eq!(c.matches('{').count(), c.matches('}').count());
            let mut structs = vec![&l];
            for f in &l.fields {
                if let K::S(inner) = &f.kind {
                    if !structs.iter().any(|s| s.name == inner.name) {
                        structs.push(inner);
                    }
                }
            }
            let outer_at = c.find("struct Outer {").unwrap_or(usize::MAX);
            for s in &structs {
                let open = format!("struct {} {{", s.name);
                prop_assert_eq!(c.matches(&open).count(), 1, "{} in\n{}", open, c);
                // Declared before the struct that uses it.
                prop_assert!(c.find(&open).unwrap_or(usize::MAX) <= outer_at, "{}", c);
                let size = format!("sizeof(struct {}) == {},", s.name, s.size);
                prop_assert!(c.contains(&size), "{} in\n{}", size, c);
                let asserts = format!("_Static_assert(offsetof(struct {}, ", s.name);
                prop_assert_eq!(c.matches(&asserts).count(), s.fields.len(), "{}", c);
                for f in &s.fields {
                    let member = if f.name.starts_with(|c: char| c.is_ascii_digit()) {
                        format!("f{}", f.name)
                    } else {
                        f.name.clone()
                    };
                    let line = format!("{asserts}{member}) == {}, ", f.offset);
                    prop_assert!(c.contains(&line), "{} in\n{}", line, c);
                }
            }
            Ok(())
        });
    }
}
