use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Key {
    code: char,
}

fn main() {}
