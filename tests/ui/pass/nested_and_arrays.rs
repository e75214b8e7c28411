use posix_ipc::typed::{Kind, Primitive};
use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Point {
    x: f32,
    y: f32,
}

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(priority = 32767)]
struct Path {
    count: u32,
    flags: u32,
    points: [Point; 40],
    start: Point,
    grid: [[u16; 4]; 3],
}

// A full-size payload: [u8; 8192] needs bytemuck's min_const_generics, which the crate enables.
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Page {
    payload: [u8; 8192],
}

// Larger than 8192 with a declared size.
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(max_message_size = 65536)]
struct Frame {
    seq: u64,
    pixels: [u8; 65528],
}

#[derive(Clone, Copy, IpcMessage)]
#[repr(transparent)]
struct Id(u64);

#[derive(Clone, Copy, IpcMessage)]
#[repr(C, packed)]
struct Packed {
    tag: u8,
    value: u64,
}

fn main() {
    assert_eq!(Path::PRIORITY, 32767);
    assert_eq!(Path::LAYOUT.size, 8 + 40 * 8 + 8 + 24);
    assert!(matches!(Path::LAYOUT.fields[2].shape.kind, Kind::Struct(l) if l.name == "Point"));
    assert_eq!(Path::LAYOUT.fields[2].shape.count, 40);
    assert_eq!(Path::LAYOUT.fields[4].shape.count, 12);
    assert_eq!(Path::LAYOUT.fields[4].shape.kind, Kind::Primitive(Primitive::U16));
    assert_eq!(Page::LAYOUT.size, 8192);
    assert_eq!(Page::python_format(), "<8192s");
    assert_eq!(Frame::MAX_MESSAGE_SIZE, 65536);
    assert_eq!(Id::LAYOUT.fields[0].name, "0");
    assert_eq!(Packed::LAYOUT.size, 9);
}
