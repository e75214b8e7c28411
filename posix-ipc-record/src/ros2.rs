//! ROS 2 message definitions (`ros2msg`) generated from a topic's stored layout, and the CDR
//! messages that carry its samples.
//!
//! # The schema
//!
//! Each field of the record type (or of a frame's header) becomes a field of the same name
//! (lower-cased, other characters than letters, digits and `_` replaced, as ROS 2 requires):
//! `u8`…`i64` become `uint8`…`int64`, `f32`/`f64` become `float32`/`float64`, an array
//! `[T; N]` (flattened if it has several dimensions) `T[N]`, and a nested struct a nested
//! message `posix_ipc/Name` defined after the root one. `u128` and `i128` have no ROS 2 type:
//! they become the messages `posix_ipc/U128` (`uint64 lo`, `uint64 hi`) and `posix_ipc/I128`
//! (`uint64 lo`, `int64 hi`), their little-endian halves. Bytes between fields (padding, in a
//! layout made from a numpy dtype) become `uint8[N] padding_OFFSET`, so that no byte is lost. A
//! frame topic's message is its header's fields (if it has a header) followed by
//! `uint8[] data`; a record topic without a stored layout has `uint8[SIZE] data`.
//!
//! # The message
//!
//! A message is the 4-byte encapsulation header of little-endian plain CDR (`00 01 00 00`),
//! then the fields in order, each number aligned to its size (at most 8) from the end of that
//! header. The record types of `#[derive(IpcMessage)]` have no padding and naturally aligned
//! fields, so a record's bytes are its CDR body as they are ([`Codec::verbatim`]). A layout
//! where that does not hold (a packed numpy dtype, a field at an offset that is not a multiple
//! of its size) is transcoded field by field, both ways. A frame's `data` is a `uint32` count,
//! aligned to 4, then the frame's bytes.

use std::collections::BTreeMap;

use posix_ipc_core::typed::{ElementDesc, LayoutDesc, Primitive};

/// The ROS 2 package of every generated type.
pub const PACKAGE: &str = "posix_ipc";

/// The encapsulation header of little-endian plain CDR.
pub const CDR_LE: [u8; 4] = [0, 1, 0, 0];

/// A number of the record, where it lies in the record and where it goes in the CDR body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    /// Offset in the record.
    at: usize,
    /// Its size (`u128`: two items of 8).
    size: usize,
    /// Its CDR alignment (1 for padding bytes, which are copied as they are).
    align: usize,
}

/// How the samples of one topic become CDR messages and back: its schema and the placement
/// of every number.
#[derive(Debug, Clone)]
pub struct Codec {
    /// The root message's name, `posix_ipc/msg/NAME` (the MCAP schema's name).
    pub schema_name: String,
    /// The `ros2msg` definitions: the root message, then each nested one.
    pub schema_text: String,
    /// The record's (frames: the header's) size in bytes.
    pub record_size: usize,
    /// Whether the topic carries frames (a `uint8[] data` after the header's fields).
    pub frames: bool,
    /// Whether the record's bytes are its CDR body as they are.
    pub verbatim: bool,
    items: Vec<Item>,
    /// The CDR body's length of the record part.
    cdr_size: usize,
}

fn align_up(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

fn ros_name(p: Primitive) -> &'static str {
    match p {
        Primitive::U8 => "uint8",
        Primitive::I8 => "int8",
        Primitive::U16 => "uint16",
        Primitive::I16 => "int16",
        Primitive::U32 => "uint32",
        Primitive::I32 => "int32",
        Primitive::U64 => "uint64",
        Primitive::I64 => "int64",
        Primitive::F32 => "float32",
        Primitive::F64 => "float64",
        Primitive::U128 => "posix_ipc/U128",
        Primitive::I128 => "posix_ipc/I128",
        // `Primitive` may grow; a new kind is carried as its bytes.
        _ => "uint8",
    }
}

/// A ROS 2 field name: lower case letters, digits and single underscores, starting with a
/// letter, not ending with an underscore.
pub fn field_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('_') {
        out.pop();
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert(0, 'f');
    }
    out
}

/// A ROS 2 message name: letters and digits, starting with a capital (the last part of a Rust
/// path, without generics).
pub fn type_name(name: &str) -> String {
    let base = name.split('<').next().unwrap_or(name);
    let base = base.rsplit("::").next().unwrap_or(base);
    let mut out = String::new();
    let mut upper = true;
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_uppercase()) {
        out.insert_str(0, "Record");
    }
    out
}

/// Builds the definitions: one message per struct, nested ones named once each.
struct Definitions {
    /// Nested message definitions by name, and the layouts they were made of.
    nested: BTreeMap<String, (String, LayoutDesc)>,
}

