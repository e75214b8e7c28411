use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Nothing {}

fn main() {}
