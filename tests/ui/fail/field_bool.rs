use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Reading {
    seq: u64,
    valid: bool,
}

fn main() {}
