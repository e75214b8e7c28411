//! The C++ side: the wrappers of `posix_ipc.hpp` (guards, exceptions, rings, shared structs),
//! the camera examples built with CMake's `find_package(posix_ipc)` against the installed
//! library and run against Rust publishers and subscribers (also killed with SIGKILL), and
//! a C program built with `pkg-config`, statically linked too.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use posix_ipc_core::{
    ErrorKind, FramePublisher, FrameSubscriber, IpcMessage, Policy, SubscribeOptions, TopicOptions,
};
use posix_ipc_derive::IpcMessage;
use support::{compile, prefix, unique, Cleanup, Pose};

/// The camera's frame header, as `examples/cpp/camera.hpp` and `examples/camera.rs` have it.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[ipc(crate = "posix_ipc_core")]
#[repr(C)]
struct FrameInfo {
    number: u64,
    published_ns: u64,
    width: u32,
    height: u32,
}

fn pattern(n: u64, i: u64) -> u64 {
    n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i.wrapping_mul(0xff51_afd7_ed55_8ccd)
}

fn frame_is_whole(info: &FrameInfo, bytes: &[u8]) -> bool {
    bytes.len() == info.width as usize * info.height as usize * 3
        && bytes.chunks_exact(8).enumerate().all(|(i, w)| {
            u64::from_ne_bytes(w.try_into().unwrap()) == pattern(info.number, i as u64)
        })
}

/// The C++ examples, configured and built with CMake against the installed library (once);
/// `None` (said) without cmake, which under `CI` is a failure.
fn examples() -> Option<std::path::PathBuf> {
    static BUILT: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            if Command::new("cmake").arg("--version").output().is_err() {
                assert!(std::env::var_os("CI").is_none(), "cmake is needed under CI");
                eprintln!("SKIPPED: no cmake (apt-get install cmake) for the C++ examples");
                return None;
            }
            let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cpp");
            let build = prefix().join("cpp-build");
            let configure = Command::new("cmake")
                .arg("-S")
                .arg(&source)
                .arg("-B")
                .arg(&build)
                .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix().display()))
                .output()
                .unwrap();
            assert!(
                configure.status.success(),
                "cmake configure:\n{}{}",
                String::from_utf8_lossy(&configure.stdout),
                String::from_utf8_lossy(&configure.stderr)
            );
            let out = Command::new("cmake")
                .arg("--build")
                .arg(&build)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "cmake --build:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            Some(build)
        })
        .clone()
}

