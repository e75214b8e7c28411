//! Topics from C: publishers and subscribers of fixed records and of frames (with an
//! optional header record), over `RecordPublisher` / `RecordSubscriber` of the core. Loans and
//! samples are guards (`pipc_loan`, `pipc_sample`) carrying a token: a guard used after it was
//! sent, discarded or released is refused, as is a length beyond the loan.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;
use std::time::Duration;

use posix_ipc_core::{Policy, RecordPublisher, RecordSubscriber, SubscribeOptions, TopicOptions};

use crate::cancel::{self, pipc_cancel};
use crate::handle_struct;
use crate::handles::Handle;
use crate::handles::{Held, Kind, Table};
use crate::status::{
    buf_arg, bytes_arg, call, inout_arg, out_arg, str_arg, timeout, Fail, Res,
    PIPC_INVALID_ARGUMENT,
};
use crate::types::{pipc_record_type, record_type};

handle_struct!(pipc_publisher);
handle_struct!(pipc_subscriber);

/// `pipc_topic_options.policy`: the publisher waits for the slowest subscriber (up to the
/// stall timeout).
pub const PIPC_BLOCK: u32 = 0;
/// `pipc_topic_options.policy`: the publisher never waits; slow subscribers lose samples
/// (`PIPC_LAGGED`).
pub const PIPC_OVERWRITE: u32 = 1;

/// How a topic is made; all zeros (or a NULL pointer) gives the defaults.
#[repr(C)]
#[derive(Debug, Default)]
pub struct pipc_topic_options {
    /// Samples the topic keeps (a power of two, 2 to 65536); 0: 16 for records, 4 for frames.
    pub capacity: u32,
    /// `PIPC_BLOCK` (0) or `PIPC_OVERWRITE`.
    pub policy: u32,
    /// Samples a new subscriber gets from before it joined (0: none).
    pub history: u32,
    /// Subscribers at most; 0: 32 for records, 4 for frames.
    pub max_subscribers: u32,
    /// How long a `PIPC_BLOCK` publisher waits for a stalled subscriber before skipping it;
    /// 0: 500 ms.
    pub stall_timeout_ns: i64,
    /// Permission bits; 0: 0600.
    pub mode: u32,
    /// Stops the publisher's waits (`{0}`: none).
    pub cancel: pipc_cancel,
}

/// How a subscriber joins; all zeros (or a NULL pointer) gives the defaults.
#[repr(C)]
#[derive(Debug, Default)]
pub struct pipc_subscribe_options {
    /// Non-zero: when the publisher goes and a new one takes the topic over, go on with it
    /// (a `PIPC_RESTARTED` first) rather than end with `PIPC_DISCONNECTED`.
    pub follow_restarts: i32,
    /// How long to wait for the topic to exist: 0 not at all, negative as long as it takes.
    pub wait_ns: i64,
    /// Stops the subscriber's waits (`{0}`: none).
    pub cancel: pipc_cancel,
    /// Non-zero: sleep at once when there is nothing to read, rather than spin briefly first
    /// (less CPU, a little more latency).
    pub no_spin: i32,
}

/// A loaned sample: write `len` bytes (at most `capacity`) at `data`, the header at `header`,
/// then send it with `pipc_publisher_send_loan` or give it back with
/// `pipc_publisher_discard_loan`.
#[repr(C)]
#[derive(Debug)]
pub struct pipc_loan {
    /// The sample's bytes, writable, in the topic's shared memory.
    pub data: *mut c_void,
    /// How many bytes to send (a record's size; for frames, set it to the frame's length).
    pub len: usize,
    /// How many bytes were loaned.
    pub capacity: usize,
    /// The frame's header, writable (NULL without one).
    pub header: *mut c_void,
    /// The header's size (0 without one).
    pub header_len: usize,
    /// Identifies the loan (the library's; do not change it).
    pub token: u64,
}

