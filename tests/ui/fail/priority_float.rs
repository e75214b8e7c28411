use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(priority = 1.5)]
struct Reading {
    seq: u64,
}

fn main() {}
