//! Typed shared memory: `Shared<T>` (header, fingerprint, seqlock) and `RawShared<T>`.

mod common;

use std::time::Duration;

use common::{guarded, Kind};
use posix_ipc::typed::SharedHeader;
use posix_ipc::{ErrorKind, IpcMessage, RawShared, Shared, SharedMemory};

/// Every word holds the same value: a torn read shows up as words that differ.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Stamp {
    words: [u64; 64],
}

impl Stamp {
    fn of(v: u64) -> Stamp {
        Stamp { words: [v; 64] }
    }
    fn consistent(&self) -> bool {
        self.words.iter().all(|w| *w == self.words[0])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Position {
    x: f64,
    y: f64,
    stamp: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Other {
    a: u32,
    b: u32,
}

#[test]
fn create_store_load_update() {
    let (name, _g) = guarded(Kind::Shm, "shared-basic");
    let a = Shared::create(
        &name,
        &Position {
            x: 1.0,
            y: 2.0,
            stamp: 0,
        },
    )
    .unwrap();
    let b = Shared::<Position>::open(&name).unwrap();
    assert_eq!(
        b.load(),
        Position {
            x: 1.0,
            y: 2.0,
            stamp: 0
        }
    );
    a.store(&Position {
        x: 3.0,
        y: 4.0,
        stamp: 1,
    })
    .unwrap();
    assert_eq!(b.load().stamp, 1);
    let old = b
        .update(|p| {
            p.stamp += 10;
            p.stamp
        })
        .unwrap();
    assert_eq!(old, 11);
    assert_eq!(
        a.load(),
        Position {
            x: 3.0,
            y: 4.0,
            stamp: 11
        }
    );
    assert_eq!(a.version(), 2);
}

#[test]
fn opening_a_segment_made_for_another_type_is_a_mismatch() {
    let (name, _g) = guarded(Kind::Shm, "shared-type");
    let _a = Shared::create(
        &name,
        &Position {
            x: 0.0,
            y: 0.0,
            stamp: 0,
        },
    )
    .unwrap();
    let err = Shared::<Other>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    let text = err.to_string();
    assert!(
        text.contains("24 bytes") && text.contains("Other is 8 bytes"),
        "{text}"
    );
}

#[test]
fn same_size_but_different_fields_is_a_mismatch_too() {
    #[derive(Clone, Copy, IpcMessage)]
    #[repr(C)]
    struct Swapped {
        y: f64,
        x: f64,
        stamp: u64,
    }
    let (name, _g) = guarded(Kind::Shm, "shared-fields");
    let _a = Shared::create(
        &name,
        &Position {
            x: 0.0,
            y: 0.0,
            stamp: 0,
        },
    )
    .unwrap();
    let err = Shared::<Swapped>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    assert!(err.to_string().contains("fingerprint"), "{err}");
}

#[test]
fn a_half_initialised_segment_is_not_initialized_at_open() {
    let (name, _g) = guarded(Kind::Shm, "shared-half");
    // A creator that wrote the header but died before setting `ready`.
    let shm = SharedMemory::create(&name, 64 + 2 * 64).unwrap();
    let header = SharedHeader {
        magic: posix_ipc::typed::SHARED_MAGIC,
        version: posix_ipc::typed::SHARED_VERSION,
        header_size: 64,
        fingerprint: Position::FINGERPRINT,
        size: 24,
        ready: 0,
        lock: 0,
        seq: 0,
        change_waiters: 0,
        changes: 0,
        owner: 0,
    };
    shm.map()
        .unwrap()
        .write_at(0, bytemuck::bytes_of(&header))
        .unwrap();
    let err = Shared::<Position>::open_timeout(&name, Duration::from_millis(50)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotInitialized);
    assert!(err.to_string().contains("not marked ready"), "{err}");
}

#[test]
fn an_empty_segment_is_not_initialized_and_a_foreign_one_is_a_mismatch() {
    let (name, _g) = guarded(Kind::Shm, "shared-empty");
    let shm = SharedMemory::create(&name, 0).unwrap();
    let err = Shared::<Position>::open_timeout(&name, Duration::from_millis(20)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotInitialized);
    shm.resize(4096).unwrap();
    shm.map().unwrap().write_at(0, b"something else").unwrap();
    let err = Shared::<Position>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    assert!(
        err.to_string().contains("not a posix-ipc shared struct"),
        "{err}"
    );
}

#[test]
fn open_or_create_and_exclusive_create() {
    let (name, _g) = guarded(Kind::Shm, "shared-ooc");
    let a = Shared::open_or_create(&name, &Other { a: 1, b: 2 }).unwrap();
    let b = Shared::open_or_create(&name, &Other { a: 9, b: 9 }).unwrap();
    assert_eq!(b.load(), Other { a: 1, b: 2 }, "the existing value is kept");
    let err = Shared::create(&name, &Other { a: 0, b: 0 }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    drop(a);
}

#[test]
fn concurrent_writers_and_readers_never_see_a_torn_value() {
    let (name, _g) = guarded(Kind::Shm, "shared-torn");
    let shared = Shared::create(&name, &Stamp::of(0)).unwrap();
    let reader = Shared::<Stamp>::open(&name).unwrap();
    std::thread::scope(|s| {
        for w in 0..2u64 {
            let shared = &shared;
            s.spawn(move || {
                for i in 0..20_000u64 {
                    shared.store(&Stamp::of(i * 2 + w)).unwrap();
                }
            });
        }
        let mut loads = 0;
        while loads < 200_000 {
            let v = reader.load();
            assert!(v.consistent(), "torn read: {:?}", &v.words[..4]);
            loads += 1;
        }
    });
    assert_eq!(shared.version(), 40_000);
}

#[test]
fn updates_from_many_threads_are_not_lost() {
    let (name, _g) = guarded(Kind::Shm, "shared-update");
    let shared = Shared::create(&name, &Other { a: 0, b: 0 }).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mine = Shared::<Other>::open(&name).unwrap();
                for _ in 0..5_000 {
                    mine.update(|o| {
                        o.a += 1;
                        o.b += 2;
                    })
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(
        shared.load(),
        Other {
            a: 20_000,
            b: 40_000
        }
    );
}

#[test]
fn raw_shared_has_no_header_and_checks_the_size() {
    let (name, _g) = guarded(Kind::Shm, "shared-raw");
    let raw = RawShared::create(&name, &Other { a: 5, b: 6 }).unwrap();
    let shm = SharedMemory::open(&name).unwrap();
    assert_eq!(shm.size().unwrap(), 8, "exactly the struct, no header");
    assert_eq!(
        shm.map().unwrap().to_vec(),
        [5u32.to_ne_bytes(), 6u32.to_ne_bytes()].concat()
    );
    raw.write(&Other { a: 7, b: 8 }).unwrap();
    assert_eq!(
        RawShared::<Other>::open(&name).unwrap().read().unwrap(),
        Other { a: 7, b: 8 }
    );
    let err = RawShared::<Position>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    assert!(err.to_string().contains("the segment is 8 bytes"), "{err}");
    let err = RawShared::<Other>::open_at(&name, 4).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
}

#[test]
fn layout_exports_describe_the_segment() {
    assert_eq!(Shared::<Position>::python_header_format(), "<8sIIQQIIQIIQ");
    assert_eq!(Shared::<Position>::slot_offset(0), 64);
    assert_eq!(Shared::<Position>::slot_offset(1), 128);
    assert_eq!(Shared::<Stamp>::slot_offset(1), 64 + 512);
    let c = Position::c_declaration();
    assert!(c.contains("struct Position {"), "{c}");
    assert!(c.contains("    double x;"), "{c}");
    assert!(
        c.contains("static_assert(sizeof(struct Position) == 24"),
        "{c}"
    );
}

/// The typed handles have no `verify_*` builder; `stat()` reads owner and mode from the
/// descriptor the handle holds, so a check after open is about the object in use.
#[test]
fn stat_of_a_typed_handle_reports_the_real_owner_and_mode() {
    let (name, _g) = guarded(Kind::Shm, "shared-stat");
    let origin = Position {
        x: 0.0,
        y: 0.0,
        stamp: 0,
    };
    let mine = Shared::<Position>::create(&name, &origin).unwrap();
    let st = mine.stat().unwrap();
    assert!(st.is_private(), "a new segment is 0600 and ours: {st:?}");
    let opened = Shared::<Position>::open(&name).unwrap();
    // Another user takes it over (as if it had created it), and group read is granted.
    let raw = SharedMemory::open(&name).unwrap();
    std::os::unix::fs::fchown(&raw, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(
        format!("/dev/shm/{}", name.trim_start_matches('/')),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    let st = opened.stat().unwrap();
    assert_eq!((st.uid, st.mode), (65534, 0o640));
    assert!(!st.is_private());
    let raw_typed = RawShared::<Position>::open(&name).unwrap();
    assert_eq!(raw_typed.stat().unwrap().uid, 65534);
}