/// A received sample, held in place until `pipc_subscriber_release`.
#[repr(C)]
#[derive(Debug)]
pub struct pipc_sample {
    /// The sample's bytes, read-only, in the topic's shared memory.
    pub data: *const c_void,
    /// How many bytes.
    pub len: usize,
    /// The frame's header (NULL without one).
    pub header: *const c_void,
    /// The header's size (0 without one).
    pub header_len: usize,
    /// The sample's index in the topic.
    pub index: u64,
    /// When it was published (`CLOCK_MONOTONIC` ns).
    pub published_ns: u64,
    /// Identifies the hold (the library's; do not change it).
    pub token: u64,
}

/// A publisher and the loan it has out.
pub struct Pub {
    inner: Held<RecordPublisher>,
    /// The token of the loan out, and how many bytes it has.
    loan: Option<(u64, usize)>,
    tokens: u64,
}

impl Pub {
    fn get(&mut self) -> &mut RecordPublisher {
        self.inner.get_mut()
    }
}

/// A subscriber and the sample it holds.
pub struct Sub {
    inner: RecordSubscriber,
    held: Option<u64>,
    tokens: u64,
}

/// The publishers.
pub static PUBLISHERS: Table<Mutex<Pub>> = Table::new(Kind::Publisher);
/// The subscribers.
pub static SUBSCRIBERS: Table<Mutex<Sub>> = Table::new(Kind::Subscriber);

fn topic_options(
    o: *const pipc_topic_options,
) -> Res<(TopicOptions, Option<posix_ipc_core::CancelToken>)> {
    let default = pipc_topic_options::default();
    // SAFETY: NULL or a valid struct (the caller's contract).
    let o = unsafe { o.as_ref() }.unwrap_or(&default);
    let mut t = TopicOptions::new();
    if o.capacity != 0 {
        t = t.capacity(o.capacity as usize);
    }
    t = t.policy(match o.policy {
        PIPC_BLOCK => Policy::Block,
        PIPC_OVERWRITE => Policy::Overwrite,
        p => {
            return Err(Fail::invalid(format!(
                "policy {p} is neither PIPC_BLOCK (0) nor PIPC_OVERWRITE (1)"
            )))
        }
    });
    t = t.history(o.history as usize);
    if o.max_subscribers != 0 {
        t = t.max_subscribers(o.max_subscribers as usize);
    }
    match o.stall_timeout_ns {
        0 => {}
        n if n < 0 => {
            return Err(Fail::invalid(format!(
                "stall_timeout_ns is {n}; give 0 for the default or a positive time"
            )))
        }
        n => t = t.stall_timeout(Duration::from_nanos(n as u64)),
    }
    if o.mode != 0 {
        t = t.mode(o.mode);
    }
    Ok((t, cancel::token(o.cancel)?))
}

fn subscribe_options(o: *const pipc_subscribe_options) -> Res<SubscribeOptions> {
    let default = pipc_subscribe_options::default();
    // SAFETY: NULL or a valid struct (the caller's contract).
    let o = unsafe { o.as_ref() }.unwrap_or(&default);
    let mut s = SubscribeOptions::new()
        .follow_restarts(o.follow_restarts != 0)
        .spin(o.no_spin == 0);
    if o.wait_ns != 0 {
        s = s.wait(timeout(o.wait_ns));
    }
    if let Some(t) = cancel::token(o.cancel)? {
        s = s.cancel(&t);
    }
    Ok(s)
}

fn new_pub(
    out: &mut std::mem::MaybeUninit<pipc_publisher>,
    inner: Held<RecordPublisher>,
    cancel: Option<posix_ipc_core::CancelToken>,
) -> Res<()> {
    let inner = match cancel {
        Some(t) => inner.map(|p| p.with_cancel(&t)),
        None => inner,
    };
    out.write(Handle::from_id(PUBLISHERS.add(Pub {
        inner,
        loan: None,
        tokens: 0,
    })?));
    Ok(())
}

