use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Nothing {
    empty: [u8; 0],
}

fn main() {}
