//! Stored layouts: the byte format, decoding untrusted bytes, and decoding samples.

use proptest::prelude::*;
use proptest::sample::Index;

use super::super::randomised::PRIMITIVES;
use super::super::{Field, Kind, Layout, Primitive, Shape};
use super::*;
use crate::proptest_run::run;

/// Types made by the real derive. The derive names `::posix_ipc`, the facade this crate's tests
/// depend on, which links its own build of this crate: these types implement *its*
/// `IpcMessage`, so their layouts reach this build as the stored bytes (exactly how a tool
/// receives them) or are compared by value.
mod derived {
    #![allow(dead_code, reason = "the fields are read as bytes, never by name")]

    use posix_ipc::IpcMessage;

    #[derive(Clone, Copy, IpcMessage)]
    #[repr(C)]
    pub struct Pose {
        pub x: f64,
        pub y: f64,
        pub yaw: f32,
        pub flags: u16,
        pub id: i16,
    }

    #[derive(Clone, Copy, IpcMessage)]
    #[repr(C)]
    pub struct Msg {
        pub stamp: u64,
        pub pose: Pose,
        pub hist: [[u16; 2]; 2],
        pub poses: [Pose; 3],
        pub raw: [u8; 8],
        pub neg: [i32; 2],
    }

    #[derive(Clone, Copy, IpcMessage)]
    #[repr(C)]
    pub struct Wide {
        pub a: u128,
        pub b: i128,
        pub c: [f64; 4],
    }

    pub fn msg() -> Msg {
        let pose = |k: f64| Pose {
            x: k,
            y: -k,
            yaw: 0.5,
            flags: 7,
            id: -3,
        };
        Msg {
            stamp: 42,
            pose: pose(1.0),
            hist: [[1, 2], [3, 4]],
            poses: [pose(10.0), pose(20.0), pose(30.0)],
            raw: [0, 1, 2, 3, 250, 251, 252, 255],
            neg: [-1, i32::MIN],
        }
    }

    /// The stored bytes of `Msg`'s layout, written by the facade's build of this module.
    pub fn msg_stored() -> Vec<u8> {
        posix_ipc::typed::LayoutDesc::from(&Msg::LAYOUT).encode()
    }

    pub fn msg_bytes() -> Vec<u8> {
        posix_ipc::typed::bytemuck::bytes_of(&msg()).to_vec()
    }
}

use posix_ipc::IpcMessage as _;

fn prim(name: &str, offset: u64, p: Primitive, count: u64) -> FieldDesc {
    FieldDesc {
        name: name.to_string(),
        offset,
        size: p.size() as u64 * count,
        count,
        element: ElementDesc::Primitive(p),
    }
}

fn nested(name: &str, offset: u64, inner: &LayoutDesc, count: u64) -> FieldDesc {
    FieldDesc {
        name: name.to_string(),
        offset,
        size: inner.size * count,
        count,
        element: ElementDesc::Struct(Box::new(inner.clone())),
    }
}

fn desc(name: &str, size: u64, align: u64, fields: Vec<FieldDesc>) -> LayoutDesc {
    LayoutDesc {
        name: name.to_string(),
        size,
        align,
        fields,
    }
}

/// `derived::Pose` and `derived::Msg`, written out by hand.
fn pose_desc() -> LayoutDesc {
    desc(
        "Pose",
        24,
        8,
        vec![
            prim("x", 0, Primitive::F64, 1),
            prim("y", 8, Primitive::F64, 1),
            prim("yaw", 16, Primitive::F32, 1),
            prim("flags", 20, Primitive::U16, 1),
            prim("id", 22, Primitive::I16, 1),
        ],
    )
}

fn msg_desc() -> LayoutDesc {
    let pose = pose_desc();
    desc(
        "Msg",
        128,
        8,
        vec![
            prim("stamp", 0, Primitive::U64, 1),
            nested("pose", 8, &pose, 1),
            prim("hist", 32, Primitive::U16, 4),
            nested("poses", 40, &pose, 3),
            prim("raw", 112, Primitive::U8, 8),
            prim("neg", 120, Primitive::I32, 2),
        ],
    )
}

const fn field(name: &'static str, offset: usize, kind: Kind, elem: usize, count: usize) -> Field {
    Field {
        name,
        offset,
        size: elem * count,
        shape: Shape { kind, count },
    }
}

