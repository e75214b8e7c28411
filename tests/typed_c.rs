//! A C program compiled against the declaration the derive exports reads the same bytes: its
//! `static_assert`s check size and offsets at compile time, and it receives a typed message.

mod common;

#[path = "../examples/shared/reading.rs"]
#[expect(dead_code, reason = "the tests use part of the shared example module")]
mod reading;

use std::process::Command;

use common::{guarded, Kind};
use posix_ipc::{IpcMessage, Sender};
use reading::Reading;

#[test]
fn a_c_program_built_from_the_exported_declaration_receives_a_typed_message() {
    let source = format!(
        "{}\n{}",
        Reading::c_declaration(),
        r#"#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
int main(int argc, char **argv) {
    mqd_t q = mq_open(argv[1], O_RDONLY);
    if (q == (mqd_t)-1) { perror("mq_open"); return 1; }
    struct Reading r;
    unsigned prio;
    ssize_t n = mq_receive(q, (char *)&r, sizeof r, &prio);
    if (n != (ssize_t)sizeof r) { perror("mq_receive"); return 2; }
    printf("%llu %.2f %u %u %u\n", (unsigned long long)r.seq, r.value, r.producer, r.flags, prio);
    return 0;
}
"#
    );
    let Some((dir, exe)) = common::compile_c("typed_c", "reader", &source, &[]) else {
        return;
    };

    let (name, _g) = guarded(Kind::Mq, "c-typed");
    let tx = Sender::<Reading>::create(&name, 2).unwrap();
    tx.send(&Reading {
        seq: 123_456_789_012,
        value: -2.5,
        producer: 4,
        flags: 1,
    })
    .unwrap();
    let out = Command::new(&exe).arg(&name).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "123456789012 -2.50 4 1 5\n"
    );
}
