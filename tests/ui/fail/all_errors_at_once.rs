use posix_ipc::IpcMessage;

// Every attribute and field error of one derive comes in one compile.
#[derive(Clone, Copy, IpcMessage)]
#[ipc(priority = 99999, max_message_size = "big", colour = "red")]
struct Everything {
    valid: bool,
    at: usize,
}

fn main() {}
