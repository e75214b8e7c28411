use posix_ipc::IpcMessage;

// 12 bytes of fields, rounded up to 16 by the u64's alignment.
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Reading {
    seq: u64,
    sensor: u32,
}

fn main() {}