/// Creates a topic of records of `type` (exclusive) and becomes its publisher. The type's
/// layout, if given, is stored in the topic for tools and other languages.
///
/// # Safety
///
/// Pointers are NULL or valid: `out` writable, `name` a C string, `type` and `options` valid.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_create(
    out: *mut pipc_publisher,
    name: *const c_char,
    r#type: *const pipc_record_type,
    options: *const pipc_topic_options,
) -> i32 {
    call("pipc_publisher_create", || {
        // SAFETY: as the function's contract.
        let (out, name, (record, layout)) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                record_type(r#type, "type")?,
            )
        };
        let (o, cancel) = topic_options(options)?;
        let p = RecordPublisher::create(name, &record, layout.as_ref(), &o)?;
        new_pub(out, Held::Plain(p), cancel)
    })
}

/// Creates the topic, or takes over a stale one of that type and these options (its publisher
/// died), and owns it: closing the publisher removes the topic.
///
/// # Safety
///
/// As `pipc_publisher_create`.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_create_or_take_over(
    out: *mut pipc_publisher,
    name: *const c_char,
    r#type: *const pipc_record_type,
    options: *const pipc_topic_options,
) -> i32 {
    call("pipc_publisher_create_or_take_over", || {
        // SAFETY: as the function's contract.
        let (out, name, (record, layout)) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                record_type(r#type, "type")?,
            )
        };
        let (o, cancel) = topic_options(options)?;
        let p = RecordPublisher::create_or_take_over(name, &record, layout.as_ref(), &o)?;
        new_pub(out, Held::Owned(p), cancel)
    })
}

/// Opens an existing topic of records of `type` as its publisher (its previous publisher
/// closed or died).
///
/// # Safety
///
/// As `pipc_publisher_create`.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_open(
    out: *mut pipc_publisher,
    name: *const c_char,
    r#type: *const pipc_record_type,
) -> i32 {
    call("pipc_publisher_open", || {
        // SAFETY: as the function's contract.
        let (out, name, (record, _)) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                record_type(r#type, "type")?,
            )
        };
        let p = RecordPublisher::open(name, &record)?;
        new_pub(out, Held::Plain(p), None)
    })
}

/// The header's record type and layout, or none for NULL.
///
/// # Safety
///
/// `header` is NULL or valid.
unsafe fn header_type(
    header: *const pipc_record_type,
) -> Res<
    Option<(
        posix_ipc_core::RecordType,
        Option<posix_ipc_core::LayoutDesc>,
    )>,
> {
    if header.is_null() {
        Ok(None)
    } else {
        // SAFETY: valid (the caller's contract).
        unsafe { record_type(header, "header") }.map(Some)
    }
}

/// Creates a topic of frames of up to `max_frame_len` bytes, each after a header of
/// `header` (NULL: none), and becomes its publisher: the topic of a Rust
/// `FramePublisher<H>`.
///
/// # Safety
///
/// As `pipc_publisher_create` (`header` may be NULL).
#[no_mangle]
pub unsafe extern "C" fn pipc_frame_publisher_create(
    out: *mut pipc_publisher,
    name: *const c_char,
    max_frame_len: usize,
    header: *const pipc_record_type,
    options: *const pipc_topic_options,
) -> i32 {
    call("pipc_frame_publisher_create", || {
        // SAFETY: as the function's contract.
        let (out, name, header) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                header_type(header)?,
            )
        };
        let (o, cancel) = topic_options(options)?;
        let (h, l) = header.map_or((None, None), |(h, l)| (Some(h), l));
        let p = RecordPublisher::create_frames(name, max_frame_len, h.as_ref(), l.as_ref(), &o)?;
        new_pub(out, Held::Plain(p), cancel)
    })
}

/// As `pipc_frame_publisher_create`, or takes over a stale frame topic of that header,
/// maximum length and options, and owns it (closing the publisher removes the topic).
///
/// # Safety
///
/// As `pipc_frame_publisher_create`.
#[no_mangle]
pub unsafe extern "C" fn pipc_frame_publisher_create_or_take_over(
    out: *mut pipc_publisher,
    name: *const c_char,
    max_frame_len: usize,
    header: *const pipc_record_type,
    options: *const pipc_topic_options,
) -> i32 {
    call("pipc_frame_publisher_create_or_take_over", || {
        // SAFETY: as the function's contract.
        let (out, name, header) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                header_type(header)?,
            )
        };
        let (o, cancel) = topic_options(options)?;
        let (h, l) = header.map_or((None, None), |(h, l)| (Some(h), l));
        let p = RecordPublisher::create_or_take_over_frames(
            name,
            max_frame_len,
            h.as_ref(),
            l.as_ref(),
            &o,
        )?;
        new_pub(out, Held::Owned(p), cancel)
    })
}