/// `derived::Pose` and `derived::Msg` as static [`Layout`]s, as the derive writes them.
const POSE: Layout = Layout {
    name: "Pose",
    size: 24,
    align: 8,
    fields: &[
        field("x", 0, Kind::Primitive(Primitive::F64), 8, 1),
        field("y", 8, Kind::Primitive(Primitive::F64), 8, 1),
        field("yaw", 16, Kind::Primitive(Primitive::F32), 4, 1),
        field("flags", 20, Kind::Primitive(Primitive::U16), 2, 1),
        field("id", 22, Kind::Primitive(Primitive::I16), 2, 1),
    ],
};

const MSG: Layout = Layout {
    name: "Msg",
    size: 128,
    align: 8,
    fields: &[
        field("stamp", 0, Kind::Primitive(Primitive::U64), 8, 1),
        field("pose", 8, Kind::Struct(&POSE), 24, 1),
        field("hist", 32, Kind::Primitive(Primitive::U16), 2, 4),
        field("poses", 40, Kind::Struct(&POSE), 24, 3),
        field("raw", 112, Kind::Primitive(Primitive::U8), 1, 8),
        field("neg", 120, Kind::Primitive(Primitive::I32), 4, 2),
    ],
};

fn decode_err(bytes: &[u8]) -> LayoutError {
    match LayoutDesc::decode(bytes) {
        Ok(d) => panic!("decoded {d:?} from {bytes:02x?}"),
        Err(e) => e,
    }
}

/// The stored bytes of `d` with `edit` applied to them.
fn edited(d: &LayoutDesc, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = d.encode();
    edit(&mut bytes);
    bytes
}

/// A struct of one `u8` field named `name`.
fn one_byte(name: &str) -> LayoutDesc {
    desc("One", 1, 1, vec![prim(name, 0, Primitive::U8, 1)])
}

// ---- Primitive codes and fingerprints ----

#[test]
fn primitive_codes_are_one_to_twelve_in_variant_order_and_read_back() {
    let all = PRIMITIVES;
    for (i, p) in all.into_iter().enumerate() {
        assert_eq!(usize::from(p.code()), i + 1, "{p:?}");
        // The code fingerprints have always hashed.
        assert_eq!(p.code(), p as u8 + 1, "{p:?}");
        assert_eq!(Primitive::from_code(p.code()), Some(p));
    }
    for code in [0, 13, 0x7f, 0xfe, 0xff] {
        assert_eq!(Primitive::from_code(code), None, "{code}");
    }
}

#[test]
fn converted_layout_is_the_derived_layout_written_out() {
    assert_eq!(LayoutDesc::from(&MSG), msg_desc());
    // The facade's build of the derive gives the same value, field by field.
    let derived = posix_ipc::typed::LayoutDesc::from(&derived::Msg::LAYOUT);
    assert_eq!(format!("{derived:?}"), format!("{:?}", msg_desc()));
}

#[test]
fn fingerprint_equals_the_derived_types_fingerprint() {
    assert_eq!(msg_desc().fingerprint(), MSG.fingerprint());
    assert_eq!(msg_desc().fingerprint(), derived::Msg::FINGERPRINT);
    assert_eq!(pose_desc().fingerprint(), derived::Pose::FINGERPRINT);
    let wide =
        LayoutDesc::decode(&posix_ipc::typed::LayoutDesc::from(&derived::Wide::LAYOUT).encode())
            .expect("a derived layout decodes");
    assert_eq!(wide.fingerprint(), derived::Wide::FINGERPRINT);
    assert!(wide.check_fingerprint(derived::Wide::FINGERPRINT));
    assert!(!wide.check_fingerprint(derived::Msg::FINGERPRINT));
}

#[test]
fn fingerprint_ignores_type_names_and_sees_a_field_name() {
    let mut renamed = msg_desc();
    renamed.name = "Other".to_string();
    let ElementDesc::Struct(inner) = &mut renamed.fields[1].element else {
        unreachable!("field 1 is the nested pose")
    };
    inner.name = "Elsewhere".to_string();
    assert_eq!(renamed.fingerprint(), MSG.fingerprint());
    renamed.fields[0].name = "stamq".to_string();
    assert_ne!(renamed.fingerprint(), MSG.fingerprint());
}

// ---- The byte format ----