#[test]
fn the_cpp_wrappers_give_guards_exceptions_and_the_derives_fingerprint() {
    let exe = compile("cpp_api", &["cpp_api.cpp"], true);
    let prefix = unique("cpp");
    let _cleanup = Cleanup::all(
        &prefix,
        &[
            "topic", "frames", "end", "cancel", "ring", "shared", "queue",
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
fn the_cpp_camera_publisher_feeds_a_rust_subscriber_byte_for_byte() {
    let Some(build) = examples() else {
        return;
    };
    let name = unique("cam-cr");
    let _t = Cleanup::topic(&name);
    let publisher = Command::new(build.join("camera_publisher"))
        .args(["--topic", &name, "--width", "160", "--height", "120"])
        .args(["--fps", "200", "--frames", "400"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let options = SubscribeOptions::new()
        .wait(Duration::from_secs(10))
        .follow_restarts(true);
    let mut sub = FrameSubscriber::<FrameInfo>::open_with_header_options(&name, &options).unwrap();
    let (mut frames, mut lost, mut next) = (0u64, 0u64, None::<u64>);
    loop {
        match sub.recv_timeout(Duration::from_secs(10)) {
            Ok(frame) => {
                let info = *frame.header();
                assert!(frame_is_whole(&info, &frame), "frame {}", info.number);
                if let Some(n) = next {
                    assert_eq!(info.number, n, "frames in order, each once");
                }
                next = Some(info.number + 1);
                frames += 1;
                if info.number == 399 {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Lagged => {
                lost += e.missed().unwrap();
                next = next.map(|n| n + e.missed().unwrap());
            }
            // Joined before the publisher's first frame: told once, then its frames.
            Err(e) if e.kind() == ErrorKind::Restarted => {}
            Err(e) => panic!("{e}"),
        }
    }
    let out = publisher.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("published 400 frames"), "{text}");
    // The subscriber may have joined after the first frames; what it saw is whole and in order.
    assert!(frames + lost >= 300, "{frames} frames, {lost} lost");
    assert!(
        std::fs::metadata(format!("/dev/shm{name}")).is_err(),
        "the owned topic was removed"
    );
}

#[test]
fn the_cpp_camera_subscriber_checks_a_rust_publishers_frames_and_follows_its_restart() {
    let Some(build) = examples() else {
        return;
    };
    let name = unique("cam-rc");
    let _t = Cleanup::topic(&name);
    let options = TopicOptions::new()
        .capacity(4)
        .policy(Policy::Overwrite)
        .max_subscribers(4);
    let publish = |publisher: &mut FramePublisher<FrameInfo>, n: u64| {
        let mut frame = publisher.loan_unzeroed(160 * 120 * 3).unwrap();
        for (i, w) in frame.chunks_exact_mut(8).enumerate() {
            w.copy_from_slice(&pattern(n, i as u64).to_ne_bytes());
        }
        *frame.header_mut() = FrameInfo {
            number: n,
            published_ns: posix_ipc_core::now_ns(),
            width: 160,
            height: 120,
        };
        frame.send();
    };
    let mut publisher =
        FramePublisher::<FrameInfo>::create_with_header(&name, 160 * 120 * 3, &options).unwrap();
    let sub = Command::new(build.join("camera_subscriber"))
        .args(["--topic", &name, "--frames", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while publisher.subscribers() == 0 {
        assert!(Instant::now() < deadline, "the C++ subscriber never joined");
        std::thread::sleep(Duration::from_millis(10));
    }
    for n in 0..100 {
        publish(&mut publisher, n);
        std::thread::sleep(Duration::from_millis(2));
    }
    // The publisher goes (the topic stays); a new one opens it and goes on.
    drop(publisher);
    let mut again = FramePublisher::<FrameInfo>::open_with_header(&name).unwrap();
    for n in 0..100 {
        publish(&mut again, n);
        std::thread::sleep(Duration::from_millis(2));
    }
    let out = sub.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("a new publisher (generation 2) took the topic over"),
        "{text}"
    );
    assert!(text.contains("0 bad"), "{text}");
    let summary = text.lines().last().unwrap();
    let checked: u64 = summary.split_whitespace().nth(1).unwrap().parse().unwrap();
    let lost: u64 = summary
        .split(", ")
        .find(|p| p.ends_with(" lost"))
        .and_then(|p| p.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(checked + lost, 200, "{summary}");
}

#[test]
fn a_cpp_publisher_killed_with_sigkill_is_followed_and_a_killed_subscriber_stops_nothing() {
    let Some(build) = examples() else {
        return;
    };
    let name = unique("cam-kill");
    let _t = Cleanup::topic(&name);
    let start = |frames: &str| {
        let mut child = Command::new(build.join("camera_publisher"))
            .args([
                "--topic", &name, "--width", "64", "--height", "48", "--fps", "500",
            ])
            .args(["--frames", frames])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_line_starting(&mut child, "publisher: pid");
        child
    };
    let mut publisher = start("0");
    let options = SubscribeOptions::new()
        .wait(Duration::from_secs(10))
        .follow_restarts(true);
    let mut sub = FrameSubscriber::<FrameInfo>::open_with_header_options(&name, &options).unwrap();
    let mut got = 0;
    while got < 20 {
        match sub.recv_timeout(Duration::from_secs(10)) {
            Ok(f) => {
                assert!(frame_is_whole(f.header(), &f));
                got += 1;
            }
            Err(e) if matches!(e.kind(), ErrorKind::Lagged | ErrorKind::Restarted) => {}
            Err(e) => panic!("{e}"),
        }
    }
    publisher.kill().unwrap();
    publisher.wait().unwrap();
    // No hang: the receive times out, the topic is still there (no one removed it).
    let waited = Instant::now();
    loop {
        match sub.recv_timeout(Duration::from_millis(300)) {
            Ok(_) | Err(_) if waited.elapsed() > Duration::from_secs(10) => panic!("hangs"),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::TimedOut => break,
            Err(e) if e.kind() == ErrorKind::Lagged => continue,
            Err(e) => panic!("{e}"),
        }
    }
    let mut again = start("0");
    let restarted = loop {
        match sub.recv_timeout(Duration::from_secs(10)) {
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Lagged => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(restarted.kind(), ErrorKind::Restarted, "{restarted}");
    let f = sub.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(frame_is_whole(f.header(), &f));
    drop(f);
    drop(sub);

    // A C++ subscriber killed mid-run: the publisher (Overwrite) never waited for it; it goes
    // on, and the dead subscriber leaves the table.
    let mut cpp_sub = Command::new(build.join("camera_subscriber"))
        .args(["--topic", &name])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_line_starting(&mut cpp_sub, "subscriber: joined");
    std::thread::sleep(Duration::from_millis(200));
    cpp_sub.kill().unwrap();
    cpp_sub.wait().unwrap();
    again.kill().unwrap();
    again.wait().unwrap();
    // A clean publisher run after all this removes the topic on its way out.
    let last = start("50");
    let out = last.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("published 50 frames"));
    assert!(std::fs::metadata(format!("/dev/shm{name}")).is_err());
}

/// Waits for a line that starts with `start`.
fn wait_line_starting(child: &mut std::process::Child, start: &str) {
    use std::io::Read;
    let out = child.stdout.as_mut().unwrap();
    let (mut line, mut byte) = (Vec::new(), [0u8; 1]);
    loop {
        assert!(
            out.read(&mut byte).unwrap() == 1,
            "the child exited before {start:?}"
        );
        if byte[0] == b'\n' {
            if String::from_utf8_lossy(&line).starts_with(start) {
                return;
            }
            line.clear();
        } else {
            line.push(byte[0]);
        }
    }
}

#[test]
fn pkg_config_builds_a_c_program_shared_and_static() {
    let prefix = prefix();
    let pc = |args: &[&str]| {
        let out = Command::new("pkg-config")
            .args(args)
            .arg("posix_ipc")
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .output()
            .expect("run pkg-config");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(pc(&["--modversion"]), env!("CARGO_PKG_VERSION"));
    let cflags = pc(&["--cflags"]);
    let libs = pc(&["--libs"]);
    let static_libs = pc(&["--libs", "--static"]);
    let dir = prefix.join("pkgconfig-test");
    std::fs::create_dir_all(&dir).unwrap();
    let source = support::sources_dir().join("misuse.c");
    for (exe, link) in [
        ("misuse-shared", libs.clone()),
        // The archive itself, then what it needs: a program with no runtime dependency on us.
        (
            "misuse-static",
            format!("{}/lib/libposix_ipc.a {static_libs}", prefix.display()),
        ),
    ] {
        let exe = dir.join(exe);
        let cmd = format!(
            "gcc -std=c11 -Wall -Werror -pthread {cflags} -I{} {} -o {} {link} -Wl,-rpath,{}/lib",
            support::sources_dir().display(),
            source.display(),
            exe.display(),
            prefix.display()
        );
        let out = Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let names = unique("pc");
        let _cleanup = Cleanup::all(
            &names,
            &[
                "topic", "frames", "ring", "shared", "sem", "shm", "mq", "mutex", "tq",
            ],
        );
        let run = Command::new(&exe).arg(&names).output().unwrap();
        assert!(
            run.status.success() && String::from_utf8_lossy(&run.stdout).ends_with("ok\n"),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let ldd = Command::new("ldd").arg(&exe).output().unwrap();
        let linked = String::from_utf8_lossy(&ldd.stdout).contains("libposix_ipc.so.0.1");
        assert_eq!(
            linked,
            exe.ends_with("misuse-shared"),
            "{}",
            String::from_utf8_lossy(&ldd.stdout)
        );
    }
}

#[test]
fn padding_or_a_field_left_out_does_not_compile_in_cpp() {
    for (define, compiles) in [("PADDED", false), ("MISSING", false), ("WHOLE", true)] {
        let out = Command::new("g++")
            .args([
                "-std=c++17",
                "-Wall",
                "-Wextra",
                "-pedantic",
                "-fsyntax-only",
            ])
            .arg(format!("-D{define}"))
            .arg("-I")
            .arg(support::include_dir())
            .arg(support::sources_dir().join("record_padding.cpp"))
            .output()
            .expect("run g++");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), compiles, "{define}:\n{stderr}");
        if !compiles {
            assert!(
                stderr.contains("has padding, or POSIX_IPC_RECORD leaves out a field"),
                "{define}:\n{stderr}"
            );
        }
    }
}
