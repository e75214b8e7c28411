use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Widths {
    a: u128,
    b: i128,
    c: u64,
    d: i64,
    e: f64,
    f: u32,
    g: i32,
    h: f32,
    i: u16,
    j: i16,
    k: u8,
    l: i8,
    pad: [u8; 6],
}

fn main() {
    assert_eq!(Widths::LAYOUT.size, 80);
    assert_eq!(Widths::python_format(), "<16s16sQqdIifHhBb6s");
}