#[test]
fn encoding_is_the_documented_format() {
    let pair = desc(
        "Pair",
        8,
        4,
        vec![
            prim("a", 0, Primitive::U32, 1),
            prim("b", 4, Primitive::U8, 4),
        ],
    );
    let mut expected = b"PIPCLAYO".to_vec();
    expected.extend_from_slice(&[1, 0, 0, 0]);
    expected.extend_from_slice(&[4, 0, b'P', b'a', b'i', b'r']);
    expected.extend_from_slice(&8u64.to_le_bytes());
    expected.extend_from_slice(&4u64.to_le_bytes());
    expected.extend_from_slice(&2u32.to_le_bytes());
    for (name, offset, size, count, tag) in [(b'a', 0u64, 4u64, 1u64, 5u8), (b'b', 4, 4, 4, 1)] {
        expected.extend_from_slice(&[1, 0, name]);
        expected.extend_from_slice(&offset.to_le_bytes());
        expected.extend_from_slice(&size.to_le_bytes());
        expected.extend_from_slice(&count.to_le_bytes());
        expected.push(tag);
    }
    assert_eq!(pair.encode(), expected);
}

#[test]
fn nested_struct_follows_its_field_after_tag_ff() {
    let bytes = msg_desc().encode();
    // Header, "Msg", size, align, count, then field "stamp" (2 + 5 + 3 × 8 + tag), then
    // field "pose" up to its tag.
    let pose_tag = 12 + (2 + 3) + 8 + 8 + 4 + (2 + 5 + 24 + 1) + (2 + 4 + 24);
    assert_eq!(bytes[pose_tag], 0xff);
    assert_eq!(
        &bytes[pose_tag + 1..pose_tag + 7],
        &[4, 0, b'P', b'o', b's', b'e']
    );
}

#[test]
fn derived_nested_layout_with_arrays_round_trips_through_bytes() {
    let stored = derived::msg_stored();
    let decoded = LayoutDesc::decode(&stored).expect("a derived layout decodes");
    assert_eq!(decoded, msg_desc());
    assert_eq!(decoded.encode(), stored);
    assert_eq!(decoded.fingerprint(), derived::Msg::FINGERPRINT);
}

// ---- Untrusted bytes ----

#[test]
fn every_strict_prefix_is_truncated() {
    let stored = derived::msg_stored();
    for len in 0..stored.len() {
        let e = decode_err(&stored[..len]);
        assert_eq!(e.kind(), LayoutErrorKind::Truncated, "{len}: {e}");
        assert!(e.offset() <= len, "{len}: {e}");
    }
}

#[test]
fn bytes_after_the_layout_are_refused() {
    let mut stored = derived::msg_stored();
    let end = stored.len();
    stored.push(0);
    let e = decode_err(&stored);
    assert_eq!(e.kind(), LayoutErrorKind::TrailingBytes);
    assert_eq!(e.offset(), end);
}

#[test]
fn bytes_without_the_magic_are_not_a_layout() {
    let e = decode_err(b"PIPCSHM\0\x01\x00\x00\x00rest of a segment");
    assert_eq!(e.kind(), LayoutErrorKind::NotALayout);
    assert_eq!(e.offset(), 0);
    let garbage: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
    assert_eq!(decode_err(&garbage).kind(), LayoutErrorKind::NotALayout);
}

#[test]
fn another_format_version_is_unsupported_and_says_which() {
    let bytes = edited(&msg_desc(), |b| b[8] = 2);
    let e = decode_err(&bytes);
    assert_eq!(e.kind(), LayoutErrorKind::UnsupportedVersion);
    assert_eq!(e.offset(), 8);
    assert!(e.to_string().contains("format version 2"), "{e}");
}

#[test]
fn error_display_names_the_byte_offset_and_the_problem() {
    let bytes = edited(&one_byte("v"), |b| *b.last_mut().expect("a tag") = 0x20);
    let e = decode_err(&bytes);
    let tag_at = bytes.len() - 1;
    assert_eq!(e.kind(), LayoutErrorKind::Invalid);
    assert_eq!(e.offset(), tag_at);
    assert_eq!(
        e.to_string(),
        format!(
            "invalid stored layout at byte {tag_at}: field One.v has the element tag 0x20, which \
             is neither a primitive code (1 to 12) nor 0xff (a struct)"
        )
    );
}

