use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(crate = posix_ipc)]
struct Reading {
    seq: u64,
}

fn main() {}
