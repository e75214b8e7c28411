use posix_ipc::IpcMessage;

#[derive(Clone, Copy)]
#[repr(u32)]
enum Mode {
    Idle,
    Run,
}

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Command {
    seq: u32,
    mode: Mode,
}

fn main() {}