/// The stored bytes of a chain of `levels` structs `L`, each of one field `n` holding the
/// next; the last field is a `u8`.
fn chain(levels: usize) -> Vec<u8> {
    let mut b = LAYOUT_DESC_MAGIC.to_vec();
    b.extend_from_slice(&LAYOUT_DESC_VERSION.to_le_bytes());
    for level in 1..=levels {
        b.extend_from_slice(&[1, 0, b'L']);
        b.extend_from_slice(&1u64.to_le_bytes()); // size
        b.extend_from_slice(&1u64.to_le_bytes()); // align
        b.extend_from_slice(&1u32.to_le_bytes()); // fields
        b.extend_from_slice(&[1, 0, b'n']);
        b.extend_from_slice(&0u64.to_le_bytes()); // offset
        b.extend_from_slice(&1u64.to_le_bytes()); // size
        b.extend_from_slice(&1u64.to_le_bytes()); // count
        b.push(if level == levels {
            Primitive::U8.code()
        } else {
            0xff
        });
    }
    b
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let mut d = LayoutDesc::decode(&chain(LAYOUT_DESC_MAX_DEPTH)).expect("at the limit");
    let mut levels = 1;
    while let ElementDesc::Struct(inner) = &d.fields[0].element {
        d = (**inner).clone();
        levels += 1;
    }
    assert_eq!(levels, LAYOUT_DESC_MAX_DEPTH);

    let e = decode_err(&chain(LAYOUT_DESC_MAX_DEPTH + 1));
    assert_eq!(e.kind(), LayoutErrorKind::TooLarge, "{e}");
    // Where the 17th struct would start: its field's tag in the 16th.
    assert_eq!(e.offset(), 12 + LAYOUT_DESC_MAX_DEPTH * 51 - 1);
    // A far deeper chain is refused as quickly, without recursing through it.
    assert_eq!(
        decode_err(&chain(1_000_000)).kind(),
        LayoutErrorKind::TooLarge
    );
}

#[test]
fn huge_field_counts_are_refused_before_reading_fields() {
    let count_at = 12 + 2 + 3 + 8 + 8;
    for count in [u32::MAX, LAYOUT_DESC_MAX_FIELDS as u32 + 1] {
        let bytes = edited(&one_byte("v"), |b| {
            b[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes())
        });
        let e = decode_err(&bytes);
        assert_eq!(e.kind(), LayoutErrorKind::TooLarge, "{count}: {e}");
        assert_eq!(e.offset(), count_at);
    }
    // At the limit, the count is believed only as far as the bytes go.
    let bytes = edited(&one_byte("v"), |b| {
        b[count_at..count_at + 4].copy_from_slice(&(LAYOUT_DESC_MAX_FIELDS as u32).to_le_bytes())
    });
    assert_eq!(decode_err(&bytes).kind(), LayoutErrorKind::Truncated);
}

#[test]
fn field_count_limit_covers_nested_structs() {
    let many: Vec<FieldDesc> = (0..LAYOUT_DESC_MAX_FIELDS as u64)
        .map(|i| prim(&format!("f{i}"), i, Primitive::U8, 1))
        .collect();
    let big = desc("Big", LAYOUT_DESC_MAX_FIELDS as u64, 1, many);
    assert!(LayoutDesc::decode(&big.encode()).is_ok());
    // One more field, in the outer struct, is over the limit.
    let outer = desc(
        "Outer",
        big.size + 1,
        1,
        vec![
            nested("big", 0, &big, 1),
            prim("extra", big.size, Primitive::U8, 1),
        ],
    );
    assert_eq!(
        decode_err(&outer.encode()).kind(),
        LayoutErrorKind::TooLarge
    );
}

#[test]
fn fields_outside_their_struct_are_refused() {
    let mut d = one_byte("v");
    d.fields[0].offset = 1;
    let e = decode_err(&d.encode());
    assert_eq!(e.kind(), LayoutErrorKind::Invalid);
    assert!(e.message().contains("does not lie inside"), "{e}");

    let mut d = one_byte("v");
    d.fields[0].offset = u64::MAX;
    assert_eq!(decode_err(&d.encode()).kind(), LayoutErrorKind::Invalid);
}

#[test]
fn field_size_must_be_count_times_element_size() {
    let mut d = msg_desc();
    d.fields[2].size += 1;
    let e = decode_err(&d.encode());
    assert_eq!(e.kind(), LayoutErrorKind::Invalid);
    assert!(e.message().contains("field Msg.hist has size 9"), "{e}");

    // A count so large that count × size overflows.
    let mut d = desc("Big", 8, 8, vec![prim("v", 0, Primitive::U64, 1)]);
    d.fields[0].count = 1 << 62;
    let e = decode_err(&d.encode());
    assert_eq!(e.kind(), LayoutErrorKind::Invalid);
    assert!(e.message().contains("more than 2^64"), "{e}");

    let mut d = one_byte("v");
    d.fields[0].count = u64::MAX;
    assert_eq!(decode_err(&d.encode()).kind(), LayoutErrorKind::Invalid);
}

#[test]
fn overlapping_or_unordered_fields_are_refused() {
    let mut d = msg_desc();
    d.fields.swap(4, 5);
    let e = decode_err(&d.encode());
    assert_eq!(e.kind(), LayoutErrorKind::Invalid);
    assert!(e.message().contains("overlaps"), "{e}");
}

