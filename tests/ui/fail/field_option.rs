use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Maybe {
    value: Option<u32>,
}

fn main() {}
