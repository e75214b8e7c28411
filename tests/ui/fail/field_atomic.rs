use posix_ipc::IpcMessage;
use std::sync::atomic::AtomicU32;

#[derive(IpcMessage)]
#[repr(C)]
struct Counter {
    count: AtomicU32,
}

fn main() {}
