//! iceoryx2 0.10 publish-subscribe on the ring workloads (feature `iceoryx2`): busy-polling, as
//! its own benchmarks do, and its event-based blocking mode (a listener woken by a notifier).

use std::hint::black_box;

use iceoryx2::prelude::*;

use crate::harness::{
    check, fill, finish, measured_loop, next_counter, report, spawn_child, thread_cpu_ns, Impl,
    Sample, Timer,
};

/// The 64-byte payload, as iceoryx2 wants it.
#[derive(Debug, Clone, Copy, ZeroCopySend)]
#[repr(C)]
pub struct IceMsg {
    words: [u64; 8],
}

const MSG: IceMsg = IceMsg {
    words: [1, 2, 3, 4, 5, 6, 7, 8],
};

type Node = iceoryx2::node::Node<ipc::Service>;
type PubSub =
    iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, IceMsg, ()>;

fn node() -> Node {
    NodeBuilder::new()
        .create::<ipc::Service>()
        .expect("iceoryx2 node")
}

fn service(node: &Node, name: &str, buffer: usize) -> PubSub {
    node.service_builder(&name.try_into().expect("service name"))
        .publish_subscribe::<IceMsg>()
        .enable_safe_overflow(false)
        .subscriber_max_buffer_size(buffer)
        .history_size(0)
        .max_publishers(1)
        .max_subscribers(1)
        .open_or_create()
        .expect("iceoryx2 service")
}

fn publisher(s: &PubSub) -> iceoryx2::port::publisher::Publisher<ipc::Service, IceMsg, ()> {
    s.publisher_builder()
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()
        .expect("iceoryx2 publisher")
}

fn subscriber(s: &PubSub) -> iceoryx2::port::subscriber::Subscriber<ipc::Service, IceMsg, ()> {
    s.subscriber_builder()
        .create()
        .expect("iceoryx2 subscriber")
}

/// Busy-polls until a sample arrives; returns its first word.
#[inline]
fn spin_receive(sub: &iceoryx2::port::subscriber::Subscriber<ipc::Service, IceMsg, ()>) -> u64 {
    loop {
        if let Some(sample) = sub.receive().expect("iceoryx2 receive") {
            return sample.payload().words[0];
        }
        std::hint::spin_loop();
    }
}

/// Names of the services a workload uses, unique per run.
pub fn names(tag: &str) -> (String, String) {
    let n = next_counter();
    (
        format!("pib/{}/{tag}/{n}/a", std::process::id()),
        format!("pib/{}/{tag}/{n}/b", std::process::id()),
    )
}

/// Parent of the stream workload: subscribes, starts the publishing child, receives `iters`.
pub fn stream(iters: u64) -> Sample {
    let (a, _) = names("ice-stream");
    let node = node();
    let svc = service(&node, &a, 1024);
    let sub = subscriber(&svc);
    let child = spawn_child("ice-produce", Impl::Raw, &a, "-", iters, 64);
    spin_receive(&sub); // ready
    let t = Timer::start();
    measured_loop(iters, || {
        black_box(spin_receive(&sub));
    });
    t.stop(iters, finish(child))
}

/// Parent of the busy-polling ping-pong.
pub fn pingpong(iters: u64, blocking: bool) -> Sample {
    let (a, b) = names(if blocking { "ice-block" } else { "ice-pong" });
    let node = node();
    let sa = service(&node, &a, 16);
    let sb = service(&node, &b, 16);
    let pa = publisher(&sa);
    let rb = subscriber(&sb);
    let role = if blocking {
        "ice-pong-blocking"
    } else {
        "ice-pong"
    };
    let child = spawn_child(role, Impl::Raw, &a, &b, iters, 64);
    let events = blocking.then(|| events(&node, &a, &b));
    // ready
    match &events {
        Some(ev) => blocking_receive(&rb, &ev.1),
        None => black_box(spin_receive(&rb)),
    };
    let t = Timer::start();
    measured_loop(iters, || {
        pa.send_copy(MSG).expect("iceoryx2 send");
        match &events {
            Some(ev) => {
                ev.0.notify().expect("notify");
                black_box(blocking_receive(&rb, &ev.1));
            }
            None => {
                black_box(spin_receive(&rb));
            }
        }
    });
    t.stop(iters, finish(child))
}

type Notifier = iceoryx2::port::notifier::Notifier<ipc::Service>;
type Listener = iceoryx2::port::listener::Listener<ipc::Service>;

/// (notifier on `a`'s event service, listener on `b`'s).
fn events(node: &Node, a: &str, b: &str) -> (Notifier, Listener) {
    let ea = node
        .service_builder(&format!("{a}/ev").as_str().try_into().expect("name"))
        .event()
        .open_or_create()
        .expect("event service");
    let eb = node
        .service_builder(&format!("{b}/ev").as_str().try_into().expect("name"))
        .event()
        .open_or_create()
        .expect("event service");
    (
        ea.notifier_builder().create().expect("notifier"),
        eb.listener_builder().create().expect("listener"),
    )
}

/// Sleeps on the listener until notified, then takes the sample.
fn blocking_receive(
    sub: &iceoryx2::port::subscriber::Subscriber<ipc::Service, IceMsg, ()>,
    listener: &Listener,
) -> u64 {
    loop {
        if let Some(sample) = sub.receive().expect("iceoryx2 receive") {
            return sample.payload().words[0];
        }
        listener.blocking_wait(|_| {}).expect("blocking wait");
    }
}

