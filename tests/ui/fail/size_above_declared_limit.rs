use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(max_message_size = 100)]
struct Frame {
    payload: [u8; 128],
}

fn main() {}