#[test]
fn names_must_be_non_empty_unique_utf8_without_control_characters() {
    for bad in ["", "a\nb", "\u{1b}[31m"] {
        let e = decode_err(&one_byte(bad).encode());
        assert_eq!(e.kind(), LayoutErrorKind::Invalid, "{bad:?}: {e}");
    }
    let mut d = desc("", 1, 1, vec![prim("v", 0, Primitive::U8, 1)]);
    assert_eq!(decode_err(&d.encode()).kind(), LayoutErrorKind::Invalid);
    d.name = "Named".to_string();
    assert!(LayoutDesc::decode(&d.encode()).is_ok());

    let twice = desc(
        "Twice",
        2,
        1,
        vec![
            prim("v", 0, Primitive::U8, 1),
            prim("v", 1, Primitive::U8, 1),
        ],
    );
    let e = decode_err(&twice.encode());
    assert!(e.message().contains("two fields named \"v\""), "{e}");

    // Bytes that are not UTF-8 in the type name ("One" at offset 14).
    let bytes = edited(&one_byte("v"), |b| b[15] = 0xff);
    let e = decode_err(&bytes);
    assert_eq!(e.kind(), LayoutErrorKind::Invalid);
    assert_eq!(e.offset(), 15);
    // Non-ASCII names are fine.
    assert!(LayoutDesc::decode(&one_byte("größe").encode()).is_ok());
}

#[test]
fn struct_size_and_alignment_are_checked() {
    let mut d = one_byte("v");
    d.size = 0;
    d.fields.clear();
    assert_eq!(decode_err(&d.encode()).kind(), LayoutErrorKind::Invalid);

    let mut d = one_byte("v");
    d.size = LAYOUT_DESC_MAX_SIZE + 1;
    assert_eq!(decode_err(&d.encode()).kind(), LayoutErrorKind::TooLarge);

    for (size, align) in [(3, 3), (4, 0), (6, 4)] {
        let mut d = one_byte("v");
        d.size = size;
        d.align = align;
        let e = decode_err(&d.encode());
        assert_eq!(e.kind(), LayoutErrorKind::Invalid, "{size}/{align}: {e}");
    }
}

#[test]
fn long_names_are_cut_at_a_character_boundary() {
    let long = "é".repeat(40_000); // 80 000 bytes
    let d = one_byte(&long);
    let decoded = LayoutDesc::decode(&d.encode()).expect("a cut name still decodes");
    assert_eq!(decoded.fields[0].name, "é".repeat(32_767));
}

/// Random layouts, written as the derive lays structs out: packed fields, nested structs up to
/// three deep, arrays (also of length 0).
fn layouts() -> impl Strategy<Value = LayoutDesc> {
    let primitive = prop::sample::select(PRIMITIVES.to_vec());
    let count = prop_oneof![4 => Just(1u64), 2 => 2u64..6, 1 => Just(0u64)];
    let leaf = prop::collection::vec((primitive, count.clone()), 1..5).prop_map(|fields| {
        pack(
            "Leaf",
            fields.into_iter().map(|(p, c)| (None, p, c)).collect(),
        )
    });
    leaf.prop_recursive(3, 24, 4, move |inner| {
        let primitive = prop::sample::select(vec![Primitive::U32, Primitive::F64, Primitive::I8]);
        prop::collection::vec((prop::option::of(inner), primitive, count.clone()), 1..5)
            .prop_map(|fields| pack("Node", fields))
    })
}

/// A packed struct of `fields` named `f0`, `f1`, ...; the first is always a scalar, so the
/// struct is never empty.
fn pack(name: &str, fields: Vec<(Option<LayoutDesc>, Primitive, u64)>) -> LayoutDesc {
    let (mut offset, mut align) = (0u64, 1u64);
    let fields = fields
        .into_iter()
        .enumerate()
        .map(|(i, (inner, p, count))| {
            let count = if i == 0 { 1 } else { count };
            let f = match inner {
                Some(inner) => {
                    align = align.max(inner.align);
                    nested(&format!("f{i}"), offset, &inner, count)
                }
                None => {
                    align = align.max(p.size() as u64);
                    prim(&format!("f{i}"), offset, p, count)
                }
            };
            offset += f.size;
            f
        })
        .collect();
    let size = offset.div_ceil(align) * align;
    desc(name, size, align, fields)
}

