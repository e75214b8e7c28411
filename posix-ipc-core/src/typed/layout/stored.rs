//! Stored layouts: [`LayoutDesc`], a [`Layout`] as owned data that a segment can carry as bytes
//! beside its samples, read back from untrusted bytes, and used to decode a sample's bytes field
//! by field, so that a tool with only the segment (a `topic echo`, a recorder, a Python or C
//! program) decodes samples without the Rust type. The byte format, for peers that write it, is
//! documented on [`LayoutDesc`].

use std::collections::HashSet;
use std::fmt::{self, Write as _};

use super::{fnv_bytes, fnv_u64, Kind, Layout, Primitive, FNV_OFFSET};

/// The magic bytes that start a stored layout ([`LayoutDesc::encode`]).
pub const LAYOUT_DESC_MAGIC: [u8; 8] = *b"PIPCLAYO";

/// The version of the stored layout format [`LayoutDesc::encode`] writes and
/// [`LayoutDesc::decode`] reads.
pub const LAYOUT_DESC_VERSION: u32 = 1;

/// How deep [`LayoutDesc::decode`] lets structs nest: a field of the stored struct is at depth
/// 1, a field of one of its nested structs at depth 2, and so on.
pub const LAYOUT_DESC_MAX_DEPTH: usize = 16;

/// How many fields [`LayoutDesc::decode`] accepts in all, counted over the struct and every
/// nested struct as stored (a nested struct used twice counts twice).
pub const LAYOUT_DESC_MAX_FIELDS: usize = 65_536;

/// The largest struct [`LayoutDesc::decode`] accepts, in bytes: 1 GiB, the largest record a
/// segment holds ([`RECORD_SIZE_MAX`](crate::typed::RECORD_SIZE_MAX)).
pub const LAYOUT_DESC_MAX_SIZE: u64 = 1 << 30;

/// The element tag of a nested struct in the stored format.
const STRUCT_TAG: u8 = 0xff;

