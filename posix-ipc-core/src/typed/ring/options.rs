//! [`RingOptions`]: a ring made with permission bits of its choosing, or by a creator that
//! takes no end.

use super::*;

/// How to create a ring: its capacity, its [`RingMode`] and the permission bits of its segment
/// (`0o600` unless [`permissions`](Self::permissions) says otherwise; the umask applies).
///
/// [`create`](Self::create) makes the ring and takes **no end**, which is what a parent that
/// makes a ring for its children needs: `RingSender::create` would register the parent as the
/// producer (the only one an SPSC ring has), and when the parent left, the consumer would be
/// told that every producer had gone before the real producer ever attached. A ring that no
/// producer has joined yet makes a receiver wait, not report a disconnection. The
/// `create_sender` and `create_receiver` family take one end, as `RingSender::create` and
/// `RingReceiver::create` do, with these permission bits.
///
/// ```
/// use posix_ipc::typed::ring::RingOptions;
/// use posix_ipc::{ErrorKind, IpcMessage, RingMode, RingReceiver, RingSender};
///
/// #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
/// #[repr(C)]
/// struct Job { id: u64 }
///
/// # let name = format!("/doc-ring-options-{}", std::process::id());
/// RingOptions::new(64, RingMode::Spsc)
///     .permissions(0o640)                       // group members may open it too
///     .create::<Job>(&name)?;                   // the parent takes neither end
/// let rx = RingReceiver::<Job>::open(&name)?;   // a child
/// assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock); // waits, not gone
/// let tx = RingSender::<Job>::open(&name)?;     // another child: the producer slot is free
/// tx.send(&Job { id: 1 })?;
/// assert_eq!(rx.recv()?.id, 1);
/// assert_eq!(rx.stat()?.mode & 0o007, 0);       // nothing for others
/// posix_ipc::unlink_shared_memory(&name)?;
/// # Ok::<(), posix_ipc::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingOptions {
    capacity: usize,
    mode: RingMode,
    permissions: u32,
}

impl RingOptions {
    /// A ring of `capacity` slots (a power of two from 2 to 2^30, checked when creating) in
    /// `mode`, with permission bits `0o600`.
    pub fn new(capacity: usize, mode: RingMode) -> Self {
        RingOptions {
            capacity,
            mode,
            permissions: DEFAULT_PERMISSIONS,
        }
    }

    /// The permission bits of the ring's segment (`shm_open`'s mode; the umask applies), at
    /// most `0o7777`. Peers of another user need read and write access: a ring end maps the
    /// segment read-write.
    pub fn permissions(&mut self, permissions: u32) -> &mut Self {
        self.permissions = permissions;
        self
    }

    /// Creates the ring segment (exclusive) for messages of `T`, storing `T`'s layout, and
    /// takes no end: producers and consumers then [`open`](RingSender::open) it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] if the name exists (the error names the calls to use
    /// instead); [`ErrorKind::InvalidArgument`] for a capacity that is not a power of two from
    /// 2 to 2^30 or permission bits above `0o7777`.
    pub fn create<T: IpcMessage>(&self, name: &str) -> Result<()> {
        let end = T::LAYOUT.name;
        self.make(name, &RecordType::of::<T>(), Some(&T::LAYOUT))
            .map_err(|e| {
                header::exists_naming(
                    e,
                    &format!("RingSender::<{end}>::open or RingReceiver::<{end}>::open"),
                    &format!("RingSender::<{end}>::create_or_take_over"),
                )
            })
            .map(drop)
    }

    /// As [`create`](Self::create), for records of a [`RecordType`] (whose layout is not
    /// known, so the ring stores none); [`RecordSender::open`] and [`RecordReceiver::open`]
    /// (or typed ends of the same size and fingerprint) then open it.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create), and [`ErrorKind::InvalidArgument`] for a record type of
    /// size 0 or above [`RECORD_SIZE_MAX`](crate::typed::RECORD_SIZE_MAX).
    pub fn create_records(&self, name: &str, record: &RecordType) -> Result<()> {
        self.make(name, record, None)
            .map_err(|e| {
                header::exists_naming(
                    e,
                    "RecordSender::open or RecordReceiver::open",
                    "RecordSender::create_or_take_over",
                )
            })
            .map(drop)
    }