/// The `&'static Layout` of `d` (tests only: it leaks).
fn leak(d: &LayoutDesc) -> &'static Layout {
    let fields: Vec<Field> = d
        .fields
        .iter()
        .map(|f| Field {
            name: Box::leak(f.name.clone().into_boxed_str()),
            offset: f.offset as usize,
            size: f.size as usize,
            shape: Shape {
                kind: match &f.element {
                    ElementDesc::Primitive(p) => Kind::Primitive(*p),
                    ElementDesc::Struct(inner) => Kind::Struct(leak(inner)),
                },
                count: f.count as usize,
            },
        })
        .collect();
    Box::leak(Box::new(Layout {
        name: Box::leak(d.name.clone().into_boxed_str()),
        size: d.size as usize,
        align: d.align as usize,
        fields: Box::leak(fields.into_boxed_slice()),
    }))
}

#[test]
fn random_layouts_round_trip_and_keep_their_fingerprint() {
    run("stored::round_trip", 1000, layouts(), |d| {
        let layout = leak(&d);
        prop_assert_eq!(&LayoutDesc::from(layout), &d);
        prop_assert_eq!(d.fingerprint(), layout.fingerprint());
        let bytes = d.encode();
        let back = LayoutDesc::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &d);
        prop_assert_eq!(back.fingerprint(), layout.fingerprint());
        Ok(())
    });
}

/// One edit of stored bytes: what, where, and a value.
type Edit = (u8, Index, u64);

fn apply(bytes: &mut Vec<u8>, (what, at, value): Edit) {
    let at = at.index(bytes.len().max(1)).min(bytes.len());
    let interesting = [
        0,
        1,
        2,
        0xff,
        0xffff,
        1 << 30,
        (1 << 30) + 1,
        u64::MAX,
        value,
    ];
    let word = interesting[(value % interesting.len() as u64) as usize];
    match what % 9 {
        0 => {
            if let Some(b) = bytes.get_mut(at) {
                *b = value as u8;
            }
        }
        1 => bytes.truncate(at),
        2 => bytes.insert(at, value as u8),
        3 => {
            if at < bytes.len() {
                bytes.remove(at);
            }
        }
        4 => {
            // A u64 (a size, offset or count) set to an interesting value.
            for (k, b) in word.to_le_bytes().into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + k) {
                    *slot = b;
                }
            }
        }
        5 => {
            // A u16 (a name length) or u32 (a field count).
            for (k, b) in (word as u32)
                .to_le_bytes()
                .into_iter()
                .enumerate()
                .take(2 + (value % 2) as usize * 2)
            {
                if let Some(slot) = bytes.get_mut(at + k) {
                    *slot = b;
                }
            }
        }
        6 => {
            // A letter: inside a name, a sound layout with another name.
            if let Some(b) = bytes.get_mut(at) {
                *b = b'a' + (value % 26) as u8;
            }
        }
        7 => {
            // The next primitive code of 4 or 8 bytes swapped for another of its size (sound if
            // it is an element tag).
            let swap = |b: u8| match b {
                5 => Some(11),
                11 => Some(6),
                6 => Some(5),
                7 => Some(12),
                12 => Some(8),
                8 => Some(7),
                _ => None,
            };
            if let Some(i) = (at..bytes.len()).find(|&i| swap(bytes[i]).is_some()) {
                bytes[i] = swap(bytes[i]).unwrap_or(bytes[i]);
            }
        }
        _ => {
            // A range copied elsewhere (a field or struct repeated).
            let len = (value % 64) as usize;
            let from = at.saturating_sub(len);
            let copy = bytes[from..at].to_vec();
            let to = (value as usize / 64) % (bytes.len() + 1);
            bytes.splice(to..to, copy);
        }
    }
}

#[test]
fn mutated_encodings_never_panic_and_what_decodes_is_canonical() {
    let seeds = [
        derived::msg_stored(),
        pose_desc().encode(),
        one_byte("v").encode(),
    ];
    let edit = (any::<u8>(), any::<Index>(), any::<u64>());
    let decoded = std::cell::Cell::new(0u32);
    run(
        "stored::mutations",
        3000,
        (
            0..seeds.len(),
            prop::collection::vec(edit, 1..4),
            prop::collection::vec(any::<u8>(), 0..160),
        ),
        |(seed, edits, sample)| {
            let mut bytes = seeds[seed].clone();
            for e in edits {
                apply(&mut bytes, e);
            }
            match LayoutDesc::decode(&bytes) {
                Ok(d) => {
                    decoded.set(decoded.get() + 1);
                    // Decoding is strict, so what it accepts is exactly what encoding writes.
                    prop_assert_eq!(d.encode(), bytes);
                    let _ = d.decode_sample(&sample);
                    let _ = d.format_sample_text(&sample);
                    let json = d.format_sample_json(&sample);
                    prop_assert!(json.starts_with('{') && json.ends_with('}'), "{}", json);
                }
                Err(e) => {
                    prop_assert!(e.offset() <= bytes.len(), "{} of {} bytes", e, bytes.len());
                }
            }
            Ok(())
        },
    );
    // Edits that keep a sound layout (a renamed field, a changed element type, ...) happen
    // too, so the canonical-form check above ran.
    assert!(
        decoded.get() > 30,
        "{} of 3000 edited encodings decoded",
        decoded.get()
    );
}