/// Opens an existing frame topic (frames after a `header`, or none) as its publisher.
///
/// # Safety
///
/// As `pipc_frame_publisher_create`.
#[no_mangle]
pub unsafe extern "C" fn pipc_frame_publisher_open(
    out: *mut pipc_publisher,
    name: *const c_char,
    header: *const pipc_record_type,
) -> i32 {
    call("pipc_frame_publisher_open", || {
        // SAFETY: as the function's contract.
        let (out, name, header) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                header_type(header)?,
            )
        };
        let h = header.map(|(h, _)| h);
        let p = RecordPublisher::open_frames(name, h.as_ref())?;
        new_pub(out, Held::Plain(p), None)
    })
}

/// Loans a sample: `len` bytes (0: a whole record, or a frame of the maximum length), zeroed
/// if `zeroed` (else holding what an earlier sample left: initialised, not zero), its header
/// zeroed, waiting as `timeout_ns` says while a `PIPC_BLOCK` topic is full. One loan at a time.
///
/// # Safety
///
/// `loan` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_loan(
    publisher: pipc_publisher,
    loan: *mut pipc_loan,
    len: usize,
    zeroed: i32,
    timeout_ns: i64,
) -> i32 {
    call("pipc_publisher_loan", || {
        // SAFETY: NULL or writable (the caller's contract).
        let loan = unsafe { out_arg(loan, "loan") }?;
        PUBLISHERS.with(publisher.id, |p| {
            if p.loan.is_some() {
                return Err(Fail::invalid(format!(
                    "cannot loan on topic {}: a loan is already out; send or discard it first",
                    p.get().name()
                )));
            }
            let len = if len == 0 { p.get().max_len() } else { len };
            p.get()
                .loan_with(len, zeroed != 0, timeout(timeout_ns))?
                .keep();
            p.tokens += 1;
            let token = p.tokens;
            let (header, bytes) = p.get().loaned().ok_or_else(|| {
                Fail::new(crate::PIPC_INTERNAL, "a kept loan is not out after loaning")
            })?;
            loan.write(pipc_loan {
                data: bytes.as_mut_ptr().cast(),
                len: bytes.len(),
                capacity: bytes.len(),
                header: if header.is_empty() {
                    std::ptr::null_mut()
                } else {
                    header.as_mut_ptr().cast()
                },
                header_len: header.len(),
                token,
            });
            p.loan = Some((token, bytes.len()));
            Ok(())
        })
    })
}

/// The loan out, checked to be `loan`.
fn check_loan(p: &mut Pub, loan: &pipc_loan, what: &str) -> Res<usize> {
    match p.loan {
        Some((token, capacity)) if token == loan.token => Ok(capacity),
        _ => Err(Fail::invalid(format!(
            "cannot {what} on topic {}: this loan was already sent or discarded (or is not \
             this publisher's)",
            p.get().name()
        ))),
    }
}

/// Publishes the loan's first `loan->len` bytes (a whole record for records; a length beyond
/// the loan is refused and the loan stays out). The loan is over afterwards.
///
/// # Safety
///
/// `loan` is NULL or points to a loan this library filled in.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_send_loan(
    publisher: pipc_publisher,
    loan: *mut pipc_loan,
) -> i32 {
    call("pipc_publisher_send_loan", || {
        // SAFETY: NULL or a loan the library filled in (the caller's contract).
        let loan = unsafe { inout_arg(loan, "loan") }?;
        PUBLISHERS.with(publisher.id, |p| {
            let capacity = check_loan(p, loan, "send a loan")?;
            if loan.len > capacity {
                return Err(Fail::invalid(format!(
                    "cannot send on topic {}: the length {} is beyond the loan's {capacity} \
                     bytes",
                    p.get().name(),
                    loan.len
                )));
            }
            if !p.get().is_frames() && loan.len != capacity {
                return Err(Fail::invalid(format!(
                    "cannot send on topic {}: a record is {capacity} bytes, not {}",
                    p.get().name(),
                    loan.len
                )));
            }
            p.get().send_loaned(Some(loan.len));
            p.loan = None;
            loan.data = std::ptr::null_mut();
            loan.header = std::ptr::null_mut();
            Ok(())
        })
    })
}