/// The layout of an `#[derive(IpcMessage)]` struct as owned data: what [`Layout`] says, in a
/// form that can be written to bytes ([`encode`](Self::encode)), read back from bytes another
/// process wrote ([`decode`](Self::decode)), and used to decode samples without the Rust type
/// ([`decode_sample`](Self::decode_sample), [`format_sample_text`](Self::format_sample_text),
/// [`format_sample_json`](Self::format_sample_json)).
///
/// ```
/// use posix_ipc::typed::{bytemuck, LayoutDesc};
/// use posix_ipc::IpcMessage;
///
/// #[derive(Clone, Copy, IpcMessage)]
/// #[repr(C)]
/// struct Point {
///     x: f32,
///     y: f32,
/// }
///
/// #[derive(Clone, Copy, IpcMessage)]
/// #[repr(C)]
/// struct Scan {
///     seq: u64,
///     points: [Point; 2],
///     intensity: [u8; 8],
/// }
///
/// // The writer stores the layout's bytes beside its samples...
/// let stored = LayoutDesc::from(&Scan::LAYOUT).encode();
///
/// // ...and a reader without the Rust type reads them back and decodes a sample.
/// let layout = LayoutDesc::decode(&stored)?;
/// assert!(layout.check_fingerprint(Scan::FINGERPRINT));
/// let scan = Scan {
///     seq: 7,
///     points: [Point { x: 1.0, y: 2.0 }, Point { x: 3.0, y: 4.5 }],
///     intensity: [1, 2, 3, 4, 5, 6, 7, 8],
/// };
/// let sample = bytemuck::bytes_of(&scan);
/// assert_eq!(
///     layout.format_sample_text(sample),
///     "seq: 7\n\
///      points[0]:\n  x: 1.0\n  y: 2.0\n\
///      points[1]:\n  x: 3.0\n  y: 4.5\n\
///      intensity: [1, 2, 3, 4, 5, 6, 7, 8]\n"
/// );
/// assert_eq!(
///     layout.format_sample_json(sample),
///     r#"{"seq":7,"points":[{"x":1.0,"y":2.0},{"x":3.0,"y":4.5}],"intensity":[1,2,3,4,5,6,7,8]}"#
/// );
/// # Ok::<(), posix_ipc::typed::LayoutError>(())
/// ```
///
/// # Format (version 1)
///
/// All integers are little-endian, whatever the machine (the *samples* are in the machine's
/// own byte order: a segment is machine-local). A stored layout is a header followed by one
/// `layout` record:
///
/// | bytes | type | content |
/// |---|---|---|
/// | 8 | `[u8; 8]` | magic [`LAYOUT_DESC_MAGIC`], `PIPCLAYO` |
/// | 4 | `u32` | format version [`LAYOUT_DESC_VERSION`], 1; a reader refuses other versions |
/// | … | `layout` | the message struct, below |
///
/// A `layout` record (a struct), recursively:
///
/// | bytes | type | content |
/// |---|---|---|
/// | 2 | `u16` | length *n* of the type name, 1 to 65535 |
/// | *n* | UTF-8 | the type name (informative: not part of the fingerprint) |
/// | 8 | `u64` | size in bytes (`sizeof`), 1 to [`LAYOUT_DESC_MAX_SIZE`] |
/// | 8 | `u64` | alignment (`alignof`), a power of two dividing the size |
/// | 4 | `u32` | number of fields *m* |
/// | … | `field` × *m* | the fields in declaration order (which is offset order) |
///
/// A `field` record:
///
/// | bytes | type | content |
/// |---|---|---|
/// | 2 | `u16` | length *k* of the field name, 1 to 65535 |
/// | *k* | UTF-8 | the field name (`"0"`, `"1"`, … for tuple structs) |
/// | 8 | `u64` | offset in the struct |
/// | 8 | `u64` | size in bytes: *count* × the element's size |
/// | 8 | `u64` | *count*, the number of elements (1 for a scalar; arrays are flattened, so `[[u16; 4]; 3]` is 12 `u16`) |
/// | 1 | `u8` | element tag: a primitive code (table below), or `0xFF` for a nested struct |
/// | … | `layout` | only after tag `0xFF`: the nested struct's `layout` record |
///
/// Element tags (the codes [`Layout::fingerprint`] hashes, [`Primitive::code`]):
///
/// | tag | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 0xFF |
/// |---|---|---|---|---|---|---|---|---|---|---|---|---|---|
/// | element | `u8` | `i8` | `u16` | `i16` | `u32` | `i32` | `u64` | `i64` | `u128` | `i128` | `f32` | `f64` | struct |
///
/// A nested struct is written in full at each field that uses it. The layout of
/// `struct Pair { a: u32, b: [u8; 4] }` is, after the 12 header bytes,
/// `04 00 'P' 'a' 'i' 'r'`, size `08 00 00 00 00 00 00 00`, align `04 00 … 00`, `02 00 00 00`
/// fields, then `01 00 'a'`, offset 0, size 4, count 1, tag `05`, then `01 00 'b'`, offset 4,
/// size 4, count 4, tag `01`.
///
/// The bytes do not record their own length: a segment that stores them records it beside
/// them, and [`decode`](Self::decode) takes exactly the stored bytes.
///
/// # Reading untrusted bytes
///
/// [`LayoutDesc::decode`] never panics and accepts exactly the bytes [`LayoutDesc::encode`]
/// writes for a sound layout: nothing may follow the layout, structs have 1 to
/// [`LAYOUT_DESC_MAX_SIZE`] bytes, nest at most [`LAYOUT_DESC_MAX_DEPTH`] deep and hold at most
/// [`LAYOUT_DESC_MAX_FIELDS`] fields in all,
/// names are non-empty UTF-8 without control characters and unique within their struct, and
/// every field lies inside its struct, after the previous one, with
/// size = count × element size. Every [`Layout`] of an `#[derive(IpcMessage)]` type passes.
/// A peer checks that the layout is the one it expects with
/// [`check_fingerprint`](LayoutDesc::check_fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutDesc {
    /// The type name (informative: not part of the fingerprint).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Alignment in bytes.
    pub align: u64,
    /// The fields in declaration order (which is offset order).
    pub fields: Vec<FieldDesc>,
}

/// One field of a [`LayoutDesc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDesc {
    /// Field name (`"0"`, `"1"`, ... for tuple structs).
    pub name: String,
    /// Byte offset in the struct.
    pub offset: u64,
    /// Size in bytes: `count` × the element's size.
    pub size: u64,
    /// Number of elements (1 for a scalar; arrays are flattened, so `[[u16; 4]; 3]` is 12).
    pub count: u64,
    /// What each element is.
    pub element: ElementDesc,
}

