//! Stored layouts: `Shared<T>`, ring and typed-queue companion segments carry the full layout of
//! their type (field names, offsets, kinds, counts, nesting), so that a tool or another language
//! decodes values without the Rust type; record handles store none, and segments without one
//! (made by an earlier release) still open.

mod common;

use common::{guard, guarded, Kind};
use posix_ipc::lifecycle;
use posix_ipc::typed::{LayoutDesc, RecordType};
use posix_ipc::{
    IpcMessage, ObjectKind, Receiver, RecordReceiver, RecordSender, RecordShared, RingMode,
    RingReceiver, RingSender, Sender, Shared, SharedMemory, TypedQueue,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Point {
    x: f32,
    y: f32,
}

/// A nested struct in an array, and an array of primitives.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Scan {
    seq: u64,
    points: [Point; 2],
    intensity: [u8; 8],
}

const SCAN: Scan = Scan {
    seq: 7,
    points: [Point { x: 1.0, y: 2.0 }, Point { x: 3.0, y: 4.5 }],
    intensity: [1, 2, 3, 4, 5, 6, 7, 8],
};

const SCAN_JSON: &str =
    r#"{"seq":7,"points":[{"x":1.0,"y":2.0},{"x":3.0,"y":4.5}],"intensity":[1,2,3,4,5,6,7,8]}"#;

/// Checks that `stored` is `Scan`'s layout, and decodes `value` with it as the fields of SCAN.
fn assert_is_scan_layout(stored: Option<LayoutDesc>, value: &Scan) {
    let layout = stored.expect("the segment stores its type's layout");
    assert_eq!(layout, LayoutDesc::from(&Scan::LAYOUT));
    assert_eq!(layout.fingerprint(), Scan::FINGERPRINT);
    assert_eq!(layout.fields.len(), 3);
    assert_eq!(
        layout.format_sample_json(bytemuck::bytes_of(value)),
        SCAN_JSON
    );
}

/// The byte offset of the `Shared<Scan>` trailer (the stored layout's offset and length words),
/// from the layout table: 64 + 2 × stride.
fn shared_trailer() -> usize {
    let stride = Shared::<Scan>::slot_offset(1) - Shared::<Scan>::slot_offset(0);
    Shared::<Scan>::slot_offset(1) + stride
}

/// Zeroes the two `u64` words at `at` of the segment `name`, as in a segment of an earlier
/// release.
fn zero_words(name: &str, at: usize) {
    let shm = SharedMemory::open(name).unwrap();
    shm.map().unwrap().write_at(at, &[0u8; 16]).unwrap();
}

#[test]
fn shared_stores_the_full_layout_of_its_value_type() {
    let (name, _g) = guarded(Kind::Shm, "stored-shared");
    let made = Shared::create(&name, &SCAN).unwrap();
    let opened = Shared::<Scan>::open(&name).unwrap();
    assert_is_scan_layout(opened.layout(), &opened.load());
    assert_eq!(made.layout(), opened.layout());
}

#[test]
fn a_ring_stores_the_full_layout_of_its_message_type() {
    for mode in [RingMode::Spsc, RingMode::Mpmc] {
        let (name, _g) = guarded(Kind::Shm, "stored-ring");
        let rx = RingReceiver::<Scan>::create(&name, 4, mode).unwrap();
        let tx = RingSender::<Scan>::open(&name).unwrap();
        tx.send(&SCAN).unwrap();
        assert_is_scan_layout(tx.layout(), &rx.recv().unwrap());
        assert_eq!(rx.layout(), tx.layout(), "{mode:?}");
    }
}

#[test]
fn a_typed_queue_companion_stores_the_full_layout_of_its_message_type() {
    let (name, _g) = guarded(Kind::Mq, "stored-queue");
    let _c = guard(Kind::Shm, &format!("{name}.pipc-q"));
    let queue = TypedQueue::<Scan>::create(&name, 4).unwrap();
    let tx = Sender::<Scan>::open(&name).unwrap();
    let rx = Receiver::<Scan>::open(&name).unwrap();
    tx.send(&SCAN).unwrap();
    assert_is_scan_layout(rx.layout(), &rx.recv().unwrap());
    assert_eq!(tx.layout(), rx.layout());
    assert_eq!(queue.layout(), rx.layout());
}

