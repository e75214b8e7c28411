//! The publish-subscribe rows: one-way latency of frames from 64 B to 16 MiB against the
//! physical floor (two threads handing a buffer through an atomic flag), iceoryx2's slice loans
//! (feature `iceoryx2`) and our ring copying the same bytes; the publisher's cost with 1, 2 and
//! 4 subscriber processes; and the CPU an idle subscriber burns.
//!
//! Every latency row is half a ping-pong between two sides over two channels, where each side
//! writes every byte of the frame it sends and checksums (and checks) every byte it receives;
//! all four implementations busy-poll, as iceoryx2's own benchmark does.

use std::cell::UnsafeCell;
use std::hint::black_box;
use std::io::Write;
use std::mem::MaybeUninit;
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use posix_ipc::{
    ErrorKind, FramePublisher, FrameSubscriber, IpcMessage, Policy, Publisher, RecordReceiver,
    RecordSender, RecordType, RingMode, Subscriber, Timeout, TopicOptions,
};

use crate::harness::{check, fill, finish, spawn_child, thread_cpu_ns, unique, Cleanup, Impl};

/// The frame sizes of the latency rows.
pub const SIZES: [(&str, usize); 5] = [
    ("64", 64),
    ("4k", 4096),
    ("64k", 65536),
    ("1m", 1 << 20),
    ("16m", 16 << 20),
];

/// One `pubsub_*` row.
pub struct PsRow {
    pub workload: String,
    pub ours: f64,
    pub floor: Option<f64>,
    pub iceoryx2: Option<f64>,
    pub copy_ring: Option<f64>,
    pub last_latency: Option<f64>,
    /// Fan-out rows: futex wake-up calls per published sample.
    pub wakes: Option<f64>,
    pub json: String,
}

fn uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and we only write initialised bytes
    // through it (`fill` writes every byte), so `buf` stays initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

fn iters_for(size: usize, quick: bool) -> u64 {
    let n = match size {
        0..=4096 => 20_000,
        4097..=65536 => 4_000,
        65537..=1_048_576 => 400,
        _ => 30,
    };
    if quick {
        (n / 5).max(10)
    } else {
        n
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "null".to_string(), |v| format!("{v:.1}"))
}

/// Topic options of the ping-pong: capacity 16 (the records' default; frame topics now
/// default to 4, set here so the rows stay comparable), `Block`, one subscriber.
fn pong_options() -> TopicOptions {
    TopicOptions::new().capacity(16).max_subscribers(1)
}

/// Frames from this size on are received in place (a guard), smaller ones copied out (a
/// seqlock read, cheaper than the hold handshake for small frames).
pub const IN_PLACE_FROM: usize = 1 << 16;

