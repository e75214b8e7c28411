use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(priority = 40000)]
struct Reading {
    seq: u64,
}

fn main() {}
