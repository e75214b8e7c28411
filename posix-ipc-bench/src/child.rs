//! What this binary does when started as a child process: `--child` plays the other side of a
//! cross-process workload (a role of the publish-subscribe rows, of iceoryx2's, of the Python
//! topic rows' Rust column, of the bridge rows' machines, the Rust subscriber of the C++ rows,
//! or of the workloads'),
//! `--callgrind-child` runs one in-process workload once under callgrind.

use std::hint::black_box;

use crate::harness::Impl;
use crate::rows::WORKLOADS;
use crate::workloads;

/// `--child ROLE IMPL A B ITERS SIZE`: the other process of a cross-process workload.
pub fn child_main(args: &[String]) {
    let role = args[0].as_str();
    #[cfg(feature = "iceoryx2")]
    if role.starts_with("ice-") {
        let iters: u64 = args[4].parse().expect("iters");
        crate::ice::child(role, &args[2], &args[3], iters);
        return;
    }
    if role.starts_with("pyt-") {
        crate::py_topics::child(role, &args[1..]);
        return;
    }
    if role == "cpp-rust-sub" {
        crate::cpp::child(&args[1..]);
        return;
    }
    if role.starts_with("bridge-") {
        crate::bridge::child(role, &args[1..]);
        return;
    }
    let imp = Impl::parse(&args[1]);
    let (a, b) = (args[2].as_str(), args[3].as_str());
    let iters: u64 = args[4].parse().expect("iters");
    let size: usize = args[5].parse().expect("size");
    match role {
        "ps-pong" => crate::pubsub::pong_child(a, b, iters, size),
        "ps-ring-pong" => crate::pubsub::ring_pong_child(a, b, iters, size),
        "ps-fan" => crate::pubsub::fan_child(a, iters),
        #[cfg(feature = "iceoryx2")]
        "ps-ice-pong" => crate::ice::slice_pong_child(a, b, iters, size),
        _ => workloads::child(role, imp, a, b, iters, size),
    }
}

/// `--callgrind-child WORKLOAD IMPL ITERS`: runs one in-process workload once, under callgrind.
pub fn callgrind_child(args: &[String]) {
    let w = WORKLOADS
        .iter()
        .find(|w| w.name == args[0])
        .expect("known workload");
    let iters: u64 = args[2].parse().expect("iters");
    black_box((w.run)(Impl::parse(&args[1]), iters));
}