/// What one element of a [`FieldDesc`] is: a primitive number or a nested struct.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElementDesc {
    /// A primitive number.
    Primitive(Primitive),
    /// A nested message struct.
    Struct(Box<LayoutDesc>),
}

impl ElementDesc {
    /// The element's size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            ElementDesc::Primitive(p) => p.size() as u64,
            ElementDesc::Struct(inner) => inner.size,
        }
    }
}

impl From<&Layout> for LayoutDesc {
    /// The owned form of a layout, with its nested structs (`LayoutDesc::from(&T::LAYOUT)` for
    /// an `IpcMessage` type `T`).
    fn from(layout: &Layout) -> LayoutDesc {
        LayoutDesc {
            name: layout.name.to_string(),
            size: layout.size as u64,
            align: layout.align as u64,
            fields: layout
                .fields
                .iter()
                .map(|f| FieldDesc {
                    name: f.name.to_string(),
                    offset: f.offset as u64,
                    size: f.size as u64,
                    count: f.shape.count as u64,
                    element: match f.shape.kind {
                        Kind::Primitive(p) => ElementDesc::Primitive(p),
                        Kind::Struct(inner) => ElementDesc::Struct(Box::new(inner.into())),
                    },
                })
                .collect(),
        }
    }
}

/// What is wrong with bytes that [`LayoutDesc::decode`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutErrorKind {
    /// The bytes end inside the layout.
    Truncated,
    /// The bytes do not start with [`LAYOUT_DESC_MAGIC`]: not a stored layout.
    NotALayout,
    /// A format version this build does not read (a newer writer, or corruption).
    UnsupportedVersion,
    /// A value that no sound layout has: an unknown element tag, an empty or duplicate name, a
    /// field outside its struct, a size that is not count × element size, ...
    Invalid,
    /// Beyond a limit: [`LAYOUT_DESC_MAX_DEPTH`], [`LAYOUT_DESC_MAX_FIELDS`] or
    /// [`LAYOUT_DESC_MAX_SIZE`].
    TooLarge,
    /// Bytes after the end of the layout.
    TrailingBytes,
}

/// Why [`LayoutDesc::decode`] refused some bytes: what is wrong, and at which byte offset of
/// the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    kind: LayoutErrorKind,
    offset: usize,
    message: String,
}

impl LayoutError {
    fn new(kind: LayoutErrorKind, offset: usize, message: impl Into<String>) -> LayoutError {
        LayoutError {
            kind,
            offset,
            message: message.into(),
        }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> LayoutErrorKind {
        self.kind
    }

    /// The byte offset in the input where the offending item starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong, in words (the [`Display`](fmt::Display) form without the offset).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid stored layout at byte {}: {}",
            self.offset, self.message
        )
    }
}

impl std::error::Error for LayoutError {}

/// One value of a sample, as [`LayoutDesc::decode_sample`] reads it (in the machine's byte
/// order).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// An unsigned integer (`u8` to `u128`).
    U(u128),
    /// A signed integer (`i8` to `i128`).
    I(i128),
    /// A float (`f32` widened exactly, or `f64`).
    F(f64),
    /// A byte array (`[u8; N]`, N ≠ 1).
    Bytes(Vec<u8>),
    /// An array of another primitive, one value per element.
    Array(Vec<Value>),
    /// Beyond the end of the sample's bytes: the sample is shorter than the layout.
    Missing,
}

impl LayoutDesc {
    /// A stable 64-bit fingerprint of the layout, equal to [`Layout::fingerprint`] of the
    /// layout it was made from (and so to `IpcMessage::FINGERPRINT`): FNV-1a over the size,
    /// alignment and every field's name, offset, size, element kind and count, recursively.
    /// The type names are not part of it.
    pub fn fingerprint(&self) -> u64 {
        self.hash_into(FNV_OFFSET)
    }

    fn hash_into(&self, mut h: u64) -> u64 {
        h = fnv_u64(h, self.size);
        h = fnv_u64(h, self.align);
        h = fnv_u64(h, self.fields.len() as u64);
        for f in &self.fields {
            h = fnv_bytes(h, f.name.as_bytes());
            h = fnv_u64(h, f.offset);
            h = fnv_u64(h, f.size);
            h = fnv_u64(h, f.count);
            h = match &f.element {
                ElementDesc::Primitive(p) => fnv_u64(h, u64::from(p.code())),
                ElementDesc::Struct(inner) => inner.hash_into(fnv_u64(h, u64::from(STRUCT_TAG))),
            };
        }
        h
    }

