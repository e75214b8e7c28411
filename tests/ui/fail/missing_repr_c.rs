use posix_ipc::IpcMessage;

#[derive(Clone, Copy, IpcMessage)]
struct Reading {
    seq: u64,
    value: f64,
}

fn main() {}