/// The child side of the iceoryx2 workloads.
pub fn child(role: &str, a: &str, b: &str, iters: u64) {
    let node = node();
    match role {
        "ice-produce" => {
            let svc = service(&node, a, 1024);
            let p = publisher(&svc);
            // Wait for the subscriber to connect before streaming.
            while svc.dynamic_config().number_of_subscribers() == 0 {
                std::hint::spin_loop();
            }
            p.send_copy(MSG).expect("ready");
            let t = thread_cpu_ns();
            for _ in 0..iters {
                p.send_copy(MSG).expect("iceoryx2 send");
            }
            report(t);
        }
        "ice-pong" | "ice-pong-blocking" => {
            let blocking = role == "ice-pong-blocking";
            let sa = service(&node, a, 16);
            let sb = service(&node, b, 16);
            let ra = subscriber(&sa);
            let pb = publisher(&sb);
            while sb.dynamic_config().number_of_subscribers() == 0 {
                std::hint::spin_loop();
            }
            let events = blocking.then(|| events(&node, b, a));
            pb.send_copy(MSG).expect("ready");
            if let Some(ev) = &events {
                ev.0.notify().expect("notify");
            }
            let t = thread_cpu_ns();
            for _ in 0..iters {
                match &events {
                    Some(ev) => {
                        black_box(blocking_receive(&ra, &ev.1));
                        pb.send_copy(MSG).expect("send");
                        ev.0.notify().expect("notify");
                    }
                    None => {
                        black_box(spin_receive(&ra));
                        pb.send_copy(MSG).expect("send");
                    }
                }
            }
            report(t);
        }
        other => panic!("unknown iceoryx2 role {other}"),
    }
}

type SliceFactory =
    iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, [u8], ()>;
type SlicePublisher = iceoryx2::port::publisher::Publisher<ipc::Service, [u8], ()>;
type SliceSubscriber = iceoryx2::port::subscriber::Subscriber<ipc::Service, [u8], ()>;

/// A byte-slice service for frames of up to `size` bytes, one in flight (as our ping-pong).
fn slice_service(node: &Node, name: &str) -> SliceFactory {
    node.service_builder(&name.try_into().expect("service name"))
        .publish_subscribe::<[u8]>()
        .enable_safe_overflow(false)
        .subscriber_max_buffer_size(2)
        .history_size(0)
        .max_publishers(1)
        .max_subscribers(1)
        .open_or_create()
        .expect("iceoryx2 slice service")
}

fn slice_publisher(s: &SliceFactory, size: usize) -> SlicePublisher {
    s.publisher_builder()
        .initial_max_slice_len(size)
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()
        .expect("iceoryx2 slice publisher")
}

/// Loans a slice, writes every byte, sends it.
fn slice_send(p: &SlicePublisher, size: usize, v: u8) {
    let mut sample = p.loan_slice_uninit(size).expect("iceoryx2 loan");
    fill(sample.payload_mut(), v);
    // SAFETY: `fill` wrote every byte of the slice.
    let sample = unsafe { sample.assume_init() };
    sample.send().expect("iceoryx2 send");
}

/// Busy-polls for a slice and checks every byte.
fn slice_recv(sub: &SliceSubscriber, v: u8) {
    loop {
        if let Some(sample) = sub.receive().expect("iceoryx2 receive") {
            check(sample.payload(), v);
            return;
        }
        std::hint::spin_loop();
    }
}

/// iceoryx2's one-way latency (ns) for `size`-byte slices, the same work as ours.
pub fn slice_pingpong(size: usize, iters: u64) -> f64 {
    let (a, b) = names("ice-slice");
    let node = node();
    let sa = slice_service(&node, &a);
    let sb = slice_service(&node, &b);
    let pa = slice_publisher(&sa, size);
    let rb = sb.subscriber_builder().create().expect("subscriber");
    let child = spawn_child("ps-ice-pong", Impl::Raw, &a, &b, iters, size);
    slice_recv(&rb, 7);
    let t = std::time::Instant::now();
    for i in 0..iters {
        slice_send(&pa, size, i as u8);
        slice_recv(&rb, (i as u8).wrapping_add(1));
    }
    let ns = t.elapsed().as_nanos() as f64 / iters as f64 / 2.0;
    finish(child);
    ns
}

/// The child of [`slice_pingpong`].
pub fn slice_pong_child(a: &str, b: &str, iters: u64, size: usize) {
    let node = node();
    let sa = slice_service(&node, a);
    let sb = slice_service(&node, b);
    let ra = sa.subscriber_builder().create().expect("subscriber");
    let pb = slice_publisher(&sb, size);
    while sb.dynamic_config().number_of_subscribers() == 0 {
        std::hint::spin_loop();
    }
    while sa.dynamic_config().number_of_publishers() == 0 {
        std::hint::spin_loop();
    }
    slice_send(&pb, size, 7);
    let t = thread_cpu_ns();
    for i in 0..iters {
        slice_recv(&ra, i as u8);
        slice_send(&pb, size, (i as u8).wrapping_add(1));
    }
    report(t);
}
