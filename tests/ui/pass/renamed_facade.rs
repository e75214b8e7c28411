// The facade under another name, as `ipc = { package = "posix-ipc" }` in Cargo.toml gives.
extern crate posix_ipc as ipc;

#[derive(Clone, Copy, ipc::IpcMessage)]
#[repr(C)]
#[ipc(crate = "ipc", priority = 2)]
struct Reading {
    seq: u64,
}

mod inner {
    // A path with more than one segment works too.
    #[derive(Clone, Copy, ::ipc::IpcMessage)]
    #[repr(C)]
    #[ipc(crate = "::ipc")]
    pub struct Nested {
        pub x: u32,
    }
}

fn main() {
    use ipc::IpcMessage;
    assert_eq!(Reading::PRIORITY, 2);
    assert_eq!(inner::Nested::LAYOUT.size, 4);
}
