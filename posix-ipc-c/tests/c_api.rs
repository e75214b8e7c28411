//! C programs compiled with gcc at test time, linked with `libposix_ipc.so`, talking to Rust
//! over a typed topic, a frame topic with a header, a ring and a shared struct, both
//! directions, byte for byte; the misuse cases as error codes (also under valgrind); the
//! header against the library's exported symbols; `kill -9` of a C publisher and subscriber.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use posix_ipc_core::{
    FramePublisher, FrameSubscriber, IpcMessage, Policy, Publisher, RingMode, RingReceiver,
    RingSender, Shared, SubscribeOptions, Subscriber, TopicOptions,
};
use support::{compile, start, unique, valgrind, wait_line, Cleanup, FrameHead, Pose};

fn peer() -> std::path::PathBuf {
    compile("peer", &["peer.c"], false)
}

#[test]
fn the_header_declares_exactly_the_functions_the_library_exports() {
    let header = std::fs::read_to_string(support::include_dir().join("posix_ipc.h")).unwrap();
    // Every `pipc_name(` outside comments and macros: the declared functions.
    let code: String = header
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with('#') || t.starts_with('*') || t.starts_with("/*"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut declared = Vec::new();
    for (at, _) in code.match_indices("pipc_") {
        let name: String = code[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if code[at + name.len()..].starts_with('(') {
            declared.push(name);
        }
    }
    declared.sort();
    declared.dedup();
    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(support::prefix().join("lib/libposix_ipc.so"))
        .output()
        .expect("run nm (binutils)");
    assert!(nm.status.success());
    let mut exported: Vec<String> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|s| s.starts_with("pipc_"))
        .map(str::to_string)
        .collect();
    exported.sort();
    assert!(exported.len() > 60, "{exported:?}");
    assert_eq!(
        declared, exported,
        "posix_ipc.h and libposix_ipc.so disagree"
    );
}

#[test]
fn every_status_code_and_flag_of_the_header_is_the_librarys() {
    let exe = compile("codes", &["codes.c"], false);
    let out = Command::new(&exe).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("30 codes, version {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn c_declaration_gives_a_c_program_the_struct_and_the_record_type() {
    // The generated header, beside the program that includes it, compiled as C and as C++.
    let dir = support::prefix().join("generated");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pose_gen.h"), Pose::c_declaration()).unwrap();
    std::fs::copy(
        support::sources_dir().join("generated.c"),
        dir.join("generated.c"),
    )
    .unwrap();
    let prefix = support::prefix();
    for (compiler, std, exe) in [
        ("gcc", "-std=c11", "gen-c"),
        ("g++", "-std=c++17", "gen-cpp"),
    ] {
        let mut cmd = Command::new(compiler);
        cmd.args([std, "-Wall", "-Wextra", "-Werror", "-pedantic"]);
        if compiler == "g++" {
            cmd.args(["-x", "c++"]);
        }
        let out = cmd
            .arg("-I")
            .arg(prefix.join("include"))
            .arg(dir.join("generated.c"))
            .arg("-o")
            .arg(dir.join(exe))
            .arg(format!("-L{}", prefix.join("lib").display()))
            .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()))
            .arg("-lposix_ipc")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{compiler}:\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            Pose::c_declaration()
        );
    }
    let name = unique("generated");
    let _t = Cleanup::topic(&name);
    let mut publisher = Command::new(dir.join("gen-c"))
        .args([&name, "20"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_line(&mut publisher, "ready");
    // The Rust type opens what the C program created: size and fingerprint agree.
    let mut sub = Subscriber::<Pose>::open(&name).unwrap();
    writeln!(publisher.stdin.as_mut().unwrap(), "go").unwrap();
    for i in 0..20 {
        let p = *sub.recv_with(Duration::from_secs(10)).unwrap();
        assert_eq!(
            (p.seq, p.stamp, p.points[1].x, p.flags),
            (i, i as f64 * 0.5, i as f64, i as u32)
        );
    }
    support::succeeded(publisher, "published 20");
}

#[test]
fn misuse_is_an_error_code_never_a_crash_and_the_fingerprint_is_derives() {
    let exe = compile("misuse", &["misuse.c"], false);
    let prefix = unique("misuse");
    let _cleanup = Cleanup::all(
        &prefix,
        &[
            "topic", "frames", "ring", "shared", "sem", "shm", "mq", "mutex", "tq",
        ],
    );
    let out = Command::new(&exe).arg(&prefix).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("fingerprint {:016x}", Pose::FINGERPRINT)),
        "{text}"
    );
    assert!(text.ends_with("ok\n"), "{text}");
}

