use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Handle {
    ptr: *const u8,
}

fn main() {}
