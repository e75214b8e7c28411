//! Randomised tests (issue 6) of what parses or validates input from outside, through the real
//! kernel objects: names (every accepted name really is created and removed), the headers of
//! `Shared<T>` and ring segments written by "another process" (random bytes and single-field
//! mutations of a valid header), and typed decoding of raw queue messages.
//!
//! proptest (stable toolchain), each property with an explicit case count; the number of cases
//! generated is printed on stderr (uncaptured) at the end of each property. The pure properties
//! (name model, timeouts, layout fingerprint and exports) are unit tests in `name.rs`,
//! `timeout.rs` and `typed/layout.rs` of posix-ipc-core.
//!
//! Every object has a unique `/pit-<pid>-…` name and a guard that removes it, also when a case
//! fails.

mod common;

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use common::{guard, guarded, say, Kind};
use posix_ipc::typed::{RING_MAGIC, RING_VERSION, SHARED_MAGIC, SHARED_VERSION};
use posix_ipc::{
    ErrorKind, IpcMessage, MessageQueue, Receiver, RingMode, RingReceiver, RingSender, Semaphore,
    Shared, SharedMemory, Timeout,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

/// Runs `test` on `cases` values of `strategy` and prints how many cases were generated (the
/// figure `scripts/reliability` puts in RELIABILITY.md).
fn run<S: Strategy>(
    label: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) {
    let count = Cell::new(0u64);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |v| {
        count.set(count.get() + 1);
        test(v)
    });
    say(&format!(
        "randomised property {label}: {} cases generated ({cases} configured)",
        count.get()
    ));
    if let Err(e) = result {
        panic!("property {label} failed: {e}");
    }
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

// --- message types of different sizes and alignments ---------------------------------------------

#[derive(Clone, Copy, Debug, IpcMessage)]
#[repr(C)]
struct Byte1 {
    b: u8,
}

#[derive(Clone, Copy, Debug, IpcMessage)]
#[repr(C)]
struct Mid8 {
    a: u32,
    b: u16,
    c: i16,
}

#[derive(Clone, Copy, Debug, IpcMessage)]
#[repr(C)]
struct Wide40 {
    v: f64,
    w: [u32; 6],
    t: i64,
}

#[derive(Clone, Copy, Debug, IpcMessage)]
#[repr(C)]
struct Big48 {
    a: u128,
    b: [u8; 16],
    c: i16,
    d: [u8; 14],
}

// --- 1. names: every name the model accepts is a real object -------------------------------------

/// The naming rules of the `name` module's docs, over bytes: the normalised name, or `None` if
/// invalid.
fn name_model(kind: Kind, name: &str) -> Option<String> {
    let body = name.strip_prefix('/').unwrap_or(name).as_bytes();
    let limit = if matches!(kind, Kind::Sem) { 251 } else { 255 };
    let ok = !body.is_empty()
        && !body.contains(&b'/')
        && !body.contains(&0)
        && body != b"."
        && body != b".."
        && body.len() <= limit
        && !(matches!(kind, Kind::Shm) && body.starts_with(b"sem."));
    ok.then(|| format!("/{}", String::from_utf8_lossy(body)))
}

/// The file the kernel or glibc keeps for a name (`/dev/mqueue` is mounted on Linux test
/// machines; if it is not, queues are checked by open/unlink only).
fn backing_file(kind: Kind, normalised: &str) -> Option<std::path::PathBuf> {
    let body = &normalised[1..];
    match kind {
        Kind::Shm => Some(Path::new("/dev/shm").join(body)),
        Kind::Sem => Some(Path::new("/dev/shm").join(format!("sem.{body}"))),
        Kind::Mq => Path::new("/dev/mqueue")
            .is_dir()
            .then(|| Path::new("/dev/mqueue").join(body)),
    }
}

/// Creates, reopens (by the other spelling), unlinks and checks the name is gone.
fn create_and_remove(kind: Kind, given: &str, normalised: &str) -> TestCaseResult {
    let other = match given.strip_prefix('/') {
        Some(bare) => bare.to_owned(),
        None => format!("/{given}"),
    };
    let file = backing_file(kind, normalised);
    let made_name = match kind {
        Kind::Shm => SharedMemory::create(given, 1).map(|o| o.name().to_owned()),
        Kind::Sem => Semaphore::create(given, 0).map(|o| o.name().to_owned()),
        Kind::Mq => MessageQueue::create(given, 1, 1).map(|o| o.name().to_owned()),
    }
    .map_err(|e| {
        fail(format!(
            "{kind:?} {given:?} is valid but create failed: {e}"
        ))
    })?;
    prop_assert_eq!(made_name.as_str(), normalised);
    if let Some(file) = &file {
        prop_assert!(file.exists(), "{:?} made no {:?}", given, file);
    }
    let reopened = match kind {
        Kind::Shm => SharedMemory::open(&other).map(|o| o.name().to_owned()),
        Kind::Sem => Semaphore::open(&other).map(|o| o.name().to_owned()),
        Kind::Mq => MessageQueue::open(&other).map(|o| o.name().to_owned()),
    }
    .map_err(|e| {
        fail(format!(
            "{kind:?} {other:?} (other spelling) not found: {e}"
        ))
    })?;
    prop_assert_eq!(reopened.as_str(), normalised);
    match kind {
        Kind::Shm => posix_ipc::unlink_shared_memory(given),
        Kind::Sem => posix_ipc::unlink_semaphore(given),
        Kind::Mq => posix_ipc::unlink_message_queue(given),
    }
    .map_err(|e| fail(format!("{kind:?} {given:?}: unlink failed: {e}")))?;
    if let Some(file) = &file {
        prop_assert!(!file.exists(), "{:?} left {:?}", given, file);
    }
    let gone = match kind {
        Kind::Shm => SharedMemory::open(normalised).err(),
        Kind::Sem => Semaphore::open(normalised).err(),
        Kind::Mq => MessageQueue::open(normalised).err(),
    };
    prop_assert_eq!(gone.map(|e| e.kind()), Some(ErrorKind::NotFound));
    Ok(())
}

/// Suffixes for `pit-<pid>-prop-`: valid bytes of every width (and `.`, spaces, control
/// characters), lengths short or around each kind's limit, and in one case out of four a `/`
/// or NUL inserted somewhere.
fn name_cases() -> impl Strategy<Value = (Kind, bool, String)> {
    let kind = prop::sample::select(vec![Kind::Shm, Kind::Sem, Kind::Mq]);
    let chars = prop::collection::vec(
        prop_oneof![
            20 => prop::sample::select(vec!['a', 'z', '0', '.', '-', '_', ' ', '%', '~', '#']),
            4 => prop::sample::select(vec!['é', '€', '😀', '\n', '\t', '\u{7f}', 'ÿ']),
            1 => any::<char>().prop_filter("valid in a name", |c| *c != '/' && *c != '\0'),
        ],
        0..300,
    );
    let length = prop_oneof![1 => 1usize..40, 2 => 0usize..4];
    let invalid = prop_oneof![
        3 => Just(None),
        1 => (prop::sample::select(vec!['/', '\0']), any::<proptest::sample::Index>()).prop_map(Some),
    ];
    (kind, any::<bool>(), chars, length, any::<bool>(), invalid).prop_map(
        |(kind, slash, chars, length, fill_to_limit, invalid)| {
            let prefix = format!("pit-{}-prop-", std::process::id());
            let limit: usize = if matches!(kind, Kind::Sem) { 251 } else { 255 };
            // Either a short suffix, or one that makes the body 1 byte over the limit, exactly
            // at it, or 1 or 2 bytes under it (multi-byte characters that would overshoot are
            // replaced by 'a').
            let target = if fill_to_limit {
                (limit + 1).saturating_sub(prefix.len() + length)
            } else {
                length.max(1)
            };
            let mut suffix = String::new();
            for c in chars.iter().copied().chain(std::iter::repeat('a')) {
                if suffix.len() >= target {
                    break;
                }
                suffix.push(if suffix.len() + c.len_utf8() > target {
                    'a'
                } else {
                    c
                });
            }
            if let Some((c, at)) = invalid {
                let boundaries: Vec<usize> = suffix
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([suffix.len()])
                    .collect();
                suffix.insert(boundaries[at.index(boundaries.len())], c);
            }
            let name = format!("{}{prefix}{suffix}", if slash { "/" } else { "" });
            (kind, slash, name)
        },
    )
}

#[test]
fn every_valid_name_is_created_and_removed_and_every_invalid_one_refused() {
    // Accepted names, accepted names exactly at their kind's length limit, refused names.
    let (valid, at_limit, invalid) = (Cell::new(0u64), Cell::new(0u64), Cell::new(0u64));
    run(
        "names::create_unlink_differential",
        200,
        name_cases(),
        |(kind, _slash, name)| match name_model(kind, &name) {
            Some(normalised) => {
                valid.set(valid.get() + 1);
                let limit = if matches!(kind, Kind::Sem) { 251 } else { 255 };
                if normalised.len() - 1 == limit {
                    at_limit.set(at_limit.get() + 1);
                }
                let _cleanup = guard(kind, &normalised);
                create_and_remove(kind, &name, &normalised)
            }
            None => {
                invalid.set(invalid.get() + 1);
                let err = match kind {
                    Kind::Shm => SharedMemory::create(&name, 1).err(),
                    Kind::Sem => Semaphore::create(&name, 0).err(),
                    Kind::Mq => MessageQueue::create(&name, 1, 1).err(),
                };
                prop_assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidName));
                Ok(())
            }
        },
    );
    say(&format!(
        "randomised property names::create_unlink_differential: {} valid names created and \
         removed ({} exactly at the length limit), {} invalid names refused",
        valid.get(),
        at_limit.get(),
        invalid.get()
    ));
}