#[test]
fn misuse_and_a_topic_run_clean_under_valgrind() {
    let Some(valgrind) = valgrind() else {
        return;
    };
    let exe = compile("misuse", &["misuse.c"], false);
    let prefix = unique("vg");
    let _cleanup = Cleanup::all(
        &prefix,
        &[
            "topic", "frames", "ring", "shared", "sem", "shm", "mq", "mutex", "tq",
        ],
    );
    let out = Command::new(&valgrind)
        .args(support::VALGRIND_ARGS)
        .arg(&exe)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "valgrind found errors (exit {}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // A C subscriber of a Rust topic under valgrind, too.
    let name = unique("vg-topic");
    let _topic = Cleanup::topic(&name);
    let mut publisher = Publisher::<Pose>::create(
        &name,
        &TopicOptions::new().stall_timeout(Duration::from_secs(30)),
    )
    .unwrap();
    let mut sub = Command::new(&valgrind)
        .args(support::VALGRIND_ARGS)
        .arg(peer())
        .args(["sub-poses", &name, "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_line(&mut sub, "joined");
    for i in 0..50 {
        publisher.send(&Pose::number(i)).unwrap();
    }
    drop(publisher);
    let out = sub.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "valgrind found errors (exit {}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("received 50"));
}

#[test]
fn a_c_subscriber_receives_a_rust_topic_and_a_rust_subscriber_a_c_topic() {
    const N: u64 = 2000;
    let peer = peer();
    // Rust publishes, C subscribes.
    let name = unique("topic-rc");
    let _t = Cleanup::topic(&name);
    let mut publisher = Publisher::<Pose>::create(
        &name,
        &TopicOptions::new().stall_timeout(Duration::from_secs(30)),
    )
    .unwrap();
    let sub = start(&peer, &["sub-poses", &name, &N.to_string()], "joined");
    for i in 0..N {
        publisher.send(&Pose::number(i)).unwrap();
    }
    drop(publisher);
    support::succeeded(sub, &format!("received {N}"));

    // C publishes, Rust subscribes (the layout the C program stored is readable too).
    let name = unique("topic-cr");
    let _t = Cleanup::topic(&name);
    let mut publisher = start(&peer, &["pub-poses", &name, &N.to_string()], "ready");
    let mut sub = Subscriber::<Pose>::open(&name).unwrap();
    let record =
        posix_ipc_core::RecordSubscriber::open(&name, &posix_ipc_core::RecordType::of::<Pose>())
            .unwrap();
    let stored = record.layout().expect("the C publisher stored its layout");
    assert_eq!(stored, posix_ipc_core::LayoutDesc::from(&Pose::LAYOUT));
    drop(record);
    writeln!(publisher.stdin.as_mut().unwrap(), "go").unwrap();
    for i in 0..N {
        let got = sub.recv_with(Duration::from_secs(30)).unwrap();
        assert_eq!(*got, Pose::number(i), "sample {i}");
    }
    let end = sub.recv_with(Duration::from_secs(30)).map(|_| ());
    assert_eq!(
        end.unwrap_err().kind(),
        posix_ipc_core::ErrorKind::Disconnected
    );
    support::succeeded(publisher, "");
}

#[test]
fn frames_with_a_header_cross_both_ways_byte_for_byte() {
    const N: u64 = 300;
    let peer = peer();
    let name = unique("frames-rc");
    let _t = Cleanup::topic(&name);
    let mut publisher = FramePublisher::<FrameHead>::create_with_header(
        &name,
        65536,
        &TopicOptions::new().stall_timeout(Duration::from_secs(30)),
    )
    .unwrap();
    let sub = start(&peer, &["sub-frames", &name, &N.to_string()], "joined");
    for i in 0..N {
        let bytes = support::frame(i);
        let head = FrameHead {
            seq: i,
            width: bytes.len() as u32,
            height: 1,
        };
        publisher.send_with_header(&head, &bytes).unwrap();
    }
    drop(publisher);
    support::succeeded(sub, &format!("received {N}"));

    let name = unique("frames-cr");
    let _t = Cleanup::topic(&name);
    let mut publisher = start(&peer, &["pub-frames", &name, &N.to_string()], "ready");
    let mut sub = FrameSubscriber::<FrameHead>::open_with_header(&name).unwrap();
    writeln!(publisher.stdin.as_mut().unwrap(), "go").unwrap();
    for i in 0..N {
        let frame = sub.recv_with(Duration::from_secs(30)).unwrap();
        let want = support::frame(i);
        assert_eq!(
            *frame.header(),
            FrameHead {
                seq: i,
                width: want.len() as u32,
                height: 1
            }
        );
        assert!(frame[..] == want[..], "frame {i}");
    }
    support::succeeded(publisher, "");
}

#[test]
fn rings_and_shared_structs_cross_both_ways() {
    const N: u64 = 500;
    let peer = peer();
    // Rust sends on a ring, C receives.
    let name = unique("ring-rc");
    let _r = Cleanup::shm(&name);
    let tx = RingSender::<Pose>::create(&name, 8, RingMode::Spsc).unwrap();
    let rx = start(&peer, &["ring-recv", &name, &N.to_string()], "joined");
    for i in 0..N {
        tx.send_timeout(&Pose::number(i), Duration::from_secs(30))
            .unwrap();
    }
    support::succeeded(rx, &format!("received {N}"));
    drop(tx);

    // C sends, Rust receives.
    let name = unique("ring-cr");
    let _r = Cleanup::shm(&name);
    let mut tx = start(&peer, &["ring-send", &name, &N.to_string()], "ready");
    let rx = RingReceiver::<Pose>::open(&name).unwrap();
    writeln!(tx.stdin.as_mut().unwrap(), "go").unwrap();
    for i in 0..N {
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(30)).unwrap(),
            Pose::number(i)
        );
    }
    writeln!(tx.stdin.as_mut().unwrap(), "done").unwrap();
    support::succeeded(tx, "");

    // A shared struct: Rust stores, C follows; C stores, Rust reads.
    let name = unique("shared-rc");
    let _s = Cleanup::shm(&name);
    let shared = Shared::<Pose>::create(&name, &Pose::number(0)).unwrap();
    let reader = start(&peer, &["shared-read", &name, &N.to_string()], "joined");
    for i in 1..=N {
        shared.store(&Pose::number(i)).unwrap();
    }
    support::succeeded(reader, &format!("read {N}"));

    let name = unique("shared-cr");
    let _s = Cleanup::shm(&name);
    let mut writer = start(&peer, &["shared-write", &name, &N.to_string()], "ready");
    let shared = Shared::<Pose>::open(&name).unwrap();
    let (_, since) = shared.load_versioned();
    writeln!(writer.stdin.as_mut().unwrap(), "go").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut version = since;
    loop {
        let (value, v) = shared
            .wait_change(version, Duration::from_secs(30))
            .unwrap();
        assert_eq!(value, Pose::number(value.seq), "a torn value");
        version = v;
        if value.seq == N {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    writeln!(writer.stdin.as_mut().unwrap(), "done").unwrap();
    support::succeeded(writer, "");
}

#[test]
fn typed_queues_cross_both_ways_and_a_killed_c_sender_disconnects_its_receiver() {
    const N: u64 = 300;
    let peer = peer();
    // C sends (priorities 0..4), Rust receives through Receiver<Pose>: the companion the C
    // side made checks the type, and the sender's close ends the stream.
    let name = unique("queue-cr");
    let _q = Cleanup::typed_queue(&name);
    let mut tx = start(&peer, &["queue-send", &name, &N.to_string()], "ready");
    let rx = posix_ipc_core::Receiver::<Pose>::open(&name).unwrap();
    assert!(rx.is_tracked());
    assert_eq!(
        rx.layout(),
        Some(posix_ipc_core::LayoutDesc::from(&Pose::LAYOUT))
    );
    writeln!(tx.stdin.as_mut().unwrap(), "go").unwrap();
    let mut got = Vec::new();
    while got.len() < N as usize {
        let (p, prio) = rx.recv_with(Duration::from_secs(30)).unwrap();
        assert_eq!(p, Pose::number(p.seq));
        assert_eq!(u64::from(prio), p.seq % 5);
        got.push(p.seq);
    }
    got.sort_unstable();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    writeln!(tx.stdin.as_mut().unwrap(), "done").unwrap();
    support::succeeded(tx, "");

    // Rust sends through Sender<Pose>, C receives until the sender is gone.
    let name = unique("queue-rc");
    let _q = Cleanup::typed_queue(&name);
    let owner = posix_ipc_core::TypedQueue::<Pose>::create_owned(&name, 8).unwrap();
    let rx = start(
        &peer,
        &["queue-recv", &name, &N.to_string(), "tracked"],
        "joined",
    );
    let tx = posix_ipc_core::Sender::<Pose>::open(&name).unwrap();
    for i in 0..N {
        tx.send_with(&Pose::number(i), (i % 5) as u32, Duration::from_secs(30))
            .unwrap();
    }
    drop(tx);
    support::succeeded(rx, &format!("received {N}"));

    // A C sender killed with SIGKILL: the Rust receiver drains the queue, then is told.
    let mut killed = start(&peer, &["queue-forever", &name, "0"], "ready");
    let rx = posix_ipc_core::Receiver::<Pose>::open(&name).unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Pose::number(0)
    );
    let started = Instant::now();
    let end = rx.recv_timeout(Duration::from_secs(10)).unwrap_err();
    assert_eq!(end.kind(), posix_ipc_core::ErrorKind::Disconnected, "{end}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(owner);
}

#[test]
fn a_c_publisher_killed_with_sigkill_leaves_its_rust_subscriber_a_way_out() {
    let peer = peer();
    let name = unique("kill-pub");
    let _t = Cleanup::topic(&name);
    let mut publisher = start(&peer, &["pub-forever", &name, "0"], "ready");
    let mut sub =
        Subscriber::<Pose>::open_with(&name, &SubscribeOptions::new().follow_restarts(true))
            .unwrap();
    let first = sub.recv_with(Duration::from_secs(10)).unwrap().seq;
    publisher.kill().unwrap();
    publisher.wait().unwrap();
    // It reads what was published, then is told the publisher is gone (following restarts,
    // it then waits for a new one: a timeout, not a hang).
    let started = Instant::now();
    let mut last = first;
    let end = loop {
        match sub.recv_with(Duration::from_secs(5)) {
            Ok(p) => {
                assert_eq!(p.seq, last + 1);
                last = p.seq;
            }
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            end.kind(),
            posix_ipc_core::ErrorKind::Disconnected | posix_ipc_core::ErrorKind::TimedOut
        ),
        "{end}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // A restarted C publisher takes the topic over; the subscriber follows it.
    let mut again = start(&peer, &["pub-forever", &name, "0"], "ready");
    let restarted = loop {
        match sub.recv_with(Duration::from_secs(10)) {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(
        restarted.kind(),
        posix_ipc_core::ErrorKind::Restarted,
        "{restarted}"
    );
    assert_eq!(sub.recv_with(Duration::from_secs(10)).unwrap().seq, 0);
    again.kill().unwrap();
    again.wait().unwrap();
}

#[test]
fn a_c_subscriber_killed_holding_a_sample_does_not_stop_a_rust_publisher() {
    let peer = peer();
    let name = unique("kill-sub");
    let _t = Cleanup::topic(&name);
    let mut publisher = Publisher::<Pose>::create(
        &name,
        &TopicOptions::new()
            .capacity(4)
            .policy(Policy::Block)
            .stall_timeout(Duration::from_secs(60)),
    )
    .unwrap();
    let mut sub = start(&peer, &["sub-hold", &name, "0"], "joined");
    publisher.send(&Pose::number(0)).unwrap();
    wait_line(&mut sub, "holding");
    sub.kill().unwrap();
    sub.wait().unwrap();
    // Far more samples than the topic holds, with a stall timeout the test never reaches:
    // the publisher goes on because it finds the subscriber dead, not because it waited.
    let started = Instant::now();
    for i in 1..100 {
        publisher.send(&Pose::number(i)).unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(publisher.status().unwrap().subscribers(), 0);
}