impl Definitions {
    /// The definition lines of `layout`'s fields, adding the items of its numbers (at `base`)
    /// to `items`.
    fn fields(&mut self, layout: &LayoutDesc, base: usize, items: &mut Vec<Item>) -> String {
        let mut text = String::new();
        let mut names: Vec<String> = Vec::new();
        let mut cursor = 0usize;
        let pad = |text: &mut String, items: &mut Vec<Item>, from: usize, to: usize| {
            if to > from {
                text.push_str(&format!("uint8[{}] padding_{from}\n", to - from));
                for i in from..to {
                    items.push(Item {
                        at: base + i,
                        size: 1,
                        align: 1,
                    });
                }
            }
        };
        for f in &layout.fields {
            let (offset, count) = (f.offset as usize, f.count as usize);
            pad(&mut text, items, cursor, offset);
            // Never taken for padding, and unique in its message.
            let mut base_name = field_name(&f.name);
            if base_name.starts_with("padding_") {
                base_name = format!("field_{base_name}");
            }
            let mut name = base_name.clone();
            let mut n = 2;
            while names.contains(&name) {
                name = format!("{base_name}_{n}");
                n += 1;
            }
            names.push(name.clone());
            let element_size = f.element.size() as usize;
            let ty = match &f.element {
                ElementDesc::Primitive(p) => {
                    for i in 0..count {
                        let at = base + offset + i * element_size;
                        match p.size() {
                            16 => {
                                items.push(Item {
                                    at,
                                    size: 8,
                                    align: 8,
                                });
                                items.push(Item {
                                    at: at + 8,
                                    size: 8,
                                    align: 8,
                                });
                            }
                            s if ros_name(*p) == "uint8" && s != 1 => {
                                for b in 0..s {
                                    items.push(Item {
                                        at: at + b,
                                        size: 1,
                                        align: 1,
                                    });
                                }
                            }
                            s => items.push(Item {
                                at,
                                size: s,
                                align: s.min(8),
                            }),
                        }
                    }
                    ros_name(*p).to_string()
                }
                ElementDesc::Struct(inner) => {
                    let ty = self.nested_name(inner);
                    for i in 0..count {
                        self.fields(inner, base + offset + i * element_size, items);
                    }
                    format!("{PACKAGE}/{ty}")
                }
                // `ElementDesc` may grow: carried as bytes.
                _ => {
                    for b in 0..f.size as usize {
                        items.push(Item {
                            at: base + offset + b,
                            size: 1,
                            align: 1,
                        });
                    }
                    text.push_str(&format!("uint8[{}] {name}\n", f.size));
                    cursor = offset + f.size as usize;
                    continue;
                }
            };
            if count == 1 {
                text.push_str(&format!("{ty} {name}\n"));
            } else {
                text.push_str(&format!("{ty}[{count}] {name}\n"));
            }
            cursor = offset + f.size as usize;
        }
        pad(&mut text, items, cursor, layout.size as usize);
        text
    }

    /// The name of a nested struct's message (defined once; two different structs of the same
    /// name get different names).
    fn nested_name(&mut self, inner: &LayoutDesc) -> String {
        let base = type_name(&inner.name);
        let mut name = base.clone();
        let mut n = 2;
        loop {
            match self.nested.get(&name) {
                Some((_, known)) if known == inner => return name,
                Some(_) => {
                    name = format!("{base}{n}");
                    n += 1;
                }
                None => break,
            }
        }
        // Reserve the name first (a struct may contain itself only through arrays of other
        // structs, never itself, so the recursion ends).
        self.nested
            .insert(name.clone(), (String::new(), inner.clone()));
        let text = self.fields(inner, 0, &mut Vec::new());
        self.nested.insert(name.clone(), (text, inner.clone()));
        name
    }
}

