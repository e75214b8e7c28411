//! posix_ipc's `tests/test_memory.py` (23 tests), ported, plus its defects D6/D7/D10 and the
//! size, read-only and mapping edge cases.

mod common;

use std::os::fd::{AsFd, AsRawFd};

use common::{guard, guarded, Kind};
use posix_ipc::{ErrorKind, SharedMemory, O_CREAT, O_CREX, O_EXCL, O_TRUNC};

/// posix_ipc's setUp: `SharedMemory(name, O_CREX, size=3333)`.
fn setup() -> (SharedMemory, common::Cleanup) {
    let (name, g) = guarded(Kind::Shm, "shm");
    let shm = SharedMemory::new(Some(&name), O_CREX, 0o600, 3333, false).unwrap();
    (shm, g)
}

fn page() -> u64 {
    posix_ipc::limits::page_size() as u64
}

// --- TestMemory ------------------------------------------------------------------------------

#[test]
fn ctor_no_flags_opens_existing() {
    let (shm, _g) = setup();
    let other = SharedMemory::new(Some(shm.name()), 0, 0o600, 0, false).unwrap();
    assert_eq!(other.name(), shm.name());
    assert!(!other.created());
}

#[test]
fn ctor_no_flags_on_a_missing_name_is_existential() {
    let name = common::unique_name("shm-missing");
    let err = SharedMemory::new(Some(&name), 0, 0o600, 0, false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.is_existential());
    assert!(err.to_string().contains(&name), "{err}");
}

#[test]
fn ctor_o_creat_opens_existing() {
    let (shm, _g) = setup();
    let other = SharedMemory::new(Some(shm.name()), O_CREAT, 0o600, 0, false).unwrap();
    assert!(!other.created());
    assert_eq!(other.size().unwrap(), 3333);
}

#[test]
fn ctor_o_creat_creates_new() {
    let (name, _g) = guarded(Kind::Shm, "shm-creat");
    let shm = SharedMemory::new(Some(&name), O_CREAT, 0o600, 4096, false).unwrap();
    assert!(shm.created());
    assert_eq!(shm.size().unwrap(), 4096);
}

