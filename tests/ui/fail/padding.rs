use posix_ipc::IpcMessage;

// 1 byte, then 7 bytes of padding before the u64.
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Reading {
    flag: u8,
    seq: u64,
}

fn main() {}