    /// Whether this is the layout with fingerprint `expected` (a type's
    /// `IpcMessage::FINGERPRINT`, or the fingerprint a segment header records).
    pub fn check_fingerprint(&self, expected: u64) -> bool {
        self.fingerprint() == expected
    }

    /// The layout as bytes in the stored format (see the [format](LayoutDesc#format-version-1)): magic, format
    /// version, then the struct and its nested structs.
    ///
    /// A name longer than 65535 bytes is cut to the last whole character within that length.
    /// A layout [`decode`](Self::decode) would refuse (an empty name, a field outside its
    /// struct, ...) is written as it is, and its bytes are refused when read.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&LAYOUT_DESC_MAGIC);
        out.extend_from_slice(&LAYOUT_DESC_VERSION.to_le_bytes());
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        put_name(out, &self.name);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.align.to_le_bytes());
        let count = u32::try_from(self.fields.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_le_bytes());
        for f in self.fields.iter().take(count as usize) {
            put_name(out, &f.name);
            out.extend_from_slice(&f.offset.to_le_bytes());
            out.extend_from_slice(&f.size.to_le_bytes());
            out.extend_from_slice(&f.count.to_le_bytes());
            match &f.element {
                ElementDesc::Primitive(p) => out.push(p.code()),
                ElementDesc::Struct(inner) => {
                    out.push(STRUCT_TAG);
                    inner.encode_into(out);
                }
            }
        }
    }

    /// Reads a stored layout from bytes another process wrote, checking everything (see
    /// [Reading untrusted bytes](LayoutDesc#reading-untrusted-bytes)). Never panics; its work and
    /// memory are bounded by the length of `bytes`.
    ///
    /// # Errors
    ///
    /// [`LayoutError`], whose [`kind`](LayoutError::kind) is
    ///
    /// | kind | when |
    /// |---|---|
    /// | [`Truncated`](LayoutErrorKind::Truncated) | the bytes end inside the layout |
    /// | [`NotALayout`](LayoutErrorKind::NotALayout) | no [`LAYOUT_DESC_MAGIC`] at the start |
    /// | [`UnsupportedVersion`](LayoutErrorKind::UnsupportedVersion) | a format version other than [`LAYOUT_DESC_VERSION`] |
    /// | [`Invalid`](LayoutErrorKind::Invalid) | a value no sound layout has |
    /// | [`TooLarge`](LayoutErrorKind::TooLarge) | nesting, field count or size beyond the limits |
    /// | [`TrailingBytes`](LayoutErrorKind::TrailingBytes) | bytes after the layout |
    ///
    /// and whose [`offset`](LayoutError::offset) is where the offending item starts.
    pub fn decode(bytes: &[u8]) -> Result<LayoutDesc, LayoutError> {
        let mut r = Reader {
            bytes,
            pos: 0,
            fields: 0,
        };
        let magic = r.take(LAYOUT_DESC_MAGIC.len(), "the magic")?;
        if magic != LAYOUT_DESC_MAGIC {
            return Err(LayoutError::new(
                LayoutErrorKind::NotALayout,
                0,
                format!(
                    "the bytes start with {magic:02x?}, not the magic {:?}: not a stored layout",
                    String::from_utf8_lossy(&LAYOUT_DESC_MAGIC)
                ),
            ));
        }
        let at = r.pos;
        let version = r.u32("the format version")?;
        if version != LAYOUT_DESC_VERSION {
            return Err(LayoutError::new(
                LayoutErrorKind::UnsupportedVersion,
                at,
                format!(
                    "format version {version}, but this build reads version \
                     {LAYOUT_DESC_VERSION} only: update it to read layouts of a newer writer"
                ),
            ));
        }
        let layout = r.layout(0)?;
        if r.pos != bytes.len() {
            return Err(LayoutError::new(
                LayoutErrorKind::TrailingBytes,
                r.pos,
                format!("{} bytes after the end of the layout", bytes.len() - r.pos),
            ));
        }
        Ok(layout)
    }

    /// Decodes one sample's bytes (in the machine's byte order) into its leaf values, each with
    /// its path: `seq`, `pose.x` for a field of a nested struct, `points[3].x` for a field of an
    /// element of an array of structs. An array of primitives is one [`Value::Array`] (or
    /// [`Value::Bytes`] for `[u8; N]`).
    ///
    /// Bytes beyond the layout's size are ignored. If `bytes` is shorter than the layout, what
    /// fits is decoded and the rest is [`Value::Missing`]: a primitive field (or array of
    /// primitives) that is not wholly inside `bytes`; a nested struct that starts at or
    /// beyond the end, as one entry under the field's path; and the elements of an array of
    /// structs from the first one that starts at or beyond the end, as one entry
    /// `points[3..8]`. Never panics.
    pub fn decode_sample(&self, bytes: &[u8]) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        flatten(decode_fields(self, bytes, 0), "", &mut out);
        out
    }

    /// A sample as text: one `name: value` line per field, the fields of a nested struct
    /// indented by two spaces under a `name:` line (`name[i]:` for each element of an array of
    /// structs). Arrays, also of bytes, are written `[1, 2, 3]`; floats as Rust writes them
    /// (`1.0`, `NaN`, `inf`); what is beyond a short sample as `<missing>` (see
    /// [`decode_sample`](Self::decode_sample)).
    pub fn format_sample_text(&self, bytes: &[u8]) -> String {
        let mut out = String::new();
        text_fields(&decode_fields(self, bytes, 0), 0, &mut out);
        out
    }

    /// A sample as one line of JSON: an object of the fields, nested structs as objects,
    /// arrays (also of bytes) as arrays, arrays of structs as arrays of objects. 128-bit
    /// integers are strings (JSON readers lose digits beyond 2⁵³), and so are the floats JSON
    /// has no number for: `"NaN"`, `"Infinity"`, `"-Infinity"`. What is beyond a short sample
    /// is `null`; for an array of structs, one `null` after the elements that are there stands
    /// for all the missing ones.
    pub fn format_sample_json(&self, bytes: &[u8]) -> String {
        let mut out = String::new();
        json_fields(&decode_fields(self, bytes, 0), &mut out);
        out
    }
}

