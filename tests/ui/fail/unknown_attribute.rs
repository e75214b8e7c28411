use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(priorty = 3)]
struct Reading {
    seq: u64,
}

fn main() {}
