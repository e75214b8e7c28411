use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
union Bits {
    word: u32,
    bytes: [u8; 4],
}

fn main() {}
