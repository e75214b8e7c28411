use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(priority = 1)]
#[ipc(priority = 2)]
struct Reading {
    seq: u64,
}

fn main() {}