    /// Creates the ring as [`create`](Self::create) does and registers as its producer, as
    /// [`RingSender::create`] does.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    pub fn create_sender<T: IpcMessage>(&self, name: &str) -> Result<RingSender<T>> {
        let ring = self
            .make(name, &RecordType::of::<T>(), Some(&T::LAYOUT))
            .map_err(|e| exists_in(e, &format!("RingSender::<{}>", T::LAYOUT.name)))?;
        RingSender::with(ring)
    }

    /// Creates the ring as [`create`](Self::create) does and registers as its consumer, as
    /// [`RingReceiver::create`] does.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    pub fn create_receiver<T: IpcMessage>(&self, name: &str) -> Result<RingReceiver<T>> {
        let ring = self
            .make(name, &RecordType::of::<T>(), Some(&T::LAYOUT))
            .map_err(|e| exists_in(e, &format!("RingReceiver::<{}>", T::LAYOUT.name)))?;
        RingReceiver::with(ring)
    }

    /// Creates the ring for records of `record`, as [`create_records`](Self::create_records)
    /// does, and registers as its producer, as [`RecordSender::create`] does.
    ///
    /// # Errors
    ///
    /// As [`create_records`](Self::create_records).
    pub fn create_record_sender(&self, name: &str, record: &RecordType) -> Result<RecordSender> {
        let ring = self
            .make(name, record, None)
            .map_err(|e| exists_in(e, "RecordSender"))?;
        RingSender::with(ring).map(RecordSender)
    }

    /// Creates the ring for records of `record`, as [`create_records`](Self::create_records)
    /// does, and registers as its consumer, as [`RecordReceiver::create`] does.
    ///
    /// # Errors
    ///
    /// As [`create_records`](Self::create_records).
    pub fn create_record_receiver(
        &self,
        name: &str,
        record: &RecordType,
    ) -> Result<RecordReceiver> {
        let ring = self
            .make(name, record, None)
            .map_err(|e| exists_in(e, "RecordReceiver"))?;
        RingReceiver::with(ring).map(RecordReceiver)
    }

    /// The ring, made; dropped without an end, it leaves the segment and no owner.
    fn make(
        &self,
        name: &str,
        record: &RecordType,
        layout: Option<&crate::typed::Layout>,
    ) -> Result<Ring> {
        if self.permissions > 0o7777 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Operation::Create,
                object(name),
                format!(
                    "permission bits {:#o} are above 0o7777: give the mode bits only, as for \
                     shm_open (0o600: the owner reads and writes)",
                    self.permissions
                ),
            ));
        }
        Ring::create(
            name,
            self.capacity,
            self.mode,
            record,
            layout,
            self.permissions,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removes the segment even when the test fails.
    struct Unlink(String);
    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = crate::shm::unlink_shared_memory(&self.0);
        }
    }

    fn unique(tag: &str) -> (String, Unlink) {
        let name = format!("/pit-{}-{tag}", std::process::id());
        (name.clone(), Unlink(name))
    }

    fn record() -> RecordType {
        RecordType::new("Job", 8, 0x6a6f_6221)
    }

    /// The process's umask, from `/proc/self/status` (reading it with `umask(2)` would set
    /// it, racing the other tests' creates).
    fn umask() -> u32 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    }

    #[test]
    fn a_ring_created_without_an_end_makes_its_receiver_wait_for_the_first_producer() {
        let (name, _g) = unique("ring-options-wait");
        RingOptions::new(4, RingMode::Spsc)
            .create_records(&name, &record())
            .unwrap();
        let rx = RecordReceiver::open(&name, &record()).unwrap();
        assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
        let err = rx.recv_with(Duration::from_millis(20)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        let tx = RecordSender::open(&name, &record()).unwrap();
        tx.send(&7u64.to_ne_bytes()).unwrap();
        drop(tx);
        assert_eq!(rx.try_recv().unwrap(), 7u64.to_ne_bytes());
        assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::Disconnected);
    }

    #[test]
    fn an_spsc_ring_created_without_an_end_has_both_slots_free() {
        let (name, _g) = unique("ring-options-slots");
        RingOptions::new(4, RingMode::Spsc)
            .create_records(&name, &record())
            .unwrap();
        let tx = RecordSender::open(&name, &record()).unwrap();
        let rx = RecordReceiver::open(&name, &record()).unwrap();
        assert!(!tx.created() && !rx.created());
        assert_eq!(
            RecordSender::open(&name, &record()).unwrap_err().kind(),
            ErrorKind::AlreadyExists,
            "the one producer slot is the opener's"
        );
    }

    #[test]
    fn a_ring_is_created_with_the_permission_bits_given() {
        let (name, _g) = unique("ring-options-mode");
        let rx = RingOptions::new(4, RingMode::Mpmc)
            .permissions(0o640)
            .create_record_receiver(&name, &record())
            .unwrap();
        assert_eq!(rx.stat().unwrap().mode & 0o777, 0o640 & !umask());
        assert_eq!(rx.mode(), RingMode::Mpmc);
        let (other, _g2) = unique("ring-options-default");
        let tx = RecordSender::create(&other, 4, RingMode::Spsc, &record()).unwrap();
        assert_eq!(tx.stat().unwrap().mode & 0o777, 0o600 & !umask());
    }

    #[test]
    fn permission_bits_above_0o7777_are_refused_and_nothing_is_left() {
        let (name, _g) = unique("ring-options-bad-mode");
        let err = RingOptions::new(4, RingMode::Spsc)
            .permissions(0o10000)
            .create_records(&name, &record())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("0o7777"), "{err}");
        assert_eq!(
            crate::SharedMemory::open(&name).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn creating_a_ring_that_exists_names_the_calls_that_open_it() {
        let (name, _g) = unique("ring-options-exists");
        let options = RingOptions::new(4, RingMode::Spsc);
        options.create_records(&name, &record()).unwrap();
        let err = options.create_records(&name, &record()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(
            err.to_string()
                .contains("RecordSender::open or RecordReceiver::open"),
            "{err}"
        );
    }
}