/// Writes a `u16`-length-prefixed name, cut to 65535 bytes at a character boundary.
fn put_name(out: &mut Vec<u8>, name: &str) {
    let mut end = name.len().min(usize::from(u16::MAX));
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let len = u16::try_from(end).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&name.as_bytes()[..end]);
}

/// A cursor over untrusted bytes that never reads past their end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Fields read so far, over all structs.
    fields: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], LayoutError> {
        let left = self.bytes.len() - self.pos;
        if n > left {
            return Err(LayoutError::new(
                LayoutErrorKind::Truncated,
                self.pos,
                format!("the bytes end inside {what} ({n} bytes needed, {left} left)"),
            ));
        }
        let taken = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], LayoutError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Result<u8, LayoutError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, LayoutError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, LayoutError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A `u16`-length-prefixed name: non-empty UTF-8 without control characters.
    fn name(&mut self, what: &str) -> Result<String, LayoutError> {
        let at = self.pos;
        let len = u16::from_le_bytes(self.array(what)?);
        if len == 0 {
            return Err(LayoutError::new(
                LayoutErrorKind::Invalid,
                at,
                format!("{what} is empty"),
            ));
        }
        let raw = self.take(usize::from(len), what)?;
        let name = std::str::from_utf8(raw).map_err(|e| {
            LayoutError::new(
                LayoutErrorKind::Invalid,
                at + 2 + e.valid_up_to(),
                format!("{what} is not UTF-8"),
            )
        })?;
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            return Err(LayoutError::new(
                LayoutErrorKind::Invalid,
                at,
                format!("{what} {name:?} contains the control character {c:?}"),
            ));
        }
        Ok(name.to_string())
    }

    /// One `layout` record whose fields are at nesting depth `depth + 1`.
    fn layout(&mut self, depth: usize) -> Result<LayoutDesc, LayoutError> {
        let invalid = |at, message: String| LayoutError::new(LayoutErrorKind::Invalid, at, message);
        let too_large =
            |at, message: String| LayoutError::new(LayoutErrorKind::TooLarge, at, message);

        let name = self.name("a type name")?;
        let what = format!("struct {name}");
        let at = self.pos;
        let size = self.u64(&what)?;
        if size == 0 {
            return Err(invalid(
                at,
                format!("struct {name} has size 0: a message struct has at least one byte"),
            ));
        }
        if size > LAYOUT_DESC_MAX_SIZE {
            return Err(too_large(
                at,
                format!(
                    "struct {name} has size {size}, more than the limit of \
                     {LAYOUT_DESC_MAX_SIZE} bytes"
                ),
            ));
        }
        let at = self.pos;
        let align = self.u64(&what)?;
        if !align.is_power_of_two() || size % align != 0 {
            return Err(invalid(
                at,
                format!(
                    "struct {name} has alignment {align}, which is not a power of two dividing \
                     its size {size}"
                ),
            ));
        }
        let at = self.pos;
        let count = self.u32(&what)?;
        let total = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_add(self.fields))
            .filter(|&t| t <= LAYOUT_DESC_MAX_FIELDS);
        let Some(total) = total else {
            return Err(too_large(
                at,
                format!(
                    "struct {name} has {count} fields, which with the {} before it exceeds the \
                     limit of {LAYOUT_DESC_MAX_FIELDS} fields in all",
                    self.fields
                ),
            ));
        };
        self.fields = total;

        // Not `with_capacity(count)`: the count is untrusted; the vector grows only with
        // fields actually read.
        let mut fields = Vec::new();
        let mut names = HashSet::new();
        let mut end_of_previous = 0u64;
        for _ in 0..count {
            let start = self.pos;
            let fname = self.name(&format!("a field name of struct {name}"))?;
            if !names.insert(fname.clone()) {
                return Err(invalid(
                    start,
                    format!("struct {name} has two fields named {fname:?}"),
                ));
            }
            let what = format!("field {name}.{fname}");
            let offset_at = self.pos;
            let offset = self.u64(&what)?;
            let size_at = self.pos;
            let fsize = self.u64(&what)?;
            let count = self.u64(&what)?;
            let tag_at = self.pos;
            let tag = self.u8(&what)?;
            let element = if tag == STRUCT_TAG {
                if depth + 1 >= LAYOUT_DESC_MAX_DEPTH {
                    return Err(too_large(
                        tag_at,
                        format!("{what} is a struct nested more than {LAYOUT_DESC_MAX_DEPTH} deep"),
                    ));
                }
                ElementDesc::Struct(Box::new(self.layout(depth + 1)?))
            } else {
                match Primitive::from_code(tag) {
                    Some(p) => ElementDesc::Primitive(p),
                    None => {
                        return Err(invalid(
                            tag_at,
                            format!(
                                "{what} has the element tag {tag:#04x}, which is neither a \
                                 primitive code (1 to 12) nor 0xff (a struct)"
                            ),
                        ))
                    }
                }
            };
            let element_size = element.size();
            if count.checked_mul(element_size) != Some(fsize) {
                return Err(invalid(
                    size_at,
                    format!(
                        "{what} has size {fsize}, but {count} elements of {element_size} bytes \
                         make {}",
                        count
                            .checked_mul(element_size)
                            .map_or_else(|| "more than 2^64".to_string(), |s| s.to_string())
                    ),
                ));
            }
            match offset.checked_add(fsize) {
                Some(end) if end <= size => {
                    if offset < end_of_previous {
                        return Err(invalid(
                            offset_at,
                            format!(
                                "{what} at offset {offset} overlaps the field before it, which \
                                 ends at {end_of_previous} (fields are in offset order)"
                            ),
                        ));
                    }
                    end_of_previous = end;
                }
                _ => {
                    return Err(invalid(
                        offset_at,
                        format!(
                            "{what} at offset {offset} with size {fsize} does not lie inside \
                             the struct's {size} bytes"
                        ),
                    ))
                }
            }
            fields.push(FieldDesc {
                name: fname,
                offset,
                size: fsize,
                count,
                element,
            });
        }
        Ok(LayoutDesc {
            name,
            size,
            align,
            fields,
        })
    }
}