#[test]
fn a_record_shared_stores_no_layout() {
    let (name, _g) = guarded(Kind::Shm, "stored-record-shared");
    let record = RecordType::of::<Scan>();
    let made = RecordShared::create(&name, &record, bytemuck::bytes_of(&SCAN)).unwrap();
    assert_eq!(made.layout(), None);
    let typed = Shared::<Scan>::open(&name).unwrap();
    assert_eq!(typed.layout(), None);
    assert_eq!(typed.load(), SCAN, "the typed end works on it as before");
}

#[test]
fn a_record_ring_stores_no_layout() {
    let (name, _g) = guarded(Kind::Shm, "stored-record-ring");
    let record = RecordType::of::<Scan>();
    let tx = RecordSender::create(&name, 4, RingMode::Spsc, &record).unwrap();
    assert_eq!(tx.layout(), None);
    let rx = RingReceiver::<Scan>::open(&name).unwrap();
    assert_eq!(rx.layout(), None);
    tx.send(bytemuck::bytes_of(&SCAN)).unwrap();
    assert_eq!(
        rx.recv().unwrap(),
        SCAN,
        "the typed end works on it as before"
    );
}

#[test]
fn record_ends_read_the_layout_a_typed_end_stored() {
    let record = RecordType::of::<Scan>();
    let (name, _g) = guarded(Kind::Shm, "stored-typed-for-record");
    let _shared = Shared::create(&name, &SCAN).unwrap();
    let shared = RecordShared::open(&name, &record).unwrap();
    assert_is_scan_layout(shared.layout(), &SCAN);
    let (ring, _g2) = guarded(Kind::Shm, "stored-typed-ring-for-record");
    let _tx = RingSender::<Scan>::create(&ring, 4, RingMode::Spsc).unwrap();
    let rx = RecordReceiver::open(&ring, &record).unwrap();
    assert_is_scan_layout(rx.layout(), &SCAN);
}

#[test]
fn a_shared_segment_without_a_description_opens_and_reports_none() {
    let (name, _g) = guarded(Kind::Shm, "stored-old-shared");
    let made = Shared::create(&name, &SCAN).unwrap();
    zero_words(&name, shared_trailer());
    let opened = Shared::<Scan>::open(&name).unwrap();
    assert_eq!(opened.layout(), None);
    assert_eq!(made.layout(), None);
    opened.store(&Scan { seq: 8, ..SCAN }).unwrap();
    assert_eq!(made.load().seq, 8);
}

#[test]
fn a_shared_segment_of_the_size_earlier_releases_made_opens_and_reports_none() {
    let (name, _g) = guarded(Kind::Shm, "stored-old-size-shared");
    drop(Shared::create(&name, &SCAN).unwrap());
    // An earlier release's segment ends after slot 1: no trailer.
    SharedMemory::open(&name)
        .unwrap()
        .resize(shared_trailer() as u64)
        .unwrap();
    let opened = Shared::<Scan>::open(&name).unwrap();
    assert_eq!(opened.layout(), None);
    assert_eq!(opened.load(), SCAN);
}

#[test]
fn a_ring_without_a_description_opens_and_reports_none() {
    let (name, _g) = guarded(Kind::Shm, "stored-old-ring");
    let rx = RingReceiver::<Scan>::create(&name, 4, RingMode::Spsc).unwrap();
    // The layout's offset and length, at 72 and 80 of the header.
    zero_words(&name, 72);
    let tx = RingSender::<Scan>::open(&name).unwrap();
    assert_eq!(tx.layout(), None);
    assert_eq!(rx.layout(), None);
    tx.send(&SCAN).unwrap();
    assert_eq!(rx.recv().unwrap(), SCAN);
}

#[test]
fn a_ring_of_the_size_earlier_releases_made_opens_and_reports_none() {
    let (name, _g) = guarded(Kind::Shm, "stored-old-size-ring");
    drop(RingReceiver::<Scan>::create(&name, 4, RingMode::Spsc).unwrap());
    zero_words(&name, 72);
    // An earlier release's ring ends after its slots: 4096 + capacity × stride (32 bytes).
    SharedMemory::open(&name)
        .unwrap()
        .resize(4096 + 4 * 32)
        .unwrap();
    let tx = RingSender::<Scan>::open(&name).unwrap();
    let rx = RingReceiver::<Scan>::open(&name).unwrap();
    assert_eq!(rx.layout(), None);
    tx.send(&SCAN).unwrap();
    assert_eq!(rx.recv().unwrap(), SCAN);
}