/// Busy-polls for the next frame and checks it: in place from [`IN_PLACE_FROM`] on (the guard
/// is dropped after the check), copied into `copy` below.
#[inline]
fn recv_check(sub: &mut FrameSubscriber, copy: &mut Vec<u8>, v: u8) {
    loop {
        // Poll the cheap way (one atomic load, no error value per empty poll).
        while !sub.has_samples() {
            std::hint::spin_loop();
        }
        let r = if sub.max_frame_len() >= IN_PLACE_FROM {
            sub.recv_with(Timeout::Immediate).map(|f| check(&f, v))
        } else {
            sub.recv_into(copy, Timeout::Immediate)
                .map(|_| check(copy, v))
        };
        match r {
            Ok(()) => return,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Disconnected) => {
                std::hint::spin_loop()
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[inline]
fn send_filled(p: &mut FramePublisher, size: usize, v: u8) {
    let mut loan = p.loan_uninit(size).expect("loan");
    fill(loan.as_uninit(), v);
    // SAFETY: `fill` wrote every byte of the loan.
    unsafe { loan.assume_init() }.send();
}

/// Our one-way latency (ns) for `size`-byte frames.
fn ours(size: usize, iters: u64) -> f64 {
    let (a, b) = (unique("psa"), unique("psb"));
    let _c = Cleanup(vec![('m', a.clone()), ('m', b.clone())]);
    let mut pa = FramePublisher::create(&a, size, &pong_options()).expect("topic a");
    drop(FramePublisher::create(&b, size, &pong_options()).expect("topic b"));
    let mut sb = FrameSubscriber::open(&b).expect("subscribe b");
    let child = spawn_child("ps-pong", Impl::Ours, &a, &b, iters, size);
    // Ready: the child subscribed to `a` and publishes one frame on `b`.
    let mut copy = Vec::with_capacity(size);
    recv_check(&mut sb, &mut copy, 7);
    let t = Instant::now();
    for i in 0..iters {
        send_filled(&mut pa, size, i as u8);
        recv_check(&mut sb, &mut copy, (i as u8).wrapping_add(1));
    }
    let ns = t.elapsed().as_nanos() as f64 / iters as f64 / 2.0;
    finish(child);
    ns
}

/// The child of [`ours`]: receives on `a`, answers on `b`.
pub fn pong_child(a: &str, b: &str, iters: u64, size: usize) {
    let mut sa = FrameSubscriber::open(a).expect("subscribe a");
    let mut pb = FramePublisher::open(b).expect("publish b");
    send_filled(&mut pb, size, 7);
    let mut copy = Vec::with_capacity(size);
    let t = thread_cpu_ns();
    for i in 0..iters {
        recv_check(&mut sa, &mut copy, i as u8);
        send_filled(&mut pb, size, (i as u8).wrapping_add(1));
    }
    crate::harness::report(t);
}

/// A buffer two threads hand each other through a flag.
struct Handoff {
    buf: UnsafeCell<Vec<u64>>,
    flag: AtomicU64,
}

// SAFETY: the buffer is written only by the side that owns it, between seeing the flag at the
// value that hands it over (acquire) and storing the next one (release); the other side reads
// it only between those points of its own. So accesses never overlap.
unsafe impl Sync for Handoff {}

impl Handoff {
    fn new(size: usize) -> Handoff {
        Handoff {
            buf: UnsafeCell::new(vec![0u64; size / 8]),
            flag: AtomicU64::new(0),
        }
    }

    /// Writes every byte; the caller owns the buffer now (see the `Sync` argument).
    fn write(&self, v: u8) {
        // SAFETY: as argued at `impl Sync`: no other access overlaps this one.
        let words = unsafe { &mut *self.buf.get() };
        fill(uninit(posix_ipc::typed::bytemuck::cast_slice_mut(words)), v);
    }

    fn check(&self, v: u8) {
        // SAFETY: as argued at `impl Sync`.
        let words = unsafe { &*self.buf.get() };
        check(posix_ipc::typed::bytemuck::cast_slice(words), v);
    }

    fn wait(&self, value: u64) {
        while self.flag.load(Ordering::Acquire) != value {
            std::hint::spin_loop();
        }
    }
}

/// The physical floor (ns one way): two threads, no IPC library.
fn floor(size: usize, iters: u64) -> f64 {
    let (a, b) = (Handoff::new(size), Handoff::new(size));
    std::thread::scope(|s| {
        let (a, b) = (&a, &b);
        s.spawn(move || {
            for i in 0..iters {
                a.wait(i + 1);
                a.check(i as u8);
                b.write((i as u8).wrapping_add(1));
                b.flag.store(i + 1, Ordering::Release);
            }
        });
        let t = Instant::now();
        for i in 0..iters {
            a.write(i as u8);
            a.flag.store(i + 1, Ordering::Release);
            b.wait(i + 1);
            b.check((i as u8).wrapping_add(1));
        }
        t.elapsed().as_nanos() as f64 / iters as f64 / 2.0
    })
}

fn record(size: usize) -> RecordType {
    RecordType::new("bench frame", size, 0x5049_4243_4852_4e47)
}

/// Our ring, copying the frame in and out (ns one way).
fn copy_ring(size: usize, iters: u64) -> f64 {
    let (a, b) = (unique("pra"), unique("prb"));
    let _c = Cleanup(vec![('m', a.clone()), ('m', b.clone())]);
    let ta = RecordSender::create(&a, 2, RingMode::Spsc, &record(size)).expect("ring a");
    let rb = RecordReceiver::create(&b, 2, RingMode::Spsc, &record(size)).expect("ring b");
    let child = spawn_child("ps-ring-pong", Impl::Ours, &a, &b, iters, size);
    let mut words = vec![0u64; size / 8];
    let buf: &mut [u8] = posix_ipc::typed::bytemuck::cast_slice_mut(&mut words);
    ring_recv(&rb, buf, 7);
    let t = Instant::now();
    for i in 0..iters {
        fill(uninit(buf), i as u8);
        ta.send(buf).expect("send");
        ring_recv(&rb, buf, (i as u8).wrapping_add(1));
    }
    let ns = t.elapsed().as_nanos() as f64 / iters as f64 / 2.0;
    finish(child);
    ns
}

#[inline]
fn ring_recv(rx: &RecordReceiver, buf: &mut [u8], v: u8) {
    loop {
        match rx.recv_into(buf, Timeout::Immediate) {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) => panic!("{e}"),
        }
    }
    check(buf, v);
}

/// The child of [`copy_ring`].
pub fn ring_pong_child(a: &str, b: &str, iters: u64, size: usize) {
    let ra = RecordReceiver::open(a, &record(size)).expect("ring a");
    let tb = RecordSender::open(b, &record(size)).expect("ring b");
    let mut words = vec![0u64; size / 8];
    let buf: &mut [u8] = posix_ipc::typed::bytemuck::cast_slice_mut(&mut words);
    fill(uninit(buf), 7);
    tb.send(buf).expect("ready");
    let t = thread_cpu_ns();
    for i in 0..iters {
        ring_recv(&ra, buf, i as u8);
        fill(uninit(buf), (i as u8).wrapping_add(1));
        tb.send(buf).expect("send");
    }
    crate::harness::report(t);
}

/// A 64-byte sample of the fan-out rows: `[seq, paced, sent_ns, 0, ...]`.
#[derive(Clone, Copy, Debug, IpcMessage)]
#[repr(C)]
pub struct Fan {
    words: [u64; 8],
}

pub(crate) fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

const PACED: u64 = 300;

/// The data futex word of a topic (offset 256 of the layout): bumped once per wake-up call.
fn wake_count(name: &str) -> u32 {
    let shm = posix_ipc::SharedMemory::open(name).expect("open topic");
    let map = shm.map_range(0, 4096).expect("map topic");
    let mut w = [0u8; 4];
    map.read_at(256, &mut w).expect("read the futex word");
    u32::from_ne_bytes(w)
}

/// (publisher CPU ns per sample, median ns until the last subscriber has a sample, futex
/// wake-up calls per sample in the burst).
fn fanout(n: usize, iters: u64) -> (f64, f64, f64) {
    let name = unique("psfan");
    let _c = Cleanup(vec![('m', name.clone())]);
    let opts = TopicOptions::new()
        .capacity(1024)
        .policy(Policy::Overwrite)
        .max_subscribers(n);
    let mut p = Publisher::<Fan>::create(&name, &opts).expect("topic");
    let children: Vec<Child> = (0..n)
        .map(|_| spawn_child("ps-fan", Impl::Ours, &name, "-", iters, 64))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.subscribers() < n {
        assert!(
            Instant::now() < deadline,
            "fan-out subscribers did not join"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut s = Fan { words: [0; 8] };
    let w0 = wake_count(&name);
    let t = thread_cpu_ns();
    for seq in 0..iters {
        s.words[0] = seq;
        p.send(black_box(&s)).expect("send");
    }
    let cpu = (thread_cpu_ns() - t) / iters as f64;
    let wakes = f64::from(wake_count(&name).wrapping_sub(w0)) / iters as f64;
    for k in 0..PACED {
        std::thread::sleep(Duration::from_micros(200));
        s.words = [iters + k, 1, mono_ns(), 0, 0, 0, 0, 0];
        p.send(&s).expect("send");
    }
    drop(p);
    // Per paced sample, the latest arrival over the subscribers.
    let mut last = vec![0u64; PACED as usize];
    for child in children {
        let out = child.wait_with_output().expect("wait child");
        assert!(out.status.success(), "fan-out child failed");
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().find_map(|l| l.strip_prefix("lat ")) {
            for (k, v) in line.split_whitespace().enumerate() {
                if let (Some(slot), Ok(v)) = (last.get_mut(k), v.parse::<u64>()) {
                    *slot = (*slot).max(v);
                }
            }
        }
    }
    let mut lat: Vec<f64> = last.iter().filter(|&&v| v > 0).map(|&v| v as f64).collect();
    (cpu, median(&mut lat), wakes)
}

/// The child of [`fanout`]: a blocking subscriber; `iters` samples come before the paced ones.
pub fn fan_child(name: &str, iters: u64) {
    let mut sub = Subscriber::<Fan>::open(name).expect("subscribe");
    let mut lat = vec![0u64; PACED as usize];
    loop {
        match sub.recv() {
            Ok(s) => {
                if s.words[1] == 1 {
                    let now = mono_ns();
                    let k = s.words[0].saturating_sub(iters) as usize;
                    if let Some(slot) = lat.get_mut(k) {
                        *slot = now.saturating_sub(s.words[2]).max(1);
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::Lagged => {}
            Err(e) if e.kind() == ErrorKind::Disconnected => break,
            Err(e) => panic!("{e}"),
        }
    }
    let text: Vec<String> = lat.iter().map(u64::to_string).collect();
    println!("lat {}", text.join(" "));
    println!("cpu 0");
}

/// CPU (ms) a subscriber spends waiting one second with a live publisher: (cpu, wall).
fn idle() -> (f64, f64) {
    let name = unique("psidle");
    let _c = Cleanup(vec![('m', name.clone())]);
    let _p = Publisher::<Fan>::create(&name, &TopicOptions::new()).expect("topic");
    let mut sub = Subscriber::<Fan>::open(&name).expect("subscribe");
    let (t, w) = (thread_cpu_ns(), Instant::now());
    let e = sub
        .recv_timeout(Duration::from_secs(1))
        .map(|s| s.words[0])
        .expect_err("nothing was published");
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    (
        (thread_cpu_ns() - t) / 1e6,
        w.elapsed().as_nanos() as f64 / 1e6,
    )
}

/// Runs the rows (those whose name contains `only`, if given).
pub fn run(quick: bool, only: Option<&str>) -> Vec<PsRow> {
    let wanted = |name: &str| only.is_none_or(|s| name.contains(s));
    let reps = if quick { 3 } else { 7 };
    let mut rows = Vec::new();
    for (tag, size) in SIZES {
        let workload = format!("pubsub_latency_{tag}");
        if !wanted(&workload) {
            continue;
        }
        let iters = iters_for(size, quick);
        let (mut o, mut f, mut i, mut r) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let _ = ours(size, iters / 10 + 1);
        for rep in 0..reps {
            // Alternate the order so that none always runs first.
            if rep % 2 == 0 {
                o.push(ours(size, iters));
                f.push(floor(size, iters));
            } else {
                f.push(floor(size, iters));
                o.push(ours(size, iters));
            }
            #[cfg(feature = "iceoryx2")]
            i.push(crate::ice::slice_pingpong(size, iters));
            r.push(copy_ring(size, iters));
        }
        let ours = median(&mut o);
        let floor = median(&mut f);
        let iceoryx2 = (!i.is_empty()).then(|| median(&mut i));
        let copy_ring = (!r.is_empty()).then(|| median(&mut r));
        let json = format!(
            "{{\"workload\":\"{workload}\",\"unit\":\"ns one way\",\"size\":{size},\"ours\":{ours:.1},\"floor\":{floor:.1},\"iceoryx2\":{},\"copy_ring\":{},\"ours_over_floor\":{:.3},\"iceoryx2_over_ours\":{},\"reps\":{reps},\"iters\":{iters}}}",
            num(iceoryx2),
            num(copy_ring),
            ours / floor,
            iceoryx2.map_or("null".to_string(), |v| format!("{:.3}", v / ours)),
        );
        eprintln!(
            "{workload:<22} ours {ours:>10.1} ns  floor {floor:>10.1} ns  iceoryx2 {:>10}  ring {:>10}",
            num(iceoryx2),
            num(copy_ring)
        );
        rows.push(PsRow {
            workload,
            ours,
            floor: Some(floor),
            iceoryx2,
            copy_ring,
            last_latency: None,
            wakes: None,
            json,
        });
    }
    for n in [1usize, 2, 4] {
        let workload = format!("pubsub_fanout_{n}");
        if !wanted(&workload) {
            continue;
        }
        let iters = if quick { 40_000 } else { 200_000 };
        let (mut c, mut l, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps.min(5) {
            let (cpu, last, wakes) = fanout(n, iters);
            c.push(cpu);
            l.push(last);
            w.push(wakes);
        }
        let ours = median(&mut c);
        let last = median(&mut l);
        let wakes = median(&mut w);
        let json = format!(
            "{{\"workload\":\"{workload}\",\"unit\":\"publisher CPU ns per sample\",\"subscribers\":{n},\"ours\":{ours:.1},\"last_latency\":{last:.1},\"wakes_per_sample\":{wakes:.4},\"reps\":{},\"iters\":{iters}}}",
            reps.min(5)
        );
        eprintln!("{workload:<22} publisher {ours:>8.1} ns CPU/sample  last subscriber after {last:>9.1} ns  {wakes:.4} wake calls/sample");
        rows.push(PsRow {
            workload,
            ours,
            floor: None,
            iceoryx2: None,
            copy_ring: None,
            last_latency: Some(last),
            wakes: Some(wakes),
            json,
        });
    }
    if wanted("pubsub_idle_subscriber") {
        let (cpu, wall) = idle();
        rows.push(PsRow {
            workload: "pubsub_idle_subscriber".into(),
            ours: cpu,
            floor: None,
            iceoryx2: None,
            copy_ring: None,
            last_latency: Some(wall),
            wakes: None,
            json: format!(
                "{{\"workload\":\"pubsub_idle_subscriber\",\"unit\":\"ms\",\"cpu_ms\":{cpu:.3},\"wall_ms\":{wall:.1}}}"
            ),
        });
        eprintln!("pubsub_idle_subscriber {cpu:.3} ms CPU while waiting {wall:.0} ms");
    }
    rows
}

/// The rows as a Markdown table.
pub fn table(rows: &[PsRow], out: &mut impl Write) -> std::io::Result<()> {
    let lat: Vec<&PsRow> = rows.iter().filter(|r| r.floor.is_some()).collect();
    if !lat.is_empty() {
        writeln!(out, "\n## Publish-subscribe\n")?;
        writeln!(
            out,
            "| row | ours ns | floor ns | ours/floor | iceoryx2 ns | iceoryx2/ours | copy_ring ns |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|---:|")?;
        for r in &lat {
            let f = r.floor.unwrap_or(f64::NAN);
            writeln!(
                out,
                "| `{}` | {:.1} | {:.1} | {:.3} | {} | {} | {} |",
                r.workload,
                r.ours,
                f,
                r.ours / f,
                r.iceoryx2.map_or("-".into(), |v| format!("{v:.1}")),
                r.iceoryx2
                    .map_or("-".into(), |v| format!("{:.2}", v / r.ours)),
                r.copy_ring.map_or("-".into(), |v| format!("{v:.1}")),
            )?;
        }
    }
    let fan: Vec<&PsRow> = rows
        .iter()
        .filter(|r| r.workload.starts_with("pubsub_fanout_"))
        .collect();
    if !fan.is_empty() {
        writeln!(
            out,
            "\n| row | publisher CPU ns per sample | ns until the last subscriber has it | futex wake calls per sample |"
        )?;
        writeln!(out, "|---|---:|---:|---:|")?;
        for r in fan {
            writeln!(
                out,
                "| `{}` | {:.1} | {:.0} | {:.4} |",
                r.workload,
                r.ours,
                r.last_latency.unwrap_or(f64::NAN),
                r.wakes.unwrap_or(f64::NAN)
            )?;
        }
    }
    Ok(())
}

/// The targets, checked against this run.
pub fn targets(rows: &[PsRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let get = |n: &str| rows.iter().find(|r| r.workload == n);
    writeln!(
        out,
        "\n## Publish-subscribe targets, checked against this run\n"
    )?;
    for r in rows.iter().filter(|r| r.floor.is_some()) {
        let floor = r.floor.unwrap_or(f64::NAN);
        let big = r.workload.ends_with("64k")
            || r.workload.ends_with("1m")
            || r.workload.ends_with("16m");
        let mut parts = Vec::new();
        match r.iceoryx2 {
            Some(ice) => {
                parts.push(format!(
                    "never slower than iceoryx2 ({:.2}x its speed): {}",
                    ice / r.ours,
                    verdict(r.ours <= ice)
                ));
                if r.workload.ends_with("_64") || r.workload.ends_with("_4k") {
                    parts.push(format!(
                        "at least 3x iceoryx2: {}",
                        verdict(ice / r.ours >= 3.0)
                    ));
                }
            }
            None => parts.push("iceoryx2 not in this run (`--features iceoryx2`)".to_string()),
        }
        if big {
            parts.push(format!(
                "within 1.2x the floor ({:.3}x): {}",
                r.ours / floor,
                verdict(r.ours / floor <= 1.2)
            ));
        }
        writeln!(out, "- `{}`: {}", r.workload, parts.join("; "))?;
    }
    if let (Some(one), Some(four)) = (get("pubsub_fanout_1"), get("pubsub_fanout_4")) {
        let x = four.ours / one.ours;
        writeln!(
            out,
            "- Publisher cost with 4 subscribers over its cost with 1: {x:.2} (needs at most 1.3): {}; futex wake calls per sample {:.4} with 1, {:.4} with 4",
            verdict(x <= 1.3),
            one.wakes.unwrap_or(f64::NAN),
            four.wakes.unwrap_or(f64::NAN)
        )?;
        if let Some(two) = get("pubsub_fanout_2") {
            writeln!(
                out,
                "- With 2 and 4 subscribers (both more subscriber processes than this machine has cores for, so some sleep): {:.1} and {:.1} ns, ratio {:.2}",
                two.ours,
                four.ours,
                four.ours / two.ours
            )?;
        }
    }
    if let Some(r) = get("pubsub_idle_subscriber") {
        let wall = r.last_latency.unwrap_or(1000.0);
        writeln!(
            out,
            "- An idle subscriber: {:.2} ms of CPU while waiting {wall:.0} ms (needs under 5 ms per second): {}",
            r.ours,
            verdict(r.ours * 1000.0 / wall < 5.0)
        )?;
    }
    Ok(())
}

/// What each row measures.
pub fn descriptions(rows: &[PsRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "- `pubsub_latency_*`: one-way latency (half a ping-pong between two processes over two \
         frame topics of capacity 16, one subscriber and `Block`) of a frame of that \
         size, where each side loans a frame, writes every byte, publishes it, and checksums and \
         checks every byte of the frame it receives: in place from 64 KiB on, copied out (the \
         seqlock read of `recv_into`) below; every side busy-polls (ours on `has_samples`). `floor`: the same ping-pong by two threads \
         of one process handing a buffer through an atomic flag, writing and checksumming \
         every byte, no IPC library (the physical limit of moving that many bytes between \
         cores); `iceoryx2`: iceoryx2 0.10 with slice loans (`loan_slice_uninit`), the same \
         work, in two processes; `copy_ring`: our SPSC ring of records of that size, copying \
         the frame in and out."
    )?;
    writeln!(
        out,
        "- `pubsub_fanout_N`: one publisher and N blocking subscriber processes on an \
         `Overwrite` topic of 64-byte samples (so that a subscriber starved of CPU on this \
         2-core machine cannot make the publisher wait): `ours` is the publisher's thread CPU \
         time per sample over a burst, `last_latency` the median, over 300 samples published \
         200 us apart, of the time until the last subscriber had it (CLOCK_MONOTONIC in both)."
    )?;
    writeln!(
        out,
        "- `pubsub_idle_subscriber`: the CPU a subscriber uses while it waits one second for a \
         sample that never comes (the publisher alive)."
    )
}