/// The decoded fields of one struct, by name.
type Fields<'a> = Vec<(&'a str, Node<'a>)>;

/// One decoded field of a sample.
enum Node<'a> {
    /// A primitive or an array of primitives (or [`Value::Missing`]).
    Value(Primitive, Value),
    /// A nested struct; `None` if it starts at or beyond the end of the bytes.
    Struct(Option<Fields<'a>>),
    /// An array of structs: the elements that start inside the bytes, and the declared count.
    Structs(Vec<Fields<'a>>, u64),
}

/// Whether a struct of `size` bytes at `start` has any of its bytes among `len` bytes (a
/// zero-sized one: whether it is not beyond them).
fn starts_inside(start: u64, size: u64, len: u64) -> bool {
    start < len || (size == 0 && start <= len)
}

fn decode_fields<'a>(layout: &'a LayoutDesc, bytes: &[u8], base: u64) -> Fields<'a> {
    layout
        .fields
        .iter()
        .map(|f| (f.name.as_str(), decode_field(f, bytes, base)))
        .collect()
}

fn decode_field<'a>(f: &'a FieldDesc, bytes: &[u8], base: u64) -> Node<'a> {
    let len = bytes.len() as u64;
    let start = base.checked_add(f.offset);
    match &f.element {
        ElementDesc::Primitive(p) => Node::Value(*p, primitive_value(*p, f.count, bytes, start)),
        ElementDesc::Struct(inner) if f.count == 1 => Node::Struct(
            start
                .filter(|&s| starts_inside(s, inner.size, len))
                .map(|s| decode_fields(inner, bytes, s)),
        ),
        ElementDesc::Struct(inner) => {
            let mut elements = Vec::new();
            // At most `len + 1` elements start inside the bytes unless they are zero-sized
            // (which no sound layout has): the bound keeps the work proportional to the bytes.
            let mut i = 0u64;
            while i < f.count && i <= len {
                let element = i
                    .checked_mul(inner.size)
                    .and_then(|o| start?.checked_add(o))
                    .filter(|&s| starts_inside(s, inner.size, len));
                let Some(element) = element else { break };
                elements.push(decode_fields(inner, bytes, element));
                i += 1;
            }
            Node::Structs(elements, f.count)
        }
    }
}

