// A field the derive refuses, in a type the program then uses: one error (the field's), not a
// cascade of "`Reading: IpcMessage` is not satisfied" and "no method named `send`" errors.
use posix_ipc::{IpcMessage, Receiver, Sender};

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(priority = 40000)]
struct Reading {
    seq: u64,
    valid: bool,
}

fn main() -> posix_ipc::Result<()> {
    let tx = Sender::<Reading>::create("/ui-error-then-use", 4)?;
    let rx = Receiver::<Reading>::open("/ui-error-then-use")?;
    tx.send(&Reading { seq: 1, valid: true })?;
    let r: Reading = rx.recv()?;
    let _ = (r.seq, Reading::PRIORITY, Reading::python_format());
    Ok(())
}
