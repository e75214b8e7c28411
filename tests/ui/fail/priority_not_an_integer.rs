use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(priority = "high")]
struct Reading {
    seq: u64,
}

fn main() {}
