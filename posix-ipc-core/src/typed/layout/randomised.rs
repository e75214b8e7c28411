//! Property tests of layouts: fingerprints, Python formats and C declarations of random
//! structs.

use proptest::prelude::*;
use proptest::sample::Index;

use super::*;

use crate::proptest_run::run;

/// Every primitive, in the order of their codes (1 to 12); the stored-layout tests use it too.
pub(super) const PRIMITIVES: [Primitive; 12] = [
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
            let asserts = format!("static_assert(offsetof(struct {}, ", s.name);
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