/// Gives the loan back unsent.
///
/// # Safety
///
/// As `pipc_publisher_send_loan`.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_discard_loan(
    publisher: pipc_publisher,
    loan: *mut pipc_loan,
) -> i32 {
    call("pipc_publisher_discard_loan", || {
        // SAFETY: NULL or a loan the library filled in (the caller's contract).
        let loan = unsafe { inout_arg(loan, "loan") }?;
        PUBLISHERS.with(publisher.id, |p| {
            check_loan(p, loan, "discard a loan")?;
            p.get().give_back_kept();
            p.loan = None;
            loan.data = std::ptr::null_mut();
            loan.header = std::ptr::null_mut();
            Ok(())
        })
    })
}

/// Publishes a copy of `len` bytes at `data` (a whole record, or a frame of up to the maximum
/// length) and, for frames with a header, of the header (`header_len` must be the header's
/// size; NULL: zeros).
///
/// # Safety
///
/// `data` points to `len` readable bytes (or is NULL with `len` 0), `header` to `header_len`.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_send(
    publisher: pipc_publisher,
    data: *const c_void,
    len: usize,
    header: *const c_void,
    header_len: usize,
    timeout_ns: i64,
) -> i32 {
    call("pipc_publisher_send", || {
        // SAFETY: as the function's contract.
        let bytes = unsafe { bytes_arg(data.cast(), len, "data") }?;
        let header = if header.is_null() {
            None
        } else {
            // SAFETY: as the function's contract.
            Some(unsafe { bytes_arg(header.cast(), header_len, "header") }?)
        };
        PUBLISHERS.with(publisher.id, |p| {
            if p.loan.is_some() {
                return Err(Fail::invalid(format!(
                    "cannot send on topic {}: a loan is out; send or discard it first",
                    p.get().name()
                )));
            }
            p.get().send_with(bytes, header, timeout(timeout_ns))?;
            Ok(())
        })
    })
}

/// The largest sample (a record's size, or the maximum frame length) and the header's size.
///
/// # Safety
///
/// `max_len` and `header_len` are NULL (not wanted) or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_sizes(
    publisher: pipc_publisher,
    max_len: *mut usize,
    header_len: *mut usize,
) -> i32 {
    call("pipc_publisher_sizes", || {
        PUBLISHERS.with(publisher.id, |p| {
            // SAFETY: NULL or writable (the caller's contract).
            unsafe {
                if let Some(m) = max_len.as_mut() {
                    *m = p.get().max_len();
                }
                if let Some(h) = header_len.as_mut() {
                    *h = p.get().header_len();
                }
            }
            Ok(())
        })
    })
}

/// Closes the publisher (a loan out is given back; subscribers see `PIPC_DISCONNECTED`, or
/// follow a new publisher). One made by a `create_or_take_over` removes the topic.
#[no_mangle]
pub extern "C" fn pipc_publisher_close(publisher: pipc_publisher) -> i32 {
    call("pipc_publisher_close", || PUBLISHERS.remove(publisher.id))
}

/// Removes a topic's name (existing handles keep working).
///
/// # Safety
///
/// `name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn pipc_topic_unlink(name: *const c_char) -> i32 {
    call("pipc_topic_unlink", || {
        // SAFETY: NULL or a C string (the caller's contract).
        let name = unsafe { str_arg(name, "name") }?;
        posix_ipc_core::unlink_shared_memory(name)?;
        Ok(())
    })
}

fn new_sub(out: &mut std::mem::MaybeUninit<pipc_subscriber>, inner: RecordSubscriber) -> Res<()> {
    out.write(Handle::from_id(SUBSCRIBERS.add(Sub {
        inner,
        held: None,
        tokens: 0,
    })?));
    Ok(())
}

