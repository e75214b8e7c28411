use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
enum State {
    Idle,
    Busy,
}

fn main() {}
