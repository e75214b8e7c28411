//! Which handles may move to another thread (`Send`) and be shared between threads (`Sync`), as
//! the crate documentation states: checked by the compiler here.

use posix_ipc::{
    CancelToken, IpcMessage, MessageQueue, Owned, RawShared, Receiver, RingReceiver, RingSender,
    RobustMutex, Semaphore, Sender, Shared, SharedMemory, TypedQueue,
};

#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
}

fn send_and_sync<T: Send + Sync>() {}
fn send<T: Send>() {}

#[test]
fn handles_are_send_and_sync_as_documented() {
    send_and_sync::<Semaphore>();
    send_and_sync::<SharedMemory>();
    send_and_sync::<MessageQueue>();
    send_and_sync::<RobustMutex>();
    send_and_sync::<CancelToken>();
    send_and_sync::<Sender<Tick>>();
    send_and_sync::<Receiver<Tick>>();
    send_and_sync::<TypedQueue<Tick>>();
    send_and_sync::<Shared<Tick>>();
    send_and_sync::<RawShared<Tick>>();
    send_and_sync::<Owned<Sender<Tick>>>();
    send_and_sync::<Owned<MessageQueue>>();
    // Ring ends keep per-handle index caches: one thread at a time (Send, not Sync); several
    // producers or consumers of an MPMC ring are separate handles (`try_clone`).
    send::<RingSender<Tick>>();
    send::<RingReceiver<Tick>>();
    send::<Owned<RingReceiver<Tick>>>();
}