// ---- Samples ----

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn sample_decodes_to_dotted_paths_with_native_values() {
    let d = LayoutDesc::decode(&derived::msg_stored()).expect("decodes");
    let values = d.decode_sample(&derived::msg_bytes());
    let pose = |prefix: &str, k: f64| {
        vec![
            (format!("{prefix}x"), Value::F(k)),
            (format!("{prefix}y"), Value::F(-k)),
            (format!("{prefix}yaw"), Value::F(0.5)),
            (format!("{prefix}flags"), Value::U(7)),
            (format!("{prefix}id"), Value::I(-3)),
        ]
    };
    let mut expected = vec![(s("stamp"), Value::U(42))];
    expected.extend(pose("pose.", 1.0));
    expected.push((
        s("hist"),
        Value::Array(vec![Value::U(1), Value::U(2), Value::U(3), Value::U(4)]),
    ));
    expected.extend(pose("poses[0].", 10.0));
    expected.extend(pose("poses[1].", 20.0));
    expected.extend(pose("poses[2].", 30.0));
    expected.push((s("raw"), Value::Bytes(vec![0, 1, 2, 3, 250, 251, 252, 255])));
    expected.push((
        s("neg"),
        Value::Array(vec![Value::I(-1), Value::I(i32::MIN.into())]),
    ));
    assert_eq!(values, expected);
}

#[test]
fn sample_as_text_indents_nested_structs() {
    let d = msg_desc();
    let pose = |indent: &str, k: f64| {
        format!(
            "{indent}x: {k:?}\n{indent}y: {:?}\n{indent}yaw: 0.5\n{indent}flags: 7\n{indent}id: -3\n",
            -k
        )
    };
    let expected = format!(
        "stamp: 42\npose:\n{}hist: [1, 2, 3, 4]\nposes[0]:\n{}poses[1]:\n{}poses[2]:\n{}\
         raw: [0, 1, 2, 3, 250, 251, 252, 255]\nneg: [-1, -2147483648]\n",
        pose("  ", 1.0),
        pose("  ", 10.0),
        pose("  ", 20.0),
        pose("  ", 30.0),
    );
    assert_eq!(d.format_sample_text(&derived::msg_bytes()), expected);
}