// --- 3. segment headers written by another process -----------------------------------------------

/// What opening a segment must give, per the documented layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Ok,
    Mismatch,
    NotInitialized,
}

fn outcome<T>(r: &posix_ipc::Result<T>) -> Expect {
    match r {
        Ok(_) => Expect::Ok,
        Err(e) if e.kind() == ErrorKind::Mismatch => Expect::Mismatch,
        Err(e) if e.kind() == ErrorKind::NotInitialized => Expect::NotInitialized,
        Err(e) => panic!("unexpected error kind {:?}: {e}", e.kind()),
    }
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_ne_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_ne_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

/// Creates a segment holding exactly `bytes` (its size is `bytes.len()`).
fn segment(tag: &str, bytes: &[u8]) -> (String, common::Cleanup) {
    let (name, cleanup) = guarded(Kind::Shm, tag);
    let shm = SharedMemory::create(&name, bytes.len() as u64).expect("create the test segment");
    if !bytes.is_empty() {
        shm.map()
            .expect("map the test segment")
            .write_at(0, bytes)
            .expect("write the test segment");
    }
    (name, cleanup)
}

/// A mutation of one header field: which field, and a raw value (interpreted per field).
#[derive(Clone, Copy, Debug)]
struct Mutation {
    field: u8,
    value: u64,
    near: u8,
}

fn mutations(fields: u8) -> impl Strategy<Value = Vec<Mutation>> {
    let value = prop_oneof![
        3 => any::<u64>(),
        2 => 0u64..4,
        1 => Just(u64::MAX),
        2 => (0u32..64).prop_map(|k| 1u64 << k),
    ];
    prop::collection::vec(
        (0..fields, value, 0u8..4).prop_map(|(field, value, near)| Mutation { field, value, near }),
        0..3,
    )
}

/// `v`, or a value "near" `valid` (equal, one off either way, zero), as `m.near` says; used so
/// that mutations often hit the boundary instead of only random values.
fn pick(m: &Mutation, valid: u64) -> u64 {
    match m.near {
        0 => m.value,
        1 => valid.wrapping_add(1),
        2 => valid.wrapping_sub(1),
        _ => valid,
    }
}

/// A segment case: its first 64 bytes, its length, and a seed for the bytes after the header.
#[derive(Clone, Debug)]
struct SegCase {
    header: Vec<u8>,
    len: usize,
    seed: u64,
}

impl SegCase {
    /// The segment: header, then pseudo-random bytes (`random_tail`) or zeros, cut to `len`.
    fn bytes(&self, random_tail: bool) -> Vec<u8> {
        let mut out = self.header.clone();
        let mut x = self.seed | 1;
        while out.len() < self.len {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(if random_tail { x as u8 } else { 0 });
        }
        out.truncate(self.len);
        out
    }
}

/// Segment lengths around `small` (the least an opener waits for) and `total` (what a valid
/// header promises).
fn lengths(small: usize, total: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        1 => 0..small,
        1 => Just(small),
        1 => small..total,
        3 => Just(total),
        1 => Just(total - 1),
        2 => total..total + 300,
    ]
}

