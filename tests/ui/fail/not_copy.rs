use posix_ipc::IpcMessage;

#[derive(IpcMessage)]
#[repr(C)]
struct Reading {
    seq: u64,
}

fn main() {}