/// Opens a topic of records of `type` and joins it, as `options` says (NULL: defaults).
///
/// # Safety
///
/// Pointers are NULL or valid: `out` writable, `name` a C string, `type` and `options` valid.
#[no_mangle]
pub unsafe extern "C" fn pipc_subscriber_open(
    out: *mut pipc_subscriber,
    name: *const c_char,
    r#type: *const pipc_record_type,
    options: *const pipc_subscribe_options,
) -> i32 {
    call("pipc_subscriber_open", || {
        // SAFETY: as the function's contract.
        let (out, name, (record, _)) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                record_type(r#type, "type")?,
            )
        };
        let s = RecordSubscriber::open_with(name, &record, &subscribe_options(options)?)?;
        new_sub(out, s)
    })
}

/// Opens a frame topic whose frames carry a `header` (NULL: none), of any maximum length,
/// and joins it.
///
/// # Safety
///
/// As `pipc_subscriber_open` (`header` may be NULL).
#[no_mangle]
pub unsafe extern "C" fn pipc_frame_subscriber_open(
    out: *mut pipc_subscriber,
    name: *const c_char,
    header: *const pipc_record_type,
    options: *const pipc_subscribe_options,
) -> i32 {
    call("pipc_frame_subscriber_open", || {
        // SAFETY: as the function's contract.
        let (out, name, header) = unsafe {
            (
                out_arg(out, "out")?,
                str_arg(name, "name")?,
                header_type(header)?,
            )
        };
        let h = header.map(|(h, _)| h);
        let s = RecordSubscriber::open_frames(name, h.as_ref(), &subscribe_options(options)?)?;
        new_sub(out, s)
    })
}

/// Receives into `out` for `subscriber`, releasing first the sample of token `release` if it
/// is the one held; another held sample is refused.
#[inline]
fn receive(
    s: &mut Sub,
    release: Option<u64>,
    out: &mut std::mem::MaybeUninit<pipc_sample>,
    timeout_ns: i64,
) -> Res<()> {
    match s.held {
        // The core's next receive releases what is held before it waits.
        Some(token) if Some(token) == release => s.held = None,
        Some(_) => {
            return Err(Fail::invalid(format!(
                "cannot receive on topic {}: a sample is still held; release it first (or \
                 receive into it with pipc_subscriber_recv_next)",
                s.inner.name()
            )))
        }
        None => {}
    }
    s.inner.recv_with(timeout(timeout_ns))?.keep();
    s.tokens += 1;
    let (index, header, bytes) = s.inner.held().ok_or_else(|| {
        Fail::new(
            crate::PIPC_INTERNAL,
            "a kept sample is not held after receiving",
        )
    })?;
    out.write(pipc_sample {
        data: bytes.as_ptr().cast(),
        len: bytes.len(),
        header: if header.is_empty() {
            std::ptr::null()
        } else {
            header.as_ptr().cast()
        },
        header_len: header.len(),
        index,
        published_ns: s.inner.last_published_ns(),
        token: s.tokens,
    });
    s.held = Some(s.tokens);
    Ok(())
}

/// Receives the next sample in place, waiting as `timeout_ns` says (0: `PIPC_WOULD_BLOCK` if
/// none; negative: as long as it takes), and holds it until `pipc_subscriber_release`. Fails
/// with `PIPC_LAGGED` (count: samples lost), `PIPC_RESTARTED`, `PIPC_DISCONNECTED`,
/// `PIPC_TIMED_OUT`, `PIPC_CANCELLED`, or `PIPC_INVALID_ARGUMENT` while a sample is held.
/// `sample` is only written.
///
/// # Safety
///
/// `sample` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_subscriber_recv(
    subscriber: pipc_subscriber,
    sample: *mut pipc_sample,
    timeout_ns: i64,
) -> i32 {
    call("pipc_subscriber_recv", || {
        // SAFETY: NULL or writable (the caller's contract).
        let sample = unsafe { out_arg(sample, "sample") }?;
        SUBSCRIBERS.with(subscriber.id, |s| receive(s, None, sample, timeout_ns))
    })
}