#[test]
fn ctor_o_excl_and_o_crex_on_existing_are_existential() {
    let (shm, _g) = setup();
    for flags in [O_CREAT | O_EXCL, O_CREX] {
        let err = SharedMemory::new(Some(shm.name()), flags, 0o600, 0, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    }
    assert_eq!(
        shm.size().unwrap(),
        3333,
        "the existing segment is untouched"
    );
}

#[test]
fn o_trunc_truncates_to_zero() {
    let (shm, _g) = setup();
    let other = SharedMemory::new(Some(shm.name()), O_TRUNC, 0o600, 0, false).unwrap();
    assert_eq!(other.size().unwrap(), 0);
    assert_eq!(shm.size().unwrap(), 0, "both handles see the one segment");
}

#[test]
fn randomly_generated_name() {
    let shm = SharedMemory::new(None, O_CREX, 0o600, 1024, false).unwrap();
    let _g = guard(Kind::Shm, shm.name());
    assert!(shm.name().starts_with('/') && (6..=13).contains(&shm.name().len()));
    assert!(shm.created());
    assert_eq!(shm.size().unwrap(), 1024);
}

#[test]
fn map_size_matches_the_segment_size() {
    let (shm, _g) = setup();
    let map = shm.map().unwrap();
    assert_eq!(map.len(), 3333);
    assert_eq!(shm.size().unwrap(), 3333, "Linux reports the exact size");
}

#[test]
fn read_only_handle_maps_read_only_and_refuses_writes() {
    let (shm, _g) = setup();
    shm.map().unwrap().write_at(0, b"abc").unwrap();
    let ro = SharedMemory::new(Some(shm.name()), 0, 0o600, 0, true).unwrap();
    assert!(ro.read_only());
    let map = ro.map().unwrap();
    assert!(!map.is_writable());
    assert_eq!(map.read_vec(0, 3).unwrap(), b"abc");
    let err = map.write_at(0, b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(map.read_vec(0, 3).unwrap(), b"abc");
    let err = ro.resize(10).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("read-only"), "{err}");
}

#[test]
fn fd_can_be_zero() {
    // posix_ipc #2. Run in a child process: closing fd 0 in the test harness would disturb
    // other tests.
    let child = common::spawn_child("child_entry", "fd-zero", &[]);
    let out = common::expect_success(child, "fd-zero child");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("fd-zero ok"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, _args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    match role.as_str() {
        "fd-zero" => {
            let (name, _g) = guarded(Kind::Shm, "shm-fd0");
            // SAFETY: this child process does not use stdin.
            assert_eq!(unsafe { libc::close(0) }, 0);
            let shm = SharedMemory::create(&name, 100).unwrap();
            assert_eq!(shm.fd(), 0);
            shm.map().unwrap().write_at(0, b"zero").unwrap();
            let closed = shm.close_fd().unwrap();
            closed.unlink().unwrap();
            println!("fd-zero ok");
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn close_fd_closes_the_descriptor_and_keeps_mappings() {
    let (shm, _g) = setup();
    let fd = shm.fd();
    let map = shm.map().unwrap();
    map.write_at(0, b"still here").unwrap();
    let closed = shm.close_fd().unwrap();
    // SAFETY: fcntl(F_GETFD) only inspects the descriptor table.
    let rc = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    assert_eq!(rc, -1, "the descriptor is closed");
    assert_eq!(map.read_vec(0, 10).unwrap(), b"still here");
    assert!(closed.created());
    closed.unlink().unwrap();
}

#[test]
fn unlink_removes_the_name() {
    let (shm, _g) = setup();
    let name = shm.name().to_owned();
    shm.unlink().unwrap();
    assert!(
        !shm.stat().unwrap().linked,
        "fstat link count is 0 after unlink"
    );
    let closed = shm.close_fd().unwrap();
    assert_eq!(
        closed.unlink().unwrap_err().kind(),
        ErrorKind::NotFound,
        "second unlink"
    );
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn name_fd_fileno_and_size_properties() {
    let (shm, _g) = setup();
    assert!(shm.name().starts_with('/'));
    assert!(shm.fd() >= 0);
    assert_eq!(shm.fileno(), shm.fd());
    assert_eq!(shm.as_raw_fd(), shm.fd());
    assert_eq!(shm.as_fd().as_raw_fd(), shm.fd());
    assert_eq!(shm.size().unwrap(), 3333);
    assert_eq!(
        format!("{shm:?}"),
        format!("posix_ipc.SharedMemory({:?}, mode=0600)", shm.name())
    );
}

#[test]
fn descriptors_are_close_on_exec() {
    let (shm, _g) = setup();
    // SAFETY: fcntl(F_GETFD) only inspects the descriptor table.
    let flags = unsafe { libc::fcntl(shm.fd(), libc::F_GETFD) };
    assert!(flags & libc::FD_CLOEXEC != 0);
}

#[test]
fn default_mode_is_0600() {
    let (shm, _g) = setup();
    let st = shm.stat().unwrap();
    assert_eq!(st.mode, 0o600);
    // SAFETY: geteuid has no preconditions.
    assert_eq!(st.uid, unsafe { libc::geteuid() });
}

// --- TestMemoryResize ------------------------------------------------------------------------

fn resize_setup() -> (SharedMemory, common::Cleanup) {
    let (name, g) = guarded(Kind::Shm, "shm-resize");
    let shm = SharedMemory::create(&name, 2 * page()).unwrap();
    (shm, g)
}

#[test]
fn second_handle_with_default_size_leaves_size_unchanged() {
    let (shm, _g) = resize_setup();
    let other = SharedMemory::open(shm.name()).unwrap();
    assert_eq!(other.size().unwrap(), 2 * page());
}

#[test]
fn second_handle_with_size_zero_leaves_size_unchanged() {
    let (shm, _g) = resize_setup();
    let other = SharedMemory::new(Some(shm.name()), 0, 0o600, 0, false).unwrap();
    assert_eq!(other.size().unwrap(), 2 * page());
}

#[test]
fn second_handle_with_larger_size_grows_it() {
    let (shm, _g) = resize_setup();
    let other = SharedMemory::new(Some(shm.name()), 0, 0o600, 4 * page(), false).unwrap();
    assert_eq!(other.size().unwrap(), 4 * page());
    assert_eq!(shm.size().unwrap(), 4 * page(), "both handles see it");
}

#[test]
fn second_handle_with_smaller_size_shrinks_it() {
    let (shm, _g) = resize_setup();
    let other = SharedMemory::new(Some(shm.name()), 0, 0o600, page(), false).unwrap();
    assert_eq!(other.size().unwrap(), page());
    assert_eq!(shm.size().unwrap(), page());
}

#[test]
fn resize_of_an_empty_segment() {
    // posix_ipc's test_ftruncate_increase, without its leak (D10): the guard removes it.
    let (name, _g) = guarded(Kind::Shm, "shm-ftruncate");
    let shm = SharedMemory::new(Some(&name), O_CREX, 0o600, 0, false).unwrap();
    assert_eq!(shm.size().unwrap(), 0);
    shm.resize(page()).unwrap();
    assert_eq!(shm.size().unwrap(), page());
}

// --- posix_ipc defects and untested edges ---------------------------------------------------

#[test]
fn failed_resize_of_an_existing_segment_never_unlinks_it() {
    // posix_ipc 1.3.2 D6: read_only=True with a size destroys an existing segment.
    let (shm, _g) = setup();
    let err = SharedMemory::new(Some(shm.name()), 0, 0o600, 100, true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("read-only"), "{err}");
    let again = SharedMemory::open(shm.name()).unwrap();
    assert_eq!(again.size().unwrap(), 3333, "still there, still 3333 bytes");
}

#[test]
fn size_too_large_is_refused_and_leaves_nothing_behind() {
    let (name, _g) = guarded(Kind::Shm, "shm-huge");
    let err = SharedMemory::create(&name, u64::MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // 2^50 bytes: ftruncate succeeds on tmpfs (sparse), posix_fallocate cannot.
    let err = SharedMemory::create(&name, 1 << 50).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSpace, "{err}");
    assert!(err.to_string().contains("/dev/shm"), "{err}");
    assert_eq!(
        SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound,
        "the half-made segment was removed"
    );
}

#[test]
fn failed_growth_puts_the_old_size_back() {
    let (shm, _g) = setup();
    let err = shm.resize(1 << 50).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSpace);
    assert_eq!(shm.size().unwrap(), 3333);
}

#[test]
fn mapping_an_empty_segment_is_a_clear_error() {
    let (name, _g) = guarded(Kind::Shm, "shm-empty-map");
    let shm = SharedMemory::create(&name, 0).unwrap();
    let err = shm.map().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("size 0"), "{err}");
}

#[test]
fn mapping_past_the_end_is_refused_before_mmap() {
    let (shm, _g) = setup();
    let err = shm.map_range(0, 4000).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    assert!(err.to_string().contains("3333"), "{err}");
    assert!(shm.map_range(u64::MAX, 2).is_err());
    assert!(shm.map_range(0, 0).is_err());
}

#[test]
fn map_range_at_an_unaligned_offset() {
    let (name, _g) = guarded(Kind::Shm, "shm-range");
    let shm = SharedMemory::create(&name, 3 * page()).unwrap();
    let all = shm.map().unwrap();
    let data: Vec<u8> = (0..=255).cycle().take(all.len()).collect();
    all.write_at(0, &data).unwrap();
    let offset = page() + 17;
    let part = shm.map_range(offset, 100).unwrap();
    assert_eq!(part.len(), 100);
    assert_eq!(part.to_vec(), &data[offset as usize..offset as usize + 100]);
    part.write_at(0, b"XY").unwrap();
    assert_eq!(all.read_vec(offset as usize, 2).unwrap(), b"XY");
}

#[test]
fn out_of_range_access_is_an_error_not_a_crash() {
    let (shm, _g) = setup();
    let map = shm.map().unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(
        map.read_at(3330, &mut buf).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert!(map.write_at(usize::MAX, b"x").is_err());
    assert!(map.read_vec(3333, 1).is_err());
    map.read_at(3323, &mut buf).unwrap();
}

#[test]
fn two_mappings_see_each_others_writes() {
    let (shm, _g) = setup();
    let a = shm.map().unwrap();
    let other = SharedMemory::open(shm.name()).unwrap();
    let b = other.map().unwrap();
    a.write_at(1000, b"shared").unwrap();
    assert_eq!(b.read_vec(1000, 6).unwrap(), b"shared");
    b.flush().unwrap();
}

#[test]
fn shared_memory_names_may_not_shadow_semaphores() {
    let err = SharedMemory::create("/sem.shadow", 10).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidName);
}

#[test]
fn read_only_with_truncate_is_refused() {
    let (shm, _g) = setup();
    let err = SharedMemory::new(Some(shm.name()), O_TRUNC, 0o600, 0, true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(shm.size().unwrap(), 3333);
}