impl Codec {
    /// The codec of a topic: records of `layout` (`frames` false), or frames after a header of
    /// `layout` (`frames` true; `layout` `None` and `record_size` 0 for frames without a
    /// header). A record type without a stored layout is carried as `uint8[record_size]`.
    pub fn new(
        type_name_: &str,
        layout: Option<&LayoutDesc>,
        record_size: usize,
        frames: bool,
    ) -> Codec {
        let mut defs = Definitions {
            nested: BTreeMap::new(),
        };
        let mut items = Vec::new();
        let mut root = match layout {
            Some(l) => defs.fields(l, 0, &mut items),
            None if record_size > 0 => {
                items.extend((0..record_size).map(|at| Item {
                    at,
                    size: 1,
                    align: 1,
                }));
                format!(
                    "uint8[{record_size}] {}\n",
                    if frames { "header" } else { "data" }
                )
            }
            None => String::new(),
        };
        if frames {
            root.push_str("uint8[] data\n");
        }
        let mut text = root;
        let uses = |t: &str, ty: &str| {
            t.contains(&format!("{PACKAGE}/{ty} ")) || t.contains(&format!("{PACKAGE}/{ty}["))
        };
        let mut wide: Vec<(&str, &str)> = Vec::new();
        let all_text: String = std::iter::once(text.clone())
            .chain(defs.nested.values().map(|(t, _)| t.clone()))
            .collect();
        if uses(&all_text, "U128") {
            wide.push(("U128", "uint64 lo\nuint64 hi\n"));
        }
        if uses(&all_text, "I128") {
            wide.push(("I128", "uint64 lo\nint64 hi\n"));
        }
        for (name, (body, _)) in &defs.nested {
            text.push_str(&format!(
                "{}\nMSG: {PACKAGE}/{name}\n{body}",
                "=".repeat(80)
            ));
        }
        for (name, body) in wide {
            text.push_str(&format!(
                "{}\nMSG: {PACKAGE}/{name}\n{body}",
                "=".repeat(80)
            ));
        }
        let mut pos = 0;
        let mut verbatim = true;
        for it in &items {
            pos = align_up(pos, it.align);
            verbatim &= pos == it.at;
            pos += it.size;
        }
        verbatim &= pos == record_size;
        let root_name = match (layout, frames) {
            (Some(l), false) => type_name(&l.name),
            (Some(l), true) => format!("{}Frame", type_name(&l.name)),
            (None, false) => type_name(type_name_),
            (None, true) if record_size > 0 => format!("{}Frame", type_name(type_name_)),
            (None, true) => "Frame".to_string(),
        };
        Codec {
            schema_name: format!("{PACKAGE}/msg/{root_name}"),
            schema_text: text,
            record_size,
            frames,
            verbatim,
            items,
            cdr_size: pos,
        }
    }