/// `count` elements of `p` at `start`, or [`Value::Missing`] unless all are inside `bytes`.
fn primitive_value(p: Primitive, count: u64, bytes: &[u8], start: Option<u64>) -> Value {
    let size = p.size();
    let range = start.and_then(|s| {
        let s = usize::try_from(s).ok()?;
        let n = usize::try_from(count).ok()?.checked_mul(size)?;
        Some(s..s.checked_add(n)?)
    });
    let Some(raw) = range.and_then(|r| bytes.get(r)) else {
        return Value::Missing;
    };
    match (p, count) {
        (_, 1) => scalar(p, raw),
        (Primitive::U8, _) => Value::Bytes(raw.to_vec()),
        _ => Value::Array(raw.chunks_exact(size).map(|c| scalar(p, c)).collect()),
    }
}

/// The value of one `p` in `raw` (native byte order); `Missing` if `raw` is not `p`'s size.
fn scalar(p: Primitive, raw: &[u8]) -> Value {
    fn ne<const N: usize>(raw: &[u8]) -> Option<[u8; N]> {
        raw.try_into().ok()
    }
    let value = match p {
        Primitive::U8 => ne(raw).map(|b| Value::U(u8::from_ne_bytes(b).into())),
        Primitive::I8 => ne(raw).map(|b| Value::I(i8::from_ne_bytes(b).into())),
        Primitive::U16 => ne(raw).map(|b| Value::U(u16::from_ne_bytes(b).into())),
        Primitive::I16 => ne(raw).map(|b| Value::I(i16::from_ne_bytes(b).into())),
        Primitive::U32 => ne(raw).map(|b| Value::U(u32::from_ne_bytes(b).into())),
        Primitive::I32 => ne(raw).map(|b| Value::I(i32::from_ne_bytes(b).into())),
        Primitive::U64 => ne(raw).map(|b| Value::U(u64::from_ne_bytes(b).into())),
        Primitive::I64 => ne(raw).map(|b| Value::I(i64::from_ne_bytes(b).into())),
        Primitive::U128 => ne(raw).map(|b| Value::U(u128::from_ne_bytes(b))),
        Primitive::I128 => ne(raw).map(|b| Value::I(i128::from_ne_bytes(b))),
        Primitive::F32 => ne(raw).map(|b| Value::F(f32::from_ne_bytes(b).into())),
        Primitive::F64 => ne(raw).map(|b| Value::F(f64::from_ne_bytes(b))),
    };
    value.unwrap_or(Value::Missing)
}

