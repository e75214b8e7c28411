use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Wrapper<T> {
    value: T,
}

fn main() {}