/// Header sources: a valid header with 0 to 2 field mutations, a header with the right magic
/// and version but random fields, or 64 random bytes.
fn headers(valid: Vec<u8>, keep: usize) -> impl Strategy<Value = (Vec<u8>, Vec<Mutation>)> {
    let valid2 = valid.clone();
    prop_oneof![
        6 => mutations(10).prop_map(move |m| (valid.clone(), m)),
        1 => prop::collection::vec(any::<u8>(), 64).prop_map(move |mut h| {
            h[..keep].copy_from_slice(&valid2[..keep]);
            (h, Vec::new())
        }),
        1 => prop::collection::vec(any::<u8>(), 64).prop_map(|h| (h, Vec::new())),
    ]
}

fn shared_total<T>() -> usize {
    let stride = std::mem::size_of::<T>().div_ceil(64).max(1) * 64;
    64 + 2 * stride
}

/// A valid `Shared<T>` header, written from the table in the `Shared` documentation.
fn shared_header<T: IpcMessage>() -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[0..8].copy_from_slice(&SHARED_MAGIC);
    h[8..12].copy_from_slice(&SHARED_VERSION.to_ne_bytes());
    h[12..16].copy_from_slice(&64u32.to_ne_bytes());
    h[16..24].copy_from_slice(&T::FINGERPRINT.to_ne_bytes());
    h[24..32].copy_from_slice(&(std::mem::size_of::<T>() as u64).to_ne_bytes());
    h[32..36].copy_from_slice(&1u32.to_ne_bytes());
    h
}

/// Applies field mutations to a `Shared` header: magic, version, header_size, fingerprint,
/// size, ready, lock, seq, reserved (and a second magic byte).
fn mutate_shared(h: &mut [u8], muts: &[Mutation]) {
    for m in muts {
        let put32 = |h: &mut [u8], o: usize| {
            let v = pick(m, u64::from(u32_at(h, o))) as u32;
            h[o..o + 4].copy_from_slice(&v.to_ne_bytes());
        };
        let put64 = |h: &mut [u8], o: usize| {
            let v = pick(m, u64_at(h, o));
            h[o..o + 8].copy_from_slice(&v.to_ne_bytes());
        };
        match m.field {
            0 => h[(m.value % 8) as usize] ^= (m.value >> 8) as u8 | 1,
            1 => put32(h, 8),
            2 => put32(h, 12),
            3 => put64(h, 16),
            4 => put64(h, 24),
            5 => put32(h, 32),
            6 => put32(h, 36),
            7 => put64(h, 40),
            8 => put64(h, 48 + (m.value % 2) as usize * 8),
            _ => h[7] = m.value as u8,
        }
    }
}

/// Whether these magic bytes are ours or still being written: every byte is 0 or the magic's.
/// An opener waits for such a segment's creator if the segment has the size its creator makes
/// (and reports "not initialised" when the wait ends); any other magic or size is a foreign
/// segment, refused at once.
fn magic_in_progress(seg: &[u8], magic: &[u8; 8]) -> bool {
    seg[0..8].iter().zip(magic).all(|(&b, &m)| b == 0 || b == m)
}

/// What `Shared::<T>::open` must give for these segment bytes (its documentation and layout
/// table): an empty segment, a blank or partly written magic in a segment of the exact
/// size the creator makes, or the right magic without the ready flag is "not initialised yet"
/// (the header is only trusted once ready); a foreign magic, a blank one at another size, a
/// non-zero version other than ours, another type's fingerprint or size, or a non-empty segment
/// smaller than a creator makes is a mismatch. `header_size`, `lock`, `seq` and the reserved bytes are not
/// checked at open.
fn shared_expect<T: IpcMessage>(seg: &[u8]) -> Expect {
    // An empty segment may be a creator's between `shm_open` and `ftruncate`; a creator sizes
    // it in one step, so a non-empty one smaller than that is someone else's.
    if seg.is_empty() {
        return Expect::NotInitialized;
    }
    if seg.len() < shared_total::<T>() {
        return Expect::Mismatch;
    }
    if seg[0..8] != SHARED_MAGIC {
        // Only a segment of the exact size a creator makes can be one in the making.
        return if magic_in_progress(seg, &SHARED_MAGIC) && seg.len() == shared_total::<T>() {
            Expect::NotInitialized
        } else {
            Expect::Mismatch
        };
    }
    // Another layout version is refused at once; version 0 may still be being written.
    let version = u32_at(seg, 8);
    if version != 0 && version != SHARED_VERSION {
        return Expect::Mismatch;
    }
    if u32_at(seg, 32) != 1 {
        return Expect::NotInitialized;
    }
    if version != SHARED_VERSION {
        return Expect::Mismatch;
    }
    if u64_at(seg, 16) != T::FINGERPRINT || u64_at(seg, 24) != std::mem::size_of::<T>() as u64 {
        return Expect::Mismatch;
    }
    if seg.len() < shared_total::<T>() {
        return Expect::Mismatch;
    }
    Expect::Ok
}

