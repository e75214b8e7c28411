//! Platform support and limits: the Rust counterpart of the posix_ipc seed's
//! `print_platform_support()`.
//!
//! Prints posix_ipc's capability flags and constants (`MESSAGE_QUEUES_SUPPORTED`,
//! `QUEUE_PRIORITY_MAX`, `USER_SIGNAL_MIN`, ...), then the limits the running system decides,
//! read live by `posix_ipc::limits::Limits::read()` (posix_ipc freezes some of them when it is
//! built). It creates no IPC object.
//!
//! ```text
//! cargo run --release --example limits
//! ```

use posix_ipc::limits::Limits;

fn pair(v: Option<(u64, u64)>) -> String {
    let one = |n: u64| {
        if n == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            n.to_string()
        }
    };
    v.map_or_else(
        || "unknown".to_string(),
        |(soft, hard)| format!("{} (soft), {} (hard)", one(soft), one(hard)),
    )
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "unknown".to_string(), |n| n.to_string())
}

fn main() {
    println!("Platform: {}", std::env::consts::OS);
    println!(
        "posix-ipc version: {} (API of posix_ipc {})",
        posix_ipc::VERSION,
        posix_ipc::POSIX_IPC_VERSION
    );
    println!();
    println!("Feature Support:");
    println!("  Message Queues: {}", posix_ipc::MESSAGE_QUEUES_SUPPORTED);
    println!(
        "  Semaphore Timeouts: {}",
        posix_ipc::SEMAPHORE_TIMEOUT_SUPPORTED
    );
    println!(
        "  Semaphore Values: {}",
        posix_ipc::SEMAPHORE_VALUE_SUPPORTED
    );
    println!();
    println!("System Limits (posix_ipc constants):");
    println!(
        "  Default Max Messages: {}",
        posix_ipc::QUEUE_MESSAGES_MAX_DEFAULT
    );
    println!(
        "  Default Max Message Size: {}",
        posix_ipc::QUEUE_MESSAGE_SIZE_MAX_DEFAULT
    );
    println!("  Max Message Priority: {}", posix_ipc::QUEUE_PRIORITY_MAX);
    println!(
        "  User Signal Range: {}-{}",
        *posix_ipc::USER_SIGNAL_MIN,
        *posix_ipc::USER_SIGNAL_MAX
    );
    println!();

    let l = Limits::read();
    println!("Live system limits (posix_ipc::limits::Limits::read()):");
    println!("  fs.mqueue.msg_max:         {}", opt(l.msg_max));
    println!("  fs.mqueue.msgsize_max:     {}", opt(l.msgsize_max));
    println!("  fs.mqueue.msg_default:     {}", opt(l.msg_default));
    println!("  fs.mqueue.msgsize_default: {}", opt(l.msgsize_default));
    println!("  fs.mqueue.queues_max:      {}", opt(l.queues_max));
    println!("  RLIMIT_MSGQUEUE (bytes):   {}", pair(l.rlimit_msgqueue));
    println!("  RLIMIT_NOFILE:             {}", pair(l.rlimit_nofile));
    println!("  page size:                 {}", l.page_size);
    println!("  SEM_VALUE_MAX:             {}", l.sem_value_max);
    println!("  MQ_PRIO_MAX:               {}", l.mq_prio_max);

    // What RLIMIT_MSGQUEUE means in practice: how many queues of posix_ipc's default size
    // this user may hold at once.
    let cost = posix_ipc::limits::queue_bytes(
        posix_ipc::QUEUE_MESSAGES_MAX_DEFAULT,
        posix_ipc::QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
    );
    if let Some((soft, _)) = l
        .rlimit_msgqueue
        .filter(|(soft, _)| *soft != libc::RLIM_INFINITY)
    {
        println!(
            "  a default queue ({} x {} bytes) costs about {cost} bytes: {} fit in RLIMIT_MSGQUEUE",
            posix_ipc::QUEUE_MESSAGES_MAX_DEFAULT,
            posix_ipc::QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
            soft / cost.max(1) as u64
        );
    }
}