/// As `pipc_subscriber_recv`, into a `sample` that was zero-initialised or filled by this
/// library: if it holds this subscriber's sample, that is released first, whatever the
/// outcome (a loop over one `pipc_sample` needs no release call: one call per sample).
///
/// # Safety
///
/// `sample` is NULL or points to a zero-initialised `pipc_sample` or one this library filled.
#[no_mangle]
pub unsafe extern "C" fn pipc_subscriber_recv_next(
    subscriber: pipc_subscriber,
    sample: *mut pipc_sample,
    timeout_ns: i64,
) -> i32 {
    call("pipc_subscriber_recv_next", || {
        // SAFETY: NULL or initialised (the caller's contract).
        let sample = unsafe { inout_arg(sample, "sample") }?;
        let token = sample.token;
        let out = sample_as_out(sample);
        SUBSCRIBERS.with(subscriber.id, |s| receive(s, Some(token), out, timeout_ns))
    })
}

/// An initialised sample as an out-parameter.
fn sample_as_out(sample: &mut pipc_sample) -> &mut std::mem::MaybeUninit<pipc_sample> {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and a `&mut MaybeUninit<T>` written with a
    // valid `T` leaves the `T` initialised (`pipc_sample` has no drop glue to skip).
    unsafe { &mut *(sample as *mut pipc_sample).cast::<std::mem::MaybeUninit<pipc_sample>>() }
}

/// Releases a held sample: the publisher may reuse its buffer. Releasing it again (or a
/// sample of another subscriber) is refused.
///
/// # Safety
///
/// `sample` is NULL or points to a sample this library filled in.
#[no_mangle]
pub unsafe extern "C" fn pipc_subscriber_release(
    subscriber: pipc_subscriber,
    sample: *mut pipc_sample,
) -> i32 {
    call("pipc_subscriber_release", || {
        // SAFETY: NULL or a sample the library filled in (the caller's contract).
        let sample = unsafe { inout_arg(sample, "sample") }?;
        SUBSCRIBERS.with(subscriber.id, |s| {
            if s.held != Some(sample.token) {
                return Err(Fail::invalid(format!(
                    "cannot release on topic {}: this sample was already released (or is not \
                     this subscriber's)",
                    s.inner.name()
                )));
            }
            s.inner.release();
            s.held = None;
            sample.data = std::ptr::null();
            sample.header = std::ptr::null();
            Ok(())
        })
    })
}

/// Receives the next sample as a copy: its bytes into `buf` (`capacity` at least the topic's
/// largest sample, so nothing is ever cut), their count into `*len`, the header into
/// `header` (`header_len` the header's size, or 0 without one), the index into `*index`
/// (NULL: not wanted). Fails as `pipc_subscriber_recv`.
///
/// # Safety
///
/// `buf` points to `capacity` writable bytes, `header` to `header_len`; `len` and `index` are
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_subscriber_recv_copy(
    subscriber: pipc_subscriber,
    buf: *mut c_void,
    capacity: usize,
    len: *mut usize,
    header: *mut c_void,
    header_len: usize,
    index: *mut u64,
    timeout_ns: i64,
) -> i32 {
    call("pipc_subscriber_recv_copy", || {
        // SAFETY: as the function's contract.
        let (buf, header_buf) = unsafe {
            (
                buf_arg(buf.cast(), capacity, "buf")?,
                buf_arg(header.cast(), header_len, "header")?,
            )
        };
        SUBSCRIBERS.with(subscriber.id, |s| {
            let name = s.inner.name().to_string();
            if s.held.is_some() {
                return Err(Fail::invalid(format!(
                    "cannot receive on topic {name}: a sample is still held; release it first"
                )));
            }
            let (max, head) = (s.inner.max_len(), s.inner.header_len());
            if capacity < max {
                return Err(Fail::new(
                    PIPC_INVALID_ARGUMENT,
                    format!(
                        "cannot receive on topic {name}: the buffer has {capacity} bytes but a \
                         sample may have {max}"
                    ),
                ));
            }
            if header_len != head {
                return Err(Fail::invalid(format!(
                    "cannot receive on topic {name}: the header is {head} bytes, not \
                     {header_len}"
                )));
            }
            let sample = s.inner.recv_with(timeout(timeout_ns))?;
            let n = sample.len();
            buf[..n].copy_from_slice(&sample);
            header_buf.copy_from_slice(sample.header());
            let i = sample.index();
            drop(sample);
            // SAFETY: NULL or writable (the caller's contract).
            unsafe {
                if let Some(l) = len.as_mut() {
                    *l = n;
                }
                if let Some(x) = index.as_mut() {
                    *x = i;
                }
            }
            Ok(())
        })
    })
}