fn shared_cases<T: IpcMessage>() -> impl Strategy<Value = SegCase> {
    (
        headers(shared_header::<T>(), 12),
        lengths(64, shared_total::<T>()),
        any::<u64>(),
    )
        .prop_map(|((mut header, muts), len, seed)| {
            mutate_shared(&mut header, &muts);
            SegCase { header, len, seed }
        })
}

fn check_shared<T: IpcMessage + std::fmt::Debug>(case: &SegCase, tally: &Tally) -> TestCaseResult {
    let seg = case.bytes(true);
    let want = shared_expect::<T>(&seg);
    tally.add(want);
    let (name, _cleanup) = segment("rnd-shared", &seg);
    // No waiting for a creator: there is none.
    let got = Shared::<T>::open_timeout(&name, Duration::ZERO);
    prop_assert_eq!(outcome(&got), want, "{:?}", got.as_ref().err());
    if want != Expect::NotInitialized {
        // The default open reaches the same verdict without waiting.
        let again = Shared::<T>::open(&name);
        prop_assert_eq!(outcome(&again), want, "{:?}", again.as_ref().err());
    }
    if let Ok(shared) = got {
        // The value is the copy in slot `seq & 1`, at the documented offset.
        let stride = (shared_total::<T>() - 64) / 2;
        let slot = 64 + (u64_at(&seg, 40) & 1) as usize * stride;
        let value = shared.load();
        prop_assert_eq!(
            bytemuck::bytes_of(&value),
            &seg[slot..slot + std::mem::size_of::<T>()]
        );
        prop_assert_eq!(Shared::<T>::slot_offset(u64_at(&seg, 40) as usize), slot);
    }
    Ok(())
}

#[test]
fn shared_open_accepts_only_a_consistent_header() {
    let tally = Tally::default();
    run(
        "headers::shared_open",
        256,
        prop_oneof![
            shared_cases::<Mid8>().prop_map(|c| (0, c)),
            shared_cases::<Wide40>().prop_map(|c| (1, c)),
            shared_cases::<Byte1>().prop_map(|c| (2, c)),
        ],
        |(ty, case)| match ty {
            0 => check_shared::<Mid8>(&case, &tally),
            1 => check_shared::<Wide40>(&case, &tally),
            _ => check_shared::<Byte1>(&case, &tally),
        },
    );
    tally.show("headers::shared_open");
}

const RING_SLOTS: usize = 4096;

fn ring_stride<T>(mode: RingMode) -> usize {
    let size = std::mem::size_of::<T>();
    match mode {
        RingMode::Spsc => size.div_ceil(16) * 16,
        RingMode::Mpmc => (size + 16).div_ceil(64) * 64,
    }
}

/// A valid ring header for `T`, from the layout table in `posix_ipc::typed::ring`.
fn ring_header<T: IpcMessage>(mode: RingMode, capacity: u64) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[0..8].copy_from_slice(&RING_MAGIC);
    h[8..12].copy_from_slice(&RING_VERSION.to_ne_bytes());
    let code: u32 = if mode == RingMode::Mpmc { 1 } else { 0 };
    h[12..16].copy_from_slice(&code.to_ne_bytes());
    h[16..24].copy_from_slice(&T::FINGERPRINT.to_ne_bytes());
    h[24..32].copy_from_slice(&(std::mem::size_of::<T>() as u64).to_ne_bytes());
    h[32..40].copy_from_slice(&capacity.to_ne_bytes());
    h[40..48].copy_from_slice(&(ring_stride::<T>(mode) as u64).to_ne_bytes());
    h[48..56].copy_from_slice(&(RING_SLOTS as u64).to_ne_bytes());
    h[56..60].copy_from_slice(&1u32.to_ne_bytes());
    h
}

/// Field mutations of a ring header: magic, version, mode, fingerprint, size, capacity,
/// stride, slot offset, the unused bytes 60..64, and a second magic byte. (`ready` is in the
/// slow property below: a ring not marked ready is waited for.)
fn mutate_ring(h: &mut [u8], muts: &[Mutation]) {
    for m in muts {
        let put32 = |h: &mut [u8], o: usize| {
            let v = pick(m, u64::from(u32_at(h, o))) as u32;
            h[o..o + 4].copy_from_slice(&v.to_ne_bytes());
        };
        let put64 = |h: &mut [u8], o: usize| {
            let v = pick(m, u64_at(h, o));
            h[o..o + 8].copy_from_slice(&v.to_ne_bytes());
        };
        match m.field {
            0 => h[(m.value % 8) as usize] ^= (m.value >> 8) as u8 | 1,
            1 => put32(h, 8),
            2 => put32(h, 12),
            3 => put64(h, 16),
            4 => put64(h, 24),
            5 => put64(h, 32),
            6 => put64(h, 40),
            7 => put64(h, 48),
            8 => put32(h, 60),
            _ => h[0] = m.value as u8,
        }
    }
}

/// The verdict for a ring segment per its documented layout, plus the deviations the code is
/// known to have (see `known_ring_bugs_*` below).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RingExpect {
    Is(Expect),
    /// The documentation says Mismatch; either is accepted. No case needs it since the ring
    /// checks its mode word and capacity; kept so a future deviation can be recorded.
    #[expect(dead_code, reason = "no deviation is known at present")]
    OkOrMismatch(&'static str),
    /// `4096 + capacity × stride` overflows u64: the code panics (debug) or maps too little
    /// (release). Not opened; reported, and reproduced by an ignored test.
    Overflow,
}

