use posix_ipc::IpcMessage;

#[derive(Clone, Copy)]
#[repr(C)]
struct Inner {
    x: u32,
}

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Outer {
    inner: Inner,
}

fn main() {}