/// The largest sample and the header's size, as `pipc_publisher_sizes`.
///
/// # Safety
///
/// As `pipc_publisher_sizes`.
#[no_mangle]
pub unsafe extern "C" fn pipc_subscriber_sizes(
    subscriber: pipc_subscriber,
    max_len: *mut usize,
    header_len: *mut usize,
) -> i32 {
    call("pipc_subscriber_sizes", || {
        SUBSCRIBERS.with(subscriber.id, |s| {
            // SAFETY: NULL or writable (the caller's contract).
            unsafe {
                if let Some(m) = max_len.as_mut() {
                    *m = s.inner.max_len();
                }
                if let Some(h) = header_len.as_mut() {
                    *h = s.inner.header_len();
                }
            }
            Ok(())
        })
    })
}

/// Leaves the topic (a held sample is released).
#[no_mangle]
pub extern "C" fn pipc_subscriber_close(subscriber: pipc_subscriber) -> i32 {
    call("pipc_subscriber_close", || {
        SUBSCRIBERS.remove(subscriber.id)
    })
}

/// A topic's counters, as one end sees them.
#[repr(C)]
#[derive(Debug, Default)]
pub struct pipc_topic_status {
    /// Samples published so far (the next sample's index).
    pub published: u64,
    /// For a subscriber: samples published that it has not read yet; for a publisher: the
    /// most any subscriber has not read.
    pub pending: u64,
    /// The current (or last) publisher's generation: 1 for the first.
    pub generation: u64,
    /// Subscribers joined and alive.
    pub subscribers: u32,
    /// 1 if a publisher is alive.
    pub publisher_alive: i32,
    /// 1 if the topic's name still refers to it (0 once removed: a new topic may be made
    /// under the name, which a subscriber joins by opening it again).
    pub linked: i32,
}

fn fill_status(
    out: &mut std::mem::MaybeUninit<pipc_topic_status>,
    status: posix_ipc_core::TopicStatus,
    generation: u64,
    linked: bool,
    publisher: bool,
) {
    out.write(pipc_topic_status {
        published: status.published(),
        pending: if publisher {
            status.most_pending()
        } else {
            status.pending()
        },
        generation,
        subscribers: u32::try_from(status.subscribers()).unwrap_or(u32::MAX),
        publisher_alive: i32::from(status.publisher_alive()),
        linked: i32::from(linked),
    });
}

/// The topic's counters as this subscriber sees them.
///
/// # Safety
///
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_subscriber_status(
    subscriber: pipc_subscriber,
    out: *mut pipc_topic_status,
) -> i32 {
    call("pipc_subscriber_status", || {
        // SAFETY: NULL or writable (the caller's contract).
        let out = unsafe { out_arg(out, "out") }?;
        SUBSCRIBERS.with(subscriber.id, |s| {
            let linked = s.inner.stat()?.linked;
            fill_status(out, s.inner.status()?, s.inner.generation(), linked, false);
            Ok(())
        })
    })
}

/// The topic's counters as its publisher sees them.
///
/// # Safety
///
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pipc_publisher_status(
    publisher: pipc_publisher,
    out: *mut pipc_topic_status,
) -> i32 {
    call("pipc_publisher_status", || {
        // SAFETY: NULL or writable (the caller's contract).
        let out = unsafe { out_arg(out, "out") }?;
        PUBLISHERS.with(publisher.id, |p| {
            let p = p.get();
            let linked = p.stat()?.linked;
            fill_status(out, p.status()?, p.generation(), linked, true);
            Ok(())
        })
    })
}