fn ring_expect<T: IpcMessage>(seg: &[u8]) -> RingExpect {
    if seg.is_empty() {
        return RingExpect::Is(Expect::NotInitialized);
    }
    if seg.len() < RING_SLOTS {
        return RingExpect::Is(Expect::Mismatch);
    }
    if seg[0..8] != RING_MAGIC {
        // Only a segment of a size a creator makes (control block plus 2 to 2^30 slots, a
        // power of two, of either stride) can be one in the making.
        let made = [RingMode::Spsc, RingMode::Mpmc].iter().any(|&mode| {
            let stride = ring_stride::<T>(mode);
            let slots = seg.len() - RING_SLOTS;
            slots % stride == 0
                && (slots / stride).is_power_of_two()
                && (2..=1 << 30).contains(&(slots / stride))
        });
        return RingExpect::Is(if magic_in_progress(seg, &RING_MAGIC) && made {
            Expect::NotInitialized
        } else {
            Expect::Mismatch
        });
    }
    let version = u32_at(seg, 8);
    if version != 0 && version != RING_VERSION {
        return RingExpect::Is(Expect::Mismatch);
    }
    if u32_at(seg, 56) != 1 {
        return RingExpect::Is(Expect::NotInitialized);
    }
    if version != RING_VERSION {
        return RingExpect::Is(Expect::Mismatch);
    }
    if u64_at(seg, 16) != T::FINGERPRINT || u64_at(seg, 24) != std::mem::size_of::<T>() as u64 {
        return RingExpect::Is(Expect::Mismatch);
    }
    // The rest, for a given reading of the mode word.
    let rest = |mode: RingMode| -> RingExpect {
        let capacity = u64_at(seg, 32);
        let stride = ring_stride::<T>(mode) as u64;
        if !capacity.is_power_of_two()
            || capacity < 2
            || u64_at(seg, 40) != stride
            || u64_at(seg, 48) != RING_SLOTS as u64
        {
            return RingExpect::Is(Expect::Mismatch);
        }
        let Some(total) = capacity
            .checked_mul(stride)
            .and_then(|n| n.checked_add(RING_SLOTS as u64))
        else {
            return RingExpect::Is(Expect::Mismatch);
        };
        if (seg.len() as u64) < total {
            return RingExpect::Is(Expect::Mismatch);
        }
        RingExpect::Is(Expect::Ok)
    };
    match u32_at(seg, 12) {
        0 => rest(RingMode::Spsc),
        1 => rest(RingMode::Mpmc),
        _ => RingExpect::Is(Expect::Mismatch),
    }
}

fn ring_cases<T: IpcMessage>() -> impl Strategy<Value = SegCase> {
    (
        prop::sample::select(vec![RingMode::Spsc, RingMode::Mpmc]),
        prop::sample::select(vec![2u64, 4, 8]),
    )
        .prop_flat_map(|(mode, capacity)| {
            let total = RING_SLOTS + capacity as usize * ring_stride::<T>(mode);
            (
                prop_oneof![
                    6 => mutations(10).prop_map(move |m| (ring_header::<T>(mode, capacity), m)),
                    1 => prop::collection::vec(any::<u8>(), 64).prop_map(move |mut h| {
                        h[..12].copy_from_slice(&ring_header::<T>(mode, capacity)[..12]);
                        h[56..60].copy_from_slice(&1u32.to_ne_bytes());
                        (h, Vec::new())
                    }),
                    1 => prop::collection::vec(any::<u8>(), 64).prop_map(|h| (h, Vec::new())),
                    // A valid header but for a capacity of any power of two (or 0), often one
                    // whose slots would not fit in 64 bits.
                    1 => prop_oneof![0u32..64, 56u32..64].prop_map(move |k| {
                        let mut h = ring_header::<T>(mode, capacity);
                        h[32..40].copy_from_slice(&(1u64 << k).to_ne_bytes());
                        (h, Vec::new())
                    }),
                    // A valid header but for the mode word.
                    1 => prop_oneof![0u32..4, any::<u32>()].prop_map(move |code| {
                        let mut h = ring_header::<T>(mode, capacity);
                        h[12..16].copy_from_slice(&code.to_ne_bytes());
                        (h, Vec::new())
                    }),
                ],
                prop_oneof![
                    1 => Just(RING_SLOTS),
                    3 => Just(total),
                    1 => Just(total - 1),
                    1 => RING_SLOTS..total,
                    2 => total..total + 700,
                ],
                any::<u64>(),
            )
        })
        .prop_map(|((mut header, muts), len, seed)| {
            mutate_ring(&mut header, &muts);
            if u32_at(&header, 56) != 1 {
                // Only the fully random header can get here: keep this property fast (an
                // unready ring is waited for, a second per open) and test that below.
                header[56..60].copy_from_slice(&1u32.to_ne_bytes());
            }
            if header[0..8] != RING_MAGIC && magic_in_progress(&header, &RING_MAGIC) {
                // A mutation blanked magic bytes: such a ring is waited for too (the slow
                // property below has it); here make the magic foreign instead.
                header[0] = b'X';
            }
            SegCase { header, len, seed }
        })
}

struct RingTally {
    deviations: Cell<u64>,
    overflows: Cell<u64>,
    verdicts: Tally,
}

/// How many cases ended in each verdict (so a run shows the generator reaches them all).
#[derive(Default)]
struct Tally {
    ok: Cell<u64>,
    mismatch: Cell<u64>,
    not_initialized: Cell<u64>,
}

impl Tally {
    fn add(&self, e: Expect) {
        let c = match e {
            Expect::Ok => &self.ok,
            Expect::Mismatch => &self.mismatch,
            Expect::NotInitialized => &self.not_initialized,
        };
        c.set(c.get() + 1);
    }

    fn show(&self, label: &str) {
        say(&format!(
            "randomised property {label}: verdicts Ok {}, Mismatch {}, NotInitialized {}",
            self.ok.get(),
            self.mismatch.get(),
            self.not_initialized.get()
        ));
    }
}