#[test]
fn sample_as_json_has_objects_arrays_and_numbers() {
    let pose = |k: f64| format!(r#"{{"x":{k:?},"y":{:?},"yaw":0.5,"flags":7,"id":-3}}"#, -k);
    let expected = format!(
        r#"{{"stamp":42,"pose":{},"hist":[1,2,3,4],"poses":[{},{},{}],"raw":[0,1,2,3,250,251,252,255],"neg":[-1,-2147483648]}}"#,
        pose(1.0),
        pose(10.0),
        pose(20.0),
        pose(30.0)
    );
    assert_eq!(
        msg_desc().format_sample_json(&derived::msg_bytes()),
        expected
    );
}

#[test]
fn json_writes_128_bit_integers_and_non_finite_floats_as_strings() {
    let w = derived::Wide {
        a: u128::MAX,
        b: i128::MIN,
        c: [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0],
    };
    let d =
        LayoutDesc::decode(&posix_ipc::typed::LayoutDesc::from(&derived::Wide::LAYOUT).encode())
            .expect("a derived layout decodes");
    let bytes = posix_ipc::typed::bytemuck::bytes_of(&w);
    assert_eq!(
        d.format_sample_json(bytes),
        format!(
            r#"{{"a":"{}","b":"{}","c":["NaN","Infinity","-Infinity",-0.0]}}"#,
            u128::MAX,
            i128::MIN
        )
    );
    assert_eq!(
        d.format_sample_text(bytes),
        format!(
            "a: {}\nb: {}\nc: [NaN, inf, -inf, -0.0]\n",
            u128::MAX,
            i128::MIN
        )
    );
}

#[test]
fn f32_values_print_as_short_as_f32_allows() {
    let d = desc("F", 4, 4, vec![prim("v", 0, Primitive::F32, 1)]);
    let bytes = 0.1f32.to_ne_bytes();
    assert_eq!(d.format_sample_text(&bytes), "v: 0.1\n");
    assert_eq!(d.format_sample_json(&bytes), r#"{"v":0.1}"#);
    assert_eq!(
        d.decode_sample(&bytes),
        vec![(s("v"), Value::F(f64::from(0.1f32)))]
    );
}

#[test]
fn short_sample_decodes_what_fits_and_marks_the_rest_missing() {
    let d = msg_desc();
    let bytes = derived::msg_bytes();
    // Cut inside poses[0] (bytes 40..64), after its `yaw` (56..60).
    let values = d.decode_sample(&bytes[..60]);
    let tail: Vec<_> = values.iter().skip(6).cloned().collect();
    assert_eq!(
        tail,
        vec![
            (
                s("hist"),
                Value::Array(vec![Value::U(1), Value::U(2), Value::U(3), Value::U(4)])
            ),
            (s("poses[0].x"), Value::F(10.0)),
            (s("poses[0].y"), Value::F(-10.0)),
            (s("poses[0].yaw"), Value::F(0.5)),
            (s("poses[0].flags"), Value::Missing),
            (s("poses[0].id"), Value::Missing),
            (s("poses[1..3]"), Value::Missing),
            (s("raw"), Value::Missing),
            (s("neg"), Value::Missing),
        ]
    );
    assert!(d
        .format_sample_text(&bytes[..60])
        .ends_with("  id: <missing>\nposes[1..3]: <missing>\nraw: <missing>\nneg: <missing>\n"));
    assert!(d.format_sample_json(&bytes[..60]).ends_with(
        r#""poses":[{"x":10.0,"y":-10.0,"yaw":0.5,"flags":null,"id":null},null],"raw":null,"neg":null}"#
    ));
}

#[test]
fn empty_sample_is_all_missing_without_expanding_arrays() {
    let d = msg_desc();
    assert_eq!(
        d.decode_sample(&[]),
        vec![
            (s("stamp"), Value::Missing),
            (s("pose"), Value::Missing),
            (s("hist"), Value::Missing),
            (s("poses[0..3]"), Value::Missing),
            (s("raw"), Value::Missing),
            (s("neg"), Value::Missing),
        ]
    );
    assert_eq!(
        d.format_sample_json(&[]),
        r#"{"stamp":null,"pose":null,"hist":null,"poses":[null],"raw":null,"neg":null}"#
    );
    // A stored layout claiming a billion elements costs nothing to decode a short sample with.
    let inner = one_byte("v");
    let huge = desc("Huge", 1 << 30, 1, vec![nested("many", 0, &inner, 1 << 30)]);
    let huge = LayoutDesc::decode(&huge.encode()).expect("within the limits");
    assert_eq!(
        huge.decode_sample(&[9, 8]),
        vec![
            (s("many[0].v"), Value::U(9)),
            (s("many[1].v"), Value::U(8)),
            (s("many[2..1073741824]"), Value::Missing),
        ]
    );
}

#[test]
fn bytes_beyond_the_layout_are_ignored() {
    let d = one_byte("v");
    assert_eq!(d.decode_sample(&[5, 6, 7]), vec![(s("v"), Value::U(5))]);
}

#[test]
fn empty_arrays_decode_as_empty() {
    let inner = one_byte("v");
    let d = desc(
        "E",
        1,
        1,
        vec![
            prim("none", 0, Primitive::U32, 0),
            prim("no_bytes", 0, Primitive::U8, 0),
            nested("no_structs", 0, &inner, 0),
            prim("v", 0, Primitive::U8, 1),
        ],
    );
    assert!(LayoutDesc::decode(&d.encode()).is_ok());
    assert_eq!(
        d.format_sample_json(&[1]),
        r#"{"none":[],"no_bytes":[],"no_structs":[],"v":1}"#
    );
    assert_eq!(
        d.format_sample_text(&[1]),
        "none: []\nno_bytes: []\nno_structs: []\nv: 1\n"
    );
}

#[test]
fn json_escapes_names() {
    // Names a decoded layout may have (quotes, backslashes) and one only a hand-built layout
    // may have (a control character).
    let d = desc(
        "N",
        2,
        1,
        vec![
            prim("a\"b\\c", 0, Primitive::U8, 1),
            prim("d\u{1}é", 1, Primitive::I8, 1),
        ],
    );
    assert_eq!(
        d.format_sample_json(&[1, 0xff]),
        r#"{"a\"b\\c":1,"d\u0001é":-1}"#
    );
}
