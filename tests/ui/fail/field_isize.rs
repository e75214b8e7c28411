use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Offset {
    delta: isize,
}

fn main() {}