fn check_ring<T: IpcMessage + std::fmt::Debug>(
    case: &SegCase,
    value: T,
    tally: &RingTally,
) -> TestCaseResult {
    // Zeros after the header: the index, futex and peer-table words of a fresh ring.
    let seg = case.bytes(false);
    let want = ring_expect::<T>(&seg);
    if want == RingExpect::Overflow {
        tally.overflows.set(tally.overflows.get() + 1);
        return Ok(());
    }
    let (name, _cleanup) = segment("rnd-ring", &seg);
    let rx = RingReceiver::<T>::open(&name);
    let tx = RingSender::<T>::open(&name);
    tally.verdicts.add(outcome(&rx));
    for got in [outcome(&rx), outcome(&tx)] {
        match want {
            RingExpect::Is(e) => {
                prop_assert_eq!(got, e, "{:?} / {:?}", rx.as_ref().err(), tx.as_ref().err())
            }
            RingExpect::OkOrMismatch(why) => {
                prop_assert!(
                    got == Expect::Ok || got == Expect::Mismatch,
                    "{}: {:?}",
                    why,
                    got
                );
                if got == Expect::Ok {
                    tally.deviations.set(tally.deviations.get() + 1);
                }
            }
            RingExpect::Overflow => unreachable!("returned above"),
        }
    }
    if let (Ok(rx), Ok(tx)) = (rx, tx) {
        let mode = if u32_at(&seg, 12) == 1 {
            RingMode::Mpmc
        } else {
            RingMode::Spsc
        };
        prop_assert_eq!((rx.capacity() as u64, rx.mode()), (u64_at(&seg, 32), mode));
        prop_assert_eq!((tx.capacity() as u64, tx.mode()), (u64_at(&seg, 32), mode));
        // The mapping really covers the slots the header promises: a message goes through.
        tx.try_send(&value)
            .map_err(|e| fail(format!("send on an accepted ring: {e}")))?;
        let back = rx
            .try_recv()
            .map_err(|e| fail(format!("receive on an accepted ring: {e}")))?;
        prop_assert_eq!(bytemuck::bytes_of(&back), bytemuck::bytes_of(&value));
    }
    Ok(())
}

#[test]
fn ring_open_accepts_only_a_consistent_header() {
    let tally = RingTally {
        deviations: Cell::new(0),
        overflows: Cell::new(0),
        verdicts: Tally::default(),
    };
    run(
        "headers::ring_open",
        256,
        prop_oneof![
            (ring_cases::<Mid8>(), any::<[u8; 8]>()).prop_map(|(c, v)| (0, c, v)),
            (ring_cases::<Wide40>(), any::<[u8; 8]>()).prop_map(|(c, v)| (1, c, v)),
        ],
        |(ty, case, v)| match ty {
            0 => check_ring::<Mid8>(&case, bytemuck::pod_read_unaligned(&v), &tally),
            _ => check_ring::<Wide40>(
                &case,
                Wide40 {
                    v: f64::from_ne_bytes(v),
                    w: [u32::from(v[0]); 6],
                    t: i64::from(v[1]),
                },
                &tally,
            ),
        },
    );
    say(&format!(
        "randomised property headers::ring_open: {} opens accepted a header the layout table \
         calls inconsistent (mode word not 0/1, or capacity 1); {} cases had a capacity whose \
         slot size overflows u64 and were not opened (must stay 0)",
        tally.deviations.get(),
        tally.overflows.get()
    ));
    tally.verdicts.show("headers::ring_open");
}

/// An empty ring segment, one with a blank or half-written magic, or one not marked ready: "not
/// initialised" after the one-second wait for a creator (hence few cases). (A non-empty one
/// smaller than the control block is refused at once: creators size it in one step.)
#[test]
fn ring_open_waits_then_reports_an_unfinished_ring() {
    run(
        "headers::ring_not_initialised",
        6,
        (
            prop_oneof![
                Just((0usize, 1u32, 0u8)),
                prop_oneof![Just(0u32), 2u32..].prop_map(|ready| (RING_SLOTS + 4 * 16, ready, 0)),
                // A creator that has sized the segment but not yet written (all of) the magic.
                (1u8..=255).prop_map(|blank| (RING_SLOTS + 4 * 16, 1, blank)),
            ],
            any::<bool>(),
        ),
        |((len, ready, blank), sender)| {
            let mut seg = ring_header::<Mid8>(RingMode::Spsc, 4);
            seg[56..60].copy_from_slice(&ready.to_ne_bytes());
            for (i, byte) in seg[0..8].iter_mut().enumerate() {
                if blank & (1 << i) != 0 {
                    *byte = 0;
                }
            }
            seg.resize(len.max(64), 0);
            seg.truncate(len);
            prop_assert_eq!(
                ring_expect::<Mid8>(&seg),
                RingExpect::Is(Expect::NotInitialized)
            );
            let (name, _cleanup) = segment("rnd-ring-unready", &seg);
            let got = if sender {
                outcome(&RingSender::<Mid8>::open(&name))
            } else {
                outcome(&RingReceiver::<Mid8>::open(&name))
            };
            prop_assert_eq!(got, Expect::NotInitialized);
            Ok(())
        },
    );
}

/// Regression (found by `headers::ring_open`): a ring header whose capacity is a power of two so
/// large that `4096 + capacity × stride` overflows u64 once made the open panic (debug) or map
/// too little (release). It must be `ErrorKind::Mismatch`.
#[test]
fn ring_capacity_overflow_is_a_mismatch() {
    let mut seg = ring_header::<Mid8>(RingMode::Spsc, 1 << 60);
    seg.resize(RING_SLOTS + 64, 0);
    let (name, _cleanup) = segment("rnd-ring-overflow", &seg);
    let got = std::panic::catch_unwind(|| RingReceiver::<Mid8>::open(&name).map(|_| ()));
    match got {
        Ok(Err(e)) => assert_eq!(e.kind(), ErrorKind::Mismatch, "{e}"),
        Ok(Ok(())) => panic!(
            "accepted a ring of 2^60 slots in a {}-byte segment",
            seg.len()
        ),
        Err(_) => panic!("RingReceiver::open panicked on a 2^60-slot header"),
    }
}