#[test]
fn a_companion_without_a_description_opens_and_reports_none() {
    let (name, _g) = guarded(Kind::Mq, "stored-old-queue");
    let companion = format!("{name}.pipc-q");
    let _c = guard(Kind::Shm, &companion);
    let queue = TypedQueue::<Scan>::create(&name, 4).unwrap();
    // The layout's offset and length, at 2176 and 2184 (after the consumer table).
    zero_words(&companion, 2176);
    let tx = Sender::<Scan>::open(&name).unwrap();
    assert!(tx.is_tracked(), "the companion still counts");
    assert_eq!(tx.layout(), None);
    assert_eq!(queue.layout(), None);
    tx.send(&SCAN).unwrap();
    assert_eq!(queue.receiver().unwrap().recv().unwrap(), SCAN);
}

#[test]
fn a_companion_of_the_size_earlier_releases_made_opens_and_reports_none() {
    let (name, _g) = guarded(Kind::Mq, "stored-old-size-queue");
    let companion = format!("{name}.pipc-q");
    let _c = guard(Kind::Shm, &companion);
    drop(TypedQueue::<Scan>::create(&name, 4).unwrap());
    zero_words(&companion, 2176);
    // An earlier release's companion is 4096 bytes.
    SharedMemory::open(&companion)
        .unwrap()
        .resize(4096)
        .unwrap();
    let rx = Receiver::<Scan>::open(&name).unwrap();
    assert!(rx.is_tracked(), "the companion still counts");
    assert_eq!(rx.layout(), None);
}

#[test]
fn a_damaged_description_reads_as_none() {
    let (name, _g) = guarded(Kind::Shm, "stored-damaged");
    let shared = Shared::create(&name, &SCAN).unwrap();
    // The description starts after the two trailer words, with its magic `PIPCLAYO`.
    let shm = SharedMemory::open(&name).unwrap();
    shm.map()
        .unwrap()
        .write_at(shared_trailer() + 16, b"NOTALAYO")
        .unwrap();
    assert_eq!(shared.layout(), None);
    assert_eq!(Shared::<Scan>::open(&name).unwrap().load(), SCAN);
}

#[test]
fn the_listing_shows_the_layout_of_a_shared_segment_it_covers() {
    let (name, _g) = guarded(Kind::Shm, "stored-listing");
    let _shared = Shared::create(&name, &SCAN).unwrap();
    let info = lifecycle::inspect(ObjectKind::SharedMemory, &name, false).unwrap();
    let segment = info.segment.expect("a posix-ipc segment");
    assert_eq!(segment.layout, Some(LayoutDesc::from(&Scan::LAYOUT)));
}

#[test]
fn a_blank_segment_is_waited_for_only_at_the_size_a_creator_leaves_blank() {
    // A creator marks the header at the slots' size before it grows the segment for the
    // stored layout: a blank segment of the slots' size may be one being made...
    let (made, _g) = guarded(Kind::Shm, "stored-size");
    let size = Shared::create(&made, &SCAN).unwrap().stat().unwrap().size;
    assert!(
        size > shared_trailer() as u64 + 16,
        "slots, trailer and layout"
    );
    let (name, _g2) = guarded(Kind::Shm, "stored-blank");
    let _blank = SharedMemory::create(&name, shared_trailer() as u64).unwrap();
    let err =
        Shared::<Scan>::open_timeout(&name, std::time::Duration::from_millis(20)).unwrap_err();
    assert_eq!(err.kind(), posix_ipc::ErrorKind::NotInitialized, "{err}");
    // ...but a blank one of any other size, even the full size with a layout, is not ours.
    let (other, _g3) = guarded(Kind::Shm, "stored-blank-full");
    let _blank = SharedMemory::create(&other, size).unwrap();
    let err = Shared::<Scan>::open_timeout(&other, std::time::Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), posix_ipc::ErrorKind::Mismatch, "{err}");
}
