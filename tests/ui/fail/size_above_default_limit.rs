use posix_ipc::IpcMessage;

// 9000 bytes: above the default 8192 without #[ipc(max_message_size = N)].
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Frame {
    payload: [u8; 9000],
}

fn main() {}