/// Regression (found by `headers::ring_open`): a mode word other than 0 (SPSC) or 1 (MPMC) once
/// opened as SPSC; it is a mismatch.
#[test]
fn ring_unknown_mode_is_a_mismatch() {
    let mut seg = ring_header::<Mid8>(RingMode::Spsc, 4);
    seg[12..16].copy_from_slice(&7u32.to_ne_bytes());
    seg.resize(RING_SLOTS + 4 * 16, 0);
    let (name, _cleanup) = segment("rnd-ring-mode", &seg);
    let err = RingReceiver::<Mid8>::open(&name).expect_err("a ring with mode word 7 is refused");
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
}

/// The kernel thread id of the calling thread (from `/proc/thread-self`, no `unsafe`).
fn thread_id() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name()
        .and_then(|t| t.to_str())
        .and_then(|t| t.parse().ok())
        .expect("a thread id")
}

/// Waits until thread `tid` of this process is asleep (state `S` in its `/proc` stat line): the
/// opener under test has read the header, found it unfinished and gone to sleep in its back-off.
/// `false` if the thread ended first (it did not wait) or 5 s passed.
fn observed_asleep(tid: u32) -> bool {
    let path = format!("/proc/self/task/{tid}/stat");
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < until {
        let Ok(stat) = std::fs::read_to_string(&path) else {
            return false;
        };
        // "tid (comm) S ...": the state follows the last ')'.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        match state {
            Some('S') => return true,
            Some('Z') | Some('X') | None => return false,
            _ => std::thread::yield_now(),
        }
    }
    false
}

/// Regression (found by the bad-input suite): an opener that arrives while the creator has sized
/// the segment but not yet written its header saw zeros and got `Mismatch` at once. It must
/// treat that as "not ready": `NotInitialized` when it may not wait, and success once the
/// creator finishes when it may. Each round plays the creator by hand (the exact size, the
/// header without its ready word, then the ready word, stored atomically as `create` does).
/// The header is written only once the opener is seen asleep in its wait (its thread state in
/// `/proc`), so every round tests the wait, not a lucky ordering. Blank and half-written magic,
/// for `Shared`, the ring and `RobustMutex`'s cousin layouts share one code path; here `Shared`
/// and the ring, 25 rounds each.
#[test]
fn an_opener_racing_the_creator_waits_for_the_header() {
    const ROUNDS: usize = 25;
    for kind in ["shared", "ring"] {
        for round in 0..ROUNDS {
            let (header, total, ready) = creator_layout(kind);
            let (name, _cleanup) = guarded(Kind::Shm, &format!("race-{kind}-{round}"));
            let shm = SharedMemory::create(&name, total as u64).expect("size the segment");
            let map = shm.map().expect("map");
            // Half the rounds: the creator is part way through the magic.
            if round % 2 == 1 {
                map.write_at(0, &header[..3])
                    .expect("the first magic bytes");
            }
            let blank = if round == 0 {
                Some(open_as(kind, &name, Duration::ZERO))
            } else {
                None
            };
            let (tids, tid) = std::sync::mpsc::channel();
            let waited = std::thread::scope(|scope| {
                let opener = scope.spawn(|| {
                    tids.send(thread_id()).expect("the creator is waiting");
                    open_as(kind, &name, Duration::from_secs(5))
                });
                let tid = tid.recv().expect("the opener's thread id");
                assert!(
                    observed_asleep(tid),
                    "{kind} round {round}: the opener did not wait for the creator"
                );
                let mut plain = header.clone();
                plain[ready..ready + 4].fill(0);
                map.write_at(0, &plain[..ready]).expect("write the header");
                map.write_at(ready + 4, &plain[ready + 4..])
                    .expect("write the header");
                store_ready(&map, ready);
                opener.join().expect("the opener thread")
            });
            if let Some(blank) = blank {
                assert_eq!(
                    blank,
                    Expect::NotInitialized,
                    "{kind}: a blank segment of the creator's size is still being created"
                );
            }
            assert_eq!(
                waited,
                Expect::Ok,
                "{kind} round {round}: an opener that arrived during creation was refused"
            );
        }
        say(&format!(
            "startup race ({kind}): {ROUNDS}/{ROUNDS} openers seen waiting for the creator then \
             succeeded"
        ));
    }
}

/// A creator that fails removes its segment; an opener waiting for it must notice the name is
/// gone (`NotFound`) rather than wait out its deadline on a dead object and blame the creator.
#[test]
fn an_opener_waiting_for_a_creator_that_gives_up_gets_not_found() {
    for kind in ["shared", "ring"] {
        let (_, total, _) = creator_layout(kind);
        let (name, _cleanup) = guarded(Kind::Shm, &format!("gone-{kind}"));
        let shm = SharedMemory::create(&name, total as u64).expect("size the segment");
        let (tids, tid) = std::sync::mpsc::channel();
        let got = std::thread::scope(|scope| {
            let opener = scope.spawn(|| {
                tids.send(thread_id()).expect("the creator is waiting");
                if kind == "shared" {
                    Shared::<Mid8>::open_timeout(&name, Duration::from_secs(30)).map(drop)
                } else {
                    RingReceiver::<Mid8>::open(&name).map(drop)
                }
            });
            let tid = tid.recv().expect("the opener's thread id");
            assert!(observed_asleep(tid), "{kind}: the opener did not wait");
            shm.unlink().expect("the creator gives up");
            opener.join().expect("the opener thread")
        });
        let err = got.expect_err("the segment was removed");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{kind}: {err}");
        assert!(err.to_string().contains("removed while waiting"), "{err}");
    }
}

/// What a creator of `kind` ("shared" or "ring", for `Mid8`) writes: the header, the exact
/// segment size, and the offset of the ready word.
fn creator_layout(kind: &str) -> (Vec<u8>, usize, usize) {
    if kind == "shared" {
        (shared_header::<Mid8>(), shared_total::<Mid8>(), 32)
    } else {
        let h = ring_header::<Mid8>(RingMode::Spsc, 4);
        (h, RING_SLOTS + 4 * ring_stride::<Mid8>(RingMode::Spsc), 56)
    }
}

