//! posix_ipc's demo3: message-queue notifications (`mq_notify`), by callback and by signal.
//!
//! ```text
//! cargo run --release --example notification
//! ```
//!
//! 1. **Repeating callback** (the demo's `repeating_thread.py`): the queue asks for a callback
//!    (`Notification::callback`) that runs on a thread of its own when the queue goes from empty
//!    to non-empty. The callback registers itself again (it holds the queue in an `Arc`), then
//!    receives and prints "Ding! ...". The main thread sends 5 messages, one at a time.
//! 2. **One-shot signal** (`one_shot_signal.py`): the queue asks for `USER_SIGNAL_MIN` (the first
//!    realtime signal); a `signal_hook` iterator waits for it, then the main thread receives.
//!
//! Where the demo reads lines from stdin, this example sends fixed messages, so it ends on its
//! own. Every wait is bounded (5 seconds). The queue (4 messages of at most 64 bytes, name
//! unique to this run) is removed at the end, and also on any error (it is [`posix_ipc::Owned`]).

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use posix_ipc::{MessageQueue, Notification};
use signal_hook::iterator::Signals;

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const TIMEOUT: Duration = Duration::from_secs(5);
const MESSAGES: u32 = 5;

/// What the callback reports to the main thread: a message and its priority, or an error.
type Report = Result<(Vec<u8>, u32), String>;

/// Registers the callback. When it runs, it first registers again, then receives everything
/// there is. In that order no message is missed: one that arrives after the queue was emptied
/// finds a registration in place. (Receiving first and registering afterwards would lose the
/// notification of a message sent in between, unless the sender waits, as `main` does here.)
fn arm(mq: &Arc<MessageQueue>, reports: mpsc::Sender<Report>) -> posix_ipc::Result<()> {
    let queue = Arc::clone(mq);
    mq.request_notification(Notification::callback(move || {
        if let Err(e) = arm(&queue, reports.clone()) {
            let _ = reports.send(Err(format!("could not register again: {e}")));
            return;
        }
        loop {
            match queue.try_receive() {
                Ok((message, priority)) => {
                    println!(
                        "  Ding! Message with priority {priority} received: {:?} (in the callback)",
                        String::from_utf8_lossy(&message),
                    );
                    let _ = reports.send(Ok((message, priority)));
                }
                Err(e) if e.is_busy() => break, // empty: wait for the next notification
                Err(e) => {
                    let _ = reports.send(Err(e.to_string()));
                    break;
                }
            }
        }
    }))
}

fn repeating_callback(mq: &Arc<MessageQueue>) -> AnyResult<()> {
    println!("1. repeating callback notification");
    let (reports, received) = mpsc::channel();
    arm(mq, reports)?;
    for i in 1..=MESSAGES {
        let text = format!("message {i} of {MESSAGES}");
        println!("main: sending {text:?} with priority {i}");
        mq.send(text.as_bytes(), i)?;
        let (message, priority) = received
            .recv_timeout(TIMEOUT)
            .map_err(|_| format!("no callback within {TIMEOUT:?} for {text:?}"))??;
        if message != text.as_bytes() || priority != i {
            return Err(format!("the callback received {message:?} (priority {priority})").into());
        }
    }
    // The last callback registered once more: cancel that registration. This also drops the
    // stored callback and with it its clone of the Arc.
    mq.request_notification(Notification::Cancel)?;
    println!("main: {MESSAGES} messages received by the callback; registration cancelled");
    Ok(())
}

fn one_shot_signal(mq: &MessageQueue) -> AnyResult<()> {
    let signo = *posix_ipc::USER_SIGNAL_MIN;
    println!("2. one-shot signal notification (signal {signo}, USER_SIGNAL_MIN)");
    // Install the handler before asking for the signal: its default action ends the process.
    let mut signals = Signals::new([signo])?;
    let handle = signals.handle();
    let (delivered, got_signal) = mpsc::channel();
    let waiter = thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _ = delivered.send(signal);
        }
    });

    let result = (|| -> AnyResult<()> {
        mq.request_notification(Notification::Signal(signo))?;
        let text = "a message announced by a signal";
        println!("main: sending {text:?} with priority 7");
        mq.send(text.as_bytes(), 7)?;
        let signal = got_signal
            .recv_timeout(TIMEOUT)
            .map_err(|_| format!("no signal {signo} within {TIMEOUT:?}"))?;
        let (message, priority) = mq.try_receive()?;
        println!(
            "  Ding! Signal {signal}: message with priority {priority} received: {:?}",
            String::from_utf8_lossy(&message)
        );
        Ok(())
    })();

    handle.close(); // ends `forever()` if no signal came
    waiter.join().map_err(|_| "the signal thread panicked")?;
    result
}

fn main() -> AnyResult<()> {
    let name = format!("/notification_{}", std::process::id());
    // Owned: removed when `main` returns, however it returns.
    let owner = MessageQueue::create_owned(&name, 4, 64)?;
    let mq = Arc::new(MessageQueue::open(&name)?);
    println!(
        "created queue {} ({} messages of at most {} bytes)",
        mq.name(),
        mq.max_messages(),
        mq.max_message_size()
    );

    repeating_callback(&mq)?;
    one_shot_signal(&mq)?;
    owner.remove()?;
    println!("removed queue {name}");
    println!(
        "notification: {MESSAGES} callback notifications and 1 signal notification received, queue removed"
    );
    Ok(())
}
