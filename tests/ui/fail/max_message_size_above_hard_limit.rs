use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(max_message_size = 16777217)]
struct Frame {
    payload: [u8; 16],
}

fn main() {}