fn open_as(kind: &str, name: &str, wait: Duration) -> Expect {
    if kind == "shared" {
        outcome(&Shared::<Mid8>::open_timeout(name, wait))
    } else if wait.is_zero() {
        // The ring has no timed open: its one-second default (the sender's open is the same).
        outcome(&RingSender::<Mid8>::open(name))
    } else {
        outcome(&RingReceiver::<Mid8>::open(name))
    }
}

/// Stores 1 in the ready word at `offset` with `Release`, as the creators do.
fn store_ready(map: &posix_ipc::Mapping, offset: usize) {
    assert!(offset % 4 == 0 && offset + 4 <= map.len());
    // SAFETY: `offset` is 4-aligned and inside the page-aligned mapping, which lives for the
    // call; the ready word is only ever accessed atomically while openers may read it (the
    // header writes above leave it out).
    let word = unsafe {
        &*map
            .as_ptr()
            .add(offset)
            .cast::<std::sync::atomic::AtomicU32>()
    };
    word.store(1, std::sync::atomic::Ordering::Release);
}

// --- 4. typed decoding of raw messages -----------------------------------------------------------

/// A queue for `T` (4 messages of `size_of::<T>()` bytes), with a raw read-write handle to send
/// anything and the typed receiver under test.
struct TypedQueue<T: IpcMessage> {
    raw: MessageQueue,
    rx: Receiver<T>,
    _cleanup: common::Cleanup,
}

impl<T: IpcMessage> TypedQueue<T> {
    fn new(tag: &str) -> Self {
        let (name, cleanup) = guarded(Kind::Mq, tag);
        let raw = MessageQueue::create(&name, 4, std::mem::size_of::<T>()).expect("create");
        let rx = Receiver::<T>::open(&name).expect("typed receiver");
        TypedQueue {
            raw,
            rx,
            _cleanup: cleanup,
        }
    }

    /// Sends every message raw, then receives them all typed: each must decode iff it has the
    /// type's length, in the kernel's order (priority, then FIFO).
    fn check(&self, msgs: &[(Vec<u8>, u32)], tally: &Tally) -> TestCaseResult {
        while self.raw.try_receive().is_ok() {} // leftovers of a failed case
        let size = std::mem::size_of::<T>();
        let mut queued = Vec::new();
        for (bytes, priority) in msgs {
            match self.raw.try_send(bytes, *priority) {
                Ok(()) => {
                    prop_assert!(bytes.len() <= size, "{}-byte message accepted", bytes.len());
                    queued.push((bytes.clone(), *priority));
                }
                Err(e) => {
                    tally.add(Expect::NotInitialized);
                    prop_assert!(bytes.len() > size, "{}", e);
                    prop_assert_eq!(e.kind(), ErrorKind::MessageTooLarge, "{}", e);
                }
            }
        }
        // Highest priority first, FIFO within a priority (a stable sort).
        queued.sort_by_key(|(_, p)| std::cmp::Reverse(*p));
        for (bytes, priority) in queued {
            match self.rx.recv_with(Timeout::Immediate) {
                Ok((value, p)) => {
                    tally.add(Expect::Ok);
                    prop_assert_eq!(bytes.len(), size, "decoded a {}-byte message", bytes.len());
                    prop_assert_eq!(p, priority);
                    let want: T = bytemuck::pod_read_unaligned(&bytes);
                    prop_assert_eq!(bytemuck::bytes_of(&value), bytemuck::bytes_of(&want));
                }
                Err(e) => {
                    tally.add(Expect::Mismatch);
                    prop_assert_eq!(e.kind(), ErrorKind::WrongLength, "{}", e);
                    prop_assert_ne!(bytes.len(), size);
                    let returned = e
                        .into_returned()
                        .ok_or_else(|| fail("WrongLength without the bytes".into()))?;
                    prop_assert_eq!(&returned.bytes, &bytes);
                    prop_assert_eq!(returned.priority, priority);
                }
            }
        }
        let empty = self
            .rx
            .recv_with(Timeout::Immediate)
            .err()
            .map(|e| e.kind());
        prop_assert_eq!(empty, Some(ErrorKind::WouldBlock));
        Ok(())
    }
}

fn raw_messages(size: usize) -> impl Strategy<Value = Vec<(Vec<u8>, u32)>> {
    let len = prop_oneof![3 => Just(size), 2 => 0..=size + 4, 1 => Just(0usize)];
    let priority = prop_oneof![3 => 0u32..3, 1 => 0u32..=32767, 1 => Just(32767u32)];
    prop::collection::vec(
        (
            len.prop_flat_map(|n| prop::collection::vec(any::<u8>(), n)),
            priority,
        ),
        1..=4,
    )
}

#[test]
fn typed_receiver_decodes_exactly_the_messages_of_its_size() {
    let q1 = TypedQueue::<Byte1>::new("rnd-mq-1");
    let q8 = TypedQueue::<Mid8>::new("rnd-mq-8");
    let q40 = TypedQueue::<Wide40>::new("rnd-mq-40");
    let q48 = TypedQueue::<Big48>::new("rnd-mq-48");
    // Here Ok counts decoded messages, Mismatch WrongLength ones, NotInitialized messages
    // refused at send as too large.
    let tally = Tally::default();
    run(
        "decoding::typed_receiver",
        256,
        prop_oneof![
            raw_messages(1).prop_map(|m| (0, m)),
            raw_messages(8).prop_map(|m| (1, m)),
            raw_messages(40).prop_map(|m| (2, m)),
            raw_messages(48).prop_map(|m| (3, m)),
        ],
        |(ty, msgs)| match ty {
            0 => q1.check(&msgs, &tally),
            1 => q8.check(&msgs, &tally),
            2 => q40.check(&msgs, &tally),
            _ => q48.check(&msgs, &tally),
        },
    );
    say(&format!(
        "randomised property decoding::typed_receiver: {} messages decoded, {} WrongLength \
         with the bytes returned, {} refused at send as too large",
        tally.ok.get(),
        tally.mismatch.get(),
        tally.not_initialized.get()
    ));
}