fn flatten(fields: Fields<'_>, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (name, node) in fields {
        let path = format!("{prefix}{name}");
        match node {
            Node::Value(_, v) => out.push((path, v)),
            Node::Struct(Some(inner)) => flatten(inner, &format!("{path}."), out),
            Node::Struct(None) => out.push((path, Value::Missing)),
            Node::Structs(elements, count) => {
                let present = elements.len();
                for (i, inner) in elements.into_iter().enumerate() {
                    flatten(inner, &format!("{path}[{i}]."), out);
                }
                if (present as u64) < count {
                    out.push((format!("{path}[{present}..{count}]"), Value::Missing));
                }
            }
        }
    }
}

fn text_fields(fields: &Fields<'_>, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for (name, node) in fields {
        match node {
            Node::Value(p, v) => {
                let _ = write!(out, "{pad}{name}: ");
                text_value(*p, v, out);
                out.push('\n');
            }
            Node::Struct(Some(inner)) => {
                let _ = writeln!(out, "{pad}{name}:");
                text_fields(inner, depth + 1, out);
            }
            Node::Struct(None) => {
                let _ = writeln!(out, "{pad}{name}: <missing>");
            }
            Node::Structs(elements, 0) if elements.is_empty() => {
                let _ = writeln!(out, "{pad}{name}: []");
            }
            Node::Structs(elements, count) => {
                for (i, inner) in elements.iter().enumerate() {
                    let _ = writeln!(out, "{pad}{name}[{i}]:");
                    text_fields(inner, depth + 1, out);
                }
                if (elements.len() as u64) < *count {
                    let _ = writeln!(out, "{pad}{name}[{}..{count}]: <missing>", elements.len());
                }
            }
        }
    }
}

fn text_value(p: Primitive, v: &Value, out: &mut String) {
    let _ = match v {
        Value::U(x) => write!(out, "{x}"),
        Value::I(x) => write!(out, "{x}"),
        // An `f32` widened to `f64` narrows back exactly, and prints as short as `f32` can.
        Value::F(x) if p == Primitive::F32 => write!(out, "{:?}", *x as f32),
        Value::F(x) => write!(out, "{x:?}"),
        Value::Bytes(b) => write!(out, "{b:?}"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                text_value(p, item, out);
            }
            out.push(']');
            Ok(())
        }
        Value::Missing => write!(out, "<missing>"),
    };
}

fn json_fields(fields: &Fields<'_>, out: &mut String) {
    out.push('{');
    for (i, (name, node)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(name, out);
        out.push(':');
        match node {
            Node::Value(p, v) => json_value(*p, v, out),
            Node::Struct(Some(inner)) => json_fields(inner, out),
            Node::Struct(None) => out.push_str("null"),
            Node::Structs(elements, count) => {
                out.push('[');
                for (i, inner) in elements.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json_fields(inner, out);
                }
                if (elements.len() as u64) < *count {
                    if !elements.is_empty() {
                        out.push(',');
                    }
                    out.push_str("null");
                }
                out.push(']');
            }
        }
    }
    out.push('}');
}

fn json_value(p: Primitive, v: &Value, out: &mut String) {
    let wide = matches!(p, Primitive::U128 | Primitive::I128);
    let _ = match v {
        Value::U(x) if wide => write!(out, "\"{x}\""),
        Value::I(x) if wide => write!(out, "\"{x}\""),
        Value::U(x) => write!(out, "{x}"),
        Value::I(x) => write!(out, "{x}"),
        Value::F(x) if x.is_nan() => write!(out, "\"NaN\""),
        Value::F(x) if x.is_infinite() && *x > 0.0 => write!(out, "\"Infinity\""),
        Value::F(x) if x.is_infinite() => write!(out, "\"-Infinity\""),
        // Rust's `Debug` of a finite float is a JSON number: `1.0`, `-0.0`, `1e-7`, `1e300`.
        Value::F(x) if p == Primitive::F32 => write!(out, "{:?}", *x as f32),
        Value::F(x) => write!(out, "{x:?}"),
        Value::Bytes(b) => {
            out.push('[');
            for (i, byte) in b.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{byte}");
            }
            out.push(']');
            Ok(())
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(p, item, out);
            }
            out.push(']');
            Ok(())
        }
        Value::Missing => write!(out, "null"),
    };
}

/// `s` as a JSON string literal.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