    /// Appends the CDR message of a record (or a frame's header, then its bytes) to `out`.
    pub fn encode_into(&self, record: &[u8], frame: Option<&[u8]>, out: &mut Vec<u8>) {
        out.extend_from_slice(&CDR_LE);
        let body = out.len();
        if self.verbatim {
            out.extend_from_slice(&record[..self.record_size.min(record.len())]);
            out.resize(body + self.cdr_size, 0);
        } else {
            out.resize(body + self.cdr_size, 0);
            let mut pos = 0;
            for it in &self.items {
                pos = align_up(pos, it.align);
                if let Some(src) = record.get(it.at..it.at + it.size) {
                    out[body + pos..body + pos + it.size].copy_from_slice(src);
                }
                pos += it.size;
            }
        }
        if self.frames {
            let bytes = frame.unwrap_or(&[]);
            out.resize(body + align_up(self.cdr_size, 4), 0);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }

    /// The CDR message of a record (or a frame's header, then its bytes).
    pub fn encode(&self, record: &[u8], frame: Option<&[u8]>) -> Vec<u8> {
        let extra = frame.map_or(0, |f| f.len() + 8);
        let mut out = Vec::with_capacity(4 + self.cdr_size + extra);
        self.encode_into(record, frame, &mut out);
        out
    }

    /// The record (or header) bytes of a CDR message, and for frames where the frame's bytes
    /// are in it; why not, for a message that is not one of this codec's.
    pub fn decode(&self, message: &[u8]) -> Result<(Vec<u8>, std::ops::Range<usize>), String> {
        if message.len() < 4 || message[..4] != CDR_LE {
            return Err(format!(
                "not little-endian plain CDR (the message starts {:02x?}, not 00 01 00 00)",
                &message[..message.len().min(4)]
            ));
        }
        let body = &message[4..];
        if body.len() < self.cdr_size {
            return Err(format!(
                "{} bytes where the record takes {}",
                body.len(),
                self.cdr_size
            ));
        }
        let mut record = vec![0u8; self.record_size];
        if self.verbatim {
            record.copy_from_slice(&body[..self.record_size]);
        } else {
            let mut pos = 0;
            for it in &self.items {
                pos = align_up(pos, it.align);
                record[it.at..it.at + it.size].copy_from_slice(&body[pos..pos + it.size]);
                pos += it.size;
            }
        }
        if !self.frames {
            return Ok((record, 0..0));
        }
        let at = align_up(self.cdr_size, 4);
        let count = body
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| "the frame's length is missing".to_string())?;
        let start = 4 + at + 4;
        if message.len() < start + count {
            return Err(format!(
                "the frame says {count} bytes, {} are there",
                message.len().saturating_sub(start)
            ));
        }
        Ok((record, start..start + count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use posix_ipc_core::typed::FieldDesc;

    fn field(name: &str, offset: u64, count: u64, p: Primitive) -> FieldDesc {
        FieldDesc {
            name: name.to_string(),
            offset,
            size: count * p.size() as u64,
            count,
            element: ElementDesc::Primitive(p),
        }
    }

    #[test]
    fn a_packed_layout_is_transcoded_to_aligned_cdr_and_back() {
        // As a packed numpy dtype makes it: u8 at 0, u32 at 1, f64 at 5, then 3 bytes of
        // padding to 16.
        let layout = LayoutDesc {
            name: "my::Packed<T>".to_string(),
            size: 16,
            align: 1,
            fields: vec![
                field("Flag", 0, 1, Primitive::U8),
                field("count", 1, 1, Primitive::U32),
                field("value", 5, 1, Primitive::F64),
            ],
        };
        let codec = Codec::new("Packed", Some(&layout), 16, false);
        assert!(!codec.verbatim);
        assert_eq!(codec.schema_name, "posix_ipc/msg/Packed");
        assert_eq!(
            codec.schema_text,
            "uint8 flag\nuint32 count\nfloat64 value\nuint8[3] padding_13\n"
        );
        let mut record = vec![7u8];
        record.extend_from_slice(&0x0102_0304u32.to_le_bytes());
        record.extend_from_slice(&2.5f64.to_le_bytes());
        record.extend_from_slice(&[9, 8, 7]);
        let cdr = codec.encode(&record, None);
        let mut want = CDR_LE.to_vec();
        want.extend_from_slice(&[7, 0, 0, 0]);
        want.extend_from_slice(&0x0102_0304u32.to_le_bytes());
        want.extend_from_slice(&2.5f64.to_le_bytes());
        want.extend_from_slice(&[9, 8, 7]);
        assert_eq!(cdr, want);
        assert_eq!(codec.decode(&cdr).unwrap().0, record);
    }

    #[test]
    fn a_natural_layout_is_its_own_cdr_and_a_frame_follows_its_header() {
        let inner = LayoutDesc {
            name: "Point".to_string(),
            size: 8,
            align: 4,
            fields: vec![
                field("x", 0, 1, Primitive::F32),
                field("y", 4, 1, Primitive::F32),
            ],
        };
        let header = LayoutDesc {
            name: "Head".to_string(),
            size: 26,
            align: 8,
            fields: vec![
                field("stamp", 0, 1, Primitive::U64),
                FieldDesc {
                    name: "points".to_string(),
                    offset: 8,
                    size: 16,
                    count: 2,
                    element: ElementDesc::Struct(Box::new(inner)),
                },
                field("id", 24, 1, Primitive::U16),
            ],
        };
        let codec = Codec::new("Head", Some(&header), 26, true);
        assert!(codec.verbatim);
        assert_eq!(codec.schema_name, "posix_ipc/msg/HeadFrame");
        assert!(codec
            .schema_text
            .starts_with("uint64 stamp\nposix_ipc/Point[2] points\nuint16 id\nuint8[] data\n"));
        assert!(codec
            .schema_text
            .ends_with("MSG: posix_ipc/Point\nfloat32 x\nfloat32 y\n"));
        let record: Vec<u8> = (0..26).collect();
        let cdr = codec.encode(&record, Some(b"abc"));
        // The header's bytes, 2 bytes of alignment, the count, the bytes.
        let mut want = CDR_LE.to_vec();
        want.extend_from_slice(&record);
        want.extend_from_slice(&[0, 0, 3, 0, 0, 0]);
        want.extend_from_slice(b"abc");
        assert_eq!(cdr, want);
        let (head, range) = codec.decode(&cdr).unwrap();
        assert_eq!((head, &cdr[range]), (record, &b"abc"[..]));
        let e = codec.decode(&cdr[..cdr.len() - 1]).unwrap_err();
        assert!(e.contains("says 3 bytes, 2 are there"), "{e}");
        assert!(codec
            .decode(b"\x01\x00\x00\x00")
            .unwrap_err()
            .contains("not little-endian"));
    }

    #[test]
    fn names_are_made_valid_for_ros_2() {
        assert_eq!(field_name("0"), "f0");
        assert_eq!(field_name("Camera__ID_"), "camera_id");
        assert_eq!(type_name("crate::vision::Frame<u8>"), "Frame");
        assert_eq!(type_name("byte frames"), "ByteFrames");
        assert_eq!(type_name("_"), "Record");
    }
}
