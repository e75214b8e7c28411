//! "Create or take over, owned" on every named kind (issue 21), beyond topics: `Shared<T>`,
//! `RecordShared`, the rings (typed and record ends), the typed queue and `RobustMutex`.
//!
//! - An owner killed with SIGKILL is replaced by a process that takes the object over and owns
//!   it, round after round, while a peer that stayed alive keeps using the same object (the
//!   value stored, the messages sent, the lock); the last owner exits cleanly and its drop
//!   removes the object.
//! - A live owner: `AlreadyExists` naming its pid and a call that exists on that type (the
//!   test calls it); each kind's `create` names its `create_or_take_over`.
//! - Another type or geometry: `Mismatch` naming both.
//! - Two processes racing on one ring: exactly one wins, the other's error names the winner.
//!
//! The kill and race scenarios run `POSIX_IPC_FAULT_ITERATIONS` (default 100) rounds and print
//! one summary line each (uncaptured).

mod common;

use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{Child, ChildStdout};
use std::time::{Duration, Instant};

use common::{guard, guarded, Kind};
use posix_ipc::{
    ErrorKind, IpcMessage, Receiver, RecordReceiver, RecordSender, RecordShared, RecordType,
    RingMode, RingReceiver, RingSender, RobustMutex, Sender, Shared, SharedMemory, TypedQueue,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    round: u64,
    seq: u64,
}

/// The same size as [`Tick`], another layout: only the type fingerprint tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Other {
    a: f64,
    b: f64,
}

const CAPACITY: usize = 4;
const MAX_MESSAGES: usize = 4;
const WAIT: Duration = Duration::from_secs(10);

fn tick(round: u64, seq: u64) -> Tick {
    Tick { round, seq }
}

/// The companion segment of the typed queue `name`.
fn companion(name: &str) -> String {
    format!("{name}{}", posix_ipc::typed::COMPANION_SUFFIX)
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    assert_eq!(role, "owner", "unknown role {role}");
    let (kind, name, round) = (args[0].as_str(), args[1].as_str(), args[2].parse().unwrap());
    let record = RecordType::of::<Tick>();
    let started = Instant::now();
    // Creates or takes over the object of `kind`, says so ("READY <owns> <micros>"), uses it
    // ("SENT" after two messages, "LOCKED <previous owner died>"), then waits for a line on
    // stdin, or to be killed, before it ends (and its owner removes the object).
    macro_rules! own {
        ($made:expr, |$h:ident| $use:expr) => {
            match $made {
                Ok($h) => {
                    println!(
                        "READY {} {}",
                        u8::from($h.owns()),
                        started.elapsed().as_micros()
                    );
                    $use;
                    let mut line = String::new();
                    let _ = std::io::stdin().read_line(&mut line);
                    drop($h);
                }
                Err(e) => println!("REFUSED {:?} {e}", e.kind()),
            }
        };
    }
    match kind {
        "shared" => own!(
            Shared::create_or_take_over(name, &tick(round, 0)),
            |h| println!("STORED")
        ),
        "record-shared" => own!(
            RecordShared::create_or_take_over(name, &record, bytemuck::bytes_of(&tick(round, 0))),
            |h| println!("STORED")
        ),
        "ring" => own!(
            RingSender::<Tick>::create_or_take_over(name, CAPACITY, RingMode::Spsc),
            |h| {
                h.send(&tick(round, 0)).unwrap();
                h.send(&tick(round, 1)).unwrap();
                println!("SENT");
            }
        ),
        "ring-receiver" => own!(
            RingReceiver::<Tick>::create_or_take_over(name, CAPACITY, RingMode::Spsc),
            |h| println!("LISTENING")
        ),
        "record-ring" => own!(
            RecordSender::create_or_take_over(name, CAPACITY, RingMode::Spsc, &record),
            |h| {
                h.send(bytemuck::bytes_of(&tick(round, 0))).unwrap();
                h.send(bytemuck::bytes_of(&tick(round, 1))).unwrap();
                println!("SENT");
            }
        ),
        "queue" => own!(
            Sender::<Tick>::create_or_take_over(name, MAX_MESSAGES),
            |h| {
                h.send(&tick(round, 0)).unwrap();
                h.send(&tick(round, 1)).unwrap();
                println!("SENT");
            }
        ),
        "mutex" => own!(RobustMutex::create_or_take_over(name), |h| {
            let guard = h.lock().unwrap();
            println!("LOCKED {}", u8::from(guard.previous_owner_died()));
            // Held until the process is killed (or told to end).
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            drop(guard);
        }),
        other => panic!("unknown kind {other}"),
    }
}

/// A child process that creates or takes over one object.
struct Owner {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Owner {
    /// Starts an owner of `kind` for round `round`.
    fn spawn(kind: &str, name: &str, round: u64) -> Owner {
        let mut child = common::spawn_child_with_stdin(
            "child_entry",
            "owner",
            &[kind, name, &round.to_string()],
        );
        let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Owner { child, lines }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The rest of the child's next line that holds `READY ` or `REFUSED `: `Ok` for ready.
    fn outcome(&mut self) -> Result<String, String> {
        for line in self.lines.by_ref() {
            let line = line.expect("read the child's stdout");
            if let Some(at) = line.find("READY ") {
                return Ok(line[at + 6..].trim().to_string());
            }
            if let Some(at) = line.find("REFUSED ") {
                return Err(line[at + 8..].trim().to_string());
            }
        }
        panic!("the child ended before it was ready or refused");
    }

    /// The rest of the child's next line that holds `word`.
    fn expect(&mut self, word: &str) -> String {
        for line in self.lines.by_ref() {
            let line = line.expect("read the child's stdout");
            if let Some(at) = line.find(word) {
                return line[at + word.len()..].trim().to_string();
            }
        }
        panic!("the child ended before printing {word:?}");
    }

    /// SIGKILL, and wait for it.
    fn kill(mut self) {
        self.child.kill().expect("kill the owner");
        self.child.wait().expect("wait for the owner");
    }

    /// Tells it to end (its owner is dropped, which removes the object), and checks it ended
    /// successfully.
    fn exit(mut self) {
        let mut stdin = self.child.stdin.take().expect("piped stdin");
        // A child that refused has ended already (the write then fails: nothing to tell).
        let _ = stdin.write_all(b"exit\n");
        drop(stdin);
        let status = self.child.wait().expect("wait for the owner");
        assert!(status.success(), "the owner ended with {status}");
    }
}

/// `rounds` owners of `kind` in turn: each creates or takes over the object and must own it;
/// `check(round, owner)` then checks the object works (from a peer that stays alive across the
/// restarts); every owner but the last is then killed with SIGKILL (and `killed(round)` runs),
/// the last exits cleanly. Returns the take-over times in microseconds (rounds after the
/// first), sorted.
fn owners_in_turn(
    kind: &str,
    name: &str,
    mut check: impl FnMut(u64, &mut Owner),
    mut killed: impl FnMut(u64),
) -> Vec<u64> {
    let rounds = common::iterations().max(2);
    let mut times = Vec::new();
    for round in 0..rounds {
        let mut owner = Owner::spawn(kind, name, round);
        let ready = match owner.outcome() {
            Ok(ready) => ready,
            Err(refused) => panic!("round {round}: {kind} refused: {refused}"),
        };
        let fields: Vec<&str> = ready.split(' ').collect();
        assert_eq!(
            fields[0], "1",
            "round {round}: the {kind} is owned: {ready}"
        );
        if round > 0 {
            times.push(fields[1].parse().unwrap());
        }
        check(round, &mut owner);
        if round + 1 < rounds {
            owner.kill();
            killed(round);
        } else {
            owner.exit();
        }
    }
    times.sort_unstable();
    times
}

fn summary(what: &str, times: &[u64]) {
    common::say(&format!(
        "restarts: take-over after SIGKILL, {what}: {} rounds, each owned by its new process, the \
         peer that stayed saw every round; create_or_take_over took median {} us, max {} us; the \
         last owner's clean exit removed it",
        times.len() + 1,
        times.get(times.len() / 2).copied().unwrap_or(0),
        times.last().copied().unwrap_or(0)
    ));
}

/// A `Shared<T>` whose owner was killed is taken over holding the new owner's `initial`, which
/// a reader that kept its handle sees.
#[test]
fn a_shared_struct_is_taken_over_after_kill_holding_initial() {
    let (name, _cleanup) = guarded(Kind::Shm, "shared");
    let mut reader: Option<Shared<Tick>> = None;
    let mut last_version = None;
    let times = owners_in_turn(
        "shared",
        &name,
        |round, owner| {
            owner.expect("STORED");
            let reader = reader.get_or_insert_with(|| Shared::<Tick>::open(&name).unwrap());
            let (value, version) = reader.load_versioned();
            assert_eq!(value, tick(round, 0), "round {round}: as if created");
            if let Some(last) = last_version {
                assert!(
                    version > last,
                    "round {round}: the take-over's store is a new version"
                );
            }
            last_version = Some(version);
        },
        |_| {},
    );
    assert_eq!(
        Shared::<Tick>::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    summary("Shared<T>", &times);
}

/// A `RecordShared` is taken over as a `Shared<T>` is (and a typed reader sees its records).
#[test]
fn a_record_shared_struct_is_taken_over_after_kill_holding_initial() {
    let (name, _cleanup) = guarded(Kind::Shm, "record-shared");
    let mut reader: Option<Shared<Tick>> = None;
    let times = owners_in_turn(
        "record-shared",
        &name,
        |round, owner| {
            owner.expect("STORED");
            let reader = reader.get_or_insert_with(|| Shared::<Tick>::open(&name).unwrap());
            assert_eq!(reader.load(), tick(round, 0), "round {round}");
        },
        |_| {},
    );
    assert_eq!(
        Shared::<Tick>::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    summary("RecordShared", &times);
}

/// Receives the messages a ring or queue must hold after round `round`'s owner sent: the one
/// the previous owner left (the contents stayed across the take-over), then this round's
/// first, leaving its second for the next round (or taking it too in the last round).
fn expected_after(round: u64, last: bool) -> Vec<Tick> {
    let mut want = Vec::new();
    if round > 0 {
        want.push(tick(round - 1, 1));
    }
    want.push(tick(round, 0));
    if last {
        want.push(tick(round, 1));
    }
    want
}

/// An SPSC ring whose producer (and owner) was killed is taken over by the next producer: the
/// message the killed one left stays, and the consumer that kept its handle receives every
/// message in order.
#[test]
fn a_ring_is_taken_over_after_kill_and_its_messages_stay() {
    let (name, _cleanup) = guarded(Kind::Shm, "ring");
    let rounds = common::iterations().max(2);
    let mut rx: Option<RingReceiver<Tick>> = None;
    let times = owners_in_turn(
        "ring",
        &name,
        |round, owner| {
            owner.expect("SENT");
            let rx = rx.get_or_insert_with(|| RingReceiver::<Tick>::open(&name).unwrap());
            for want in expected_after(round, round + 1 == rounds) {
                assert_eq!(rx.recv_timeout(WAIT).unwrap(), want, "round {round}");
            }
        },
        |_| {},
    );
    assert_eq!(
        RingReceiver::<Tick>::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    summary("RingSender<T> (SPSC, dead producer's entry reused)", &times);
}

/// A ring made by a `RecordSender` is taken over by the next one; a typed consumer receives.
#[test]
fn a_record_ring_is_taken_over_after_kill_and_its_messages_stay() {
    let (name, _cleanup) = guarded(Kind::Shm, "record-ring");
    let rounds = common::iterations().max(2);
    let mut rx: Option<RecordReceiver> = None;
    let times = owners_in_turn(
        "record-ring",
        &name,
        |round, owner| {
            owner.expect("SENT");
            let rx = rx.get_or_insert_with(|| {
                RecordReceiver::open(&name, &RecordType::of::<Tick>()).unwrap()
            });
            for want in expected_after(round, round + 1 == rounds) {
                let got = rx.recv_with(WAIT).unwrap();
                assert_eq!(got, bytemuck::bytes_of(&want), "round {round}");
            }
        },
        |_| {},
    );
    assert_eq!(
        RingReceiver::<Tick>::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    summary("RecordSender", &times);
}

/// A typed queue whose sender (and owner) was killed is taken over by the next sender: the
/// message the killed one left stays, and the receiver that kept its handle receives every
/// message in order; the last owner's exit removes the queue and its companion.
#[test]
fn a_typed_queue_is_taken_over_after_kill_and_its_messages_stay() {
    let (name, _cleanup) = guarded(Kind::Mq, "queue");
    let _companion = guard(Kind::Shm, &companion(&name));
    let rounds = common::iterations().max(2);
    let mut rx: Option<Receiver<Tick>> = None;
    let times = owners_in_turn(
        "queue",
        &name,
        |round, owner| {
            owner.expect("SENT");
            let rx = rx.get_or_insert_with(|| Receiver::<Tick>::open(&name).unwrap());
            for want in expected_after(round, round + 1 == rounds) {
                assert_eq!(rx.recv_timeout(WAIT).unwrap(), want, "round {round}");
            }
        },
        |_| {},
    );
    assert_eq!(
        Receiver::<Tick>::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        SharedMemory::open(&companion(&name)).unwrap_err().kind(),
        ErrorKind::NotFound,
        "the companion goes with the queue"
    );
    summary("Sender<T> (queue and companion)", &times);
}

/// A robust mutex whose owner was killed holding the lock is taken over: a process that kept
/// its handle gets the lock at once, told its holder died, and the next owner, after that
/// repair, locks it cleanly.
#[test]
fn a_robust_mutex_is_taken_over_after_kill() {
    let (name, _cleanup) = guarded(Kind::Shm, "mutex");
    let peer = std::cell::OnceCell::new();
    let times = owners_in_turn(
        "mutex",
        &name,
        |round, owner| {
            let died = owner.expect("LOCKED ");
            assert_eq!(
                died, "0",
                "round {round}: the peer repaired it after the last kill"
            );
            let peer = peer.get_or_init(|| RobustMutex::open(&name).unwrap());
            assert_eq!(
                peer.try_lock().unwrap_err().kind(),
                ErrorKind::WouldBlock,
                "round {round}: the owner holds it"
            );
        },
        |round| {
            let peer = peer.get().expect("opened in round 0");
            let guard = peer.lock_timeout(WAIT).unwrap();
            assert!(guard.previous_owner_died(), "round {round}");
        },
    );
    assert_eq!(
        RobustMutex::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    summary("RobustMutex (killed holding the lock)", &times);
}

/// Asserts `err` is `AlreadyExists` naming the live owner `pid` and the call `instead`.
fn assert_in_use(err: &posix_ipc::Error, pid: u32, instead: &str) {
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("pid {pid} (")),
        "names the owner {pid}: {text}"
    );
    assert!(text.contains(instead), "names {instead}: {text}");
}

/// Asserts a create's `AlreadyExists` names `take_over`, and no call the type lacks.
fn assert_create_names(err: &posix_ipc::Error, take_over: &str) {
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let text = err.to_string();
    assert!(text.contains(take_over), "names {take_over}: {text}");
    assert!(!text.contains("open_or_create"), "{text}");
}

/// While its owner lives, `create_or_take_over` refuses with `AlreadyExists` naming the owner's
/// pid and a call that exists on that type (called here, so it compiles and works), and
/// `create` names `create_or_take_over`.
#[test]
fn a_live_owner_is_named_with_the_call_to_use_instead() {
    let record = RecordType::of::<Tick>();
    let mut kinds = 0;

    let (name, _cleanup) = guarded(Kind::Shm, "live-shared");
    let mut owner = Owner::spawn("shared", &name, 7);
    owner.outcome().unwrap();
    let err = Shared::<Tick>::create_or_take_over(&name, &tick(0, 0)).unwrap_err();
    assert_in_use(&err, owner.pid(), "Shared::<Tick>::open");
    assert_eq!(Shared::<Tick>::open(&name).unwrap().load(), tick(7, 0));
    let err = RecordShared::create_or_take_over(&name, &record, &[0; 16]).unwrap_err();
    assert_in_use(&err, owner.pid(), "RecordShared::open");
    assert_eq!(
        RecordShared::open(&name, &record).unwrap().load(),
        bytemuck::bytes_of(&tick(7, 0))
    );
    let err = Shared::<Tick>::create(&name, &tick(0, 0)).unwrap_err();
    assert_create_names(&err, "Shared::<Tick>::create_or_take_over");
    let err = RecordShared::create(&name, &record, &[0; 16]).unwrap_err();
    assert_create_names(&err, "RecordShared::create_or_take_over");
    owner.exit();
    kinds += 2;

    // A consumer owns the ring: a restarted producer is told to open it, and can.
    let (name, _cleanup) = guarded(Kind::Shm, "live-ring");
    let mut owner = Owner::spawn("ring-receiver", &name, 0);
    owner.outcome().unwrap();
    let err = RingSender::<Tick>::create_or_take_over(&name, CAPACITY, RingMode::Spsc).unwrap_err();
    assert_in_use(&err, owner.pid(), "RingSender::<Tick>::open");
    RingSender::<Tick>::open(&name)
        .unwrap()
        .send(&tick(0, 0))
        .unwrap();
    let err =
        RecordSender::create_or_take_over(&name, CAPACITY, RingMode::Spsc, &record).unwrap_err();
    assert_in_use(&err, owner.pid(), "RecordSender::open");
    drop(RecordSender::open(&name, &record).unwrap());
    let err =
        RingReceiver::<Tick>::create_or_take_over(&name, CAPACITY, RingMode::Spsc).unwrap_err();
    assert_in_use(&err, owner.pid(), "RingReceiver::<Tick>::open");
    let err =
        RecordReceiver::create_or_take_over(&name, CAPACITY, RingMode::Spsc, &record).unwrap_err();
    assert_in_use(&err, owner.pid(), "RecordReceiver::open");
    let err = RingSender::<Tick>::create(&name, CAPACITY, RingMode::Spsc).unwrap_err();
    assert_create_names(&err, "RingSender::<Tick>::create_or_take_over");
    let err = RingReceiver::<Tick>::create(&name, CAPACITY, RingMode::Spsc).unwrap_err();
    assert_create_names(&err, "RingReceiver::<Tick>::create_or_take_over");
    let err = RecordSender::create(&name, CAPACITY, RingMode::Spsc, &record).unwrap_err();
    assert_create_names(&err, "RecordSender::create_or_take_over");
    let err = RecordReceiver::create(&name, CAPACITY, RingMode::Spsc, &record).unwrap_err();
    assert_create_names(&err, "RecordReceiver::create_or_take_over");
    owner.exit();
    kinds += 4;

    let (name, _cleanup) = guarded(Kind::Mq, "live-queue");
    let _companion = guard(Kind::Shm, &companion(&name));
    let mut owner = Owner::spawn("queue", &name, 3);
    owner.outcome().unwrap();
    owner.expect("SENT");
    let err = Sender::<Tick>::create_or_take_over(&name, MAX_MESSAGES).unwrap_err();
    assert_in_use(&err, owner.pid(), "Sender::<Tick>::open");
    drop(Sender::<Tick>::open(&name).unwrap());
    let err = Receiver::<Tick>::create_or_take_over(&name, MAX_MESSAGES).unwrap_err();
    assert_in_use(&err, owner.pid(), "Receiver::<Tick>::open");
    assert_eq!(
        Receiver::<Tick>::open(&name).unwrap().recv().unwrap(),
        tick(3, 0)
    );
    let err = TypedQueue::<Tick>::create_or_take_over(&name, MAX_MESSAGES).unwrap_err();
    assert_in_use(&err, owner.pid(), "TypedQueue::<Tick>::open");
    drop(TypedQueue::<Tick>::open(&name).unwrap());
    let err = Sender::<Tick>::create(&name, MAX_MESSAGES).unwrap_err();
    assert_create_names(&err, "Sender::<Tick>::create_or_take_over");
    let err = Receiver::<Tick>::create(&name, MAX_MESSAGES).unwrap_err();
    assert_create_names(&err, "Receiver::<Tick>::create_or_take_over");
    let err = TypedQueue::<Tick>::create(&name, MAX_MESSAGES).unwrap_err();
    assert_create_names(&err, "TypedQueue::<Tick>::create_or_take_over");
    owner.exit();
    kinds += 3;

    let (name, _cleanup) = guarded(Kind::Shm, "live-mutex");
    let mut owner = Owner::spawn("mutex", &name, 0);
    owner.outcome().unwrap();
    owner.expect("LOCKED ");
    let err = RobustMutex::create_or_take_over(&name).unwrap_err();
    assert_in_use(&err, owner.pid(), "RobustMutex::open");
    drop(RobustMutex::open(&name).unwrap());
    let err = RobustMutex::create(&name).unwrap_err();
    assert_create_names(&err, "RobustMutex::create_or_take_over");
    owner.exit();
    kinds += 1;

    // An owner in this very process is alive too.
    let (name, _cleanup) = guarded(Kind::Shm, "live-self");
    let mine = Shared::<Tick>::create_or_take_over(&name, &tick(1, 1)).unwrap();
    let err = Shared::<Tick>::create_or_take_over(&name, &tick(2, 2)).unwrap_err();
    assert_in_use(&err, std::process::id(), "Shared::<Tick>::open");
    assert!(err.to_string().contains("this process"), "{err}");
    assert_eq!(
        mine.load(),
        tick(1, 1),
        "a refused take-over stores nothing"
    );

    common::say(&format!(
        "restarts: create_or_take_over with a live owner: refused with AlreadyExists naming its \
         pid and an existing call, on {kinds} types; their create names create_or_take_over"
    ));
}

/// A stale object of another type or geometry (its owner closed it) is a `Mismatch` naming
/// both; of the right type and geometry it is taken over.
#[test]
fn a_stale_object_of_another_type_or_geometry_is_a_mismatch() {
    let record = RecordType::of::<Tick>();
    let other = RecordType::of::<Other>();
    let fingerprint = format!("{:#018x}", Tick::FINGERPRINT);
    let names_both = |err: &posix_ipc::Error, ours: &str| {
        assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
        let text = err.to_string();
        assert!(text.contains("cannot be taken over"), "{text}");
        assert!(text.contains("Other") && text.contains(ours), "{text}");
    };

    let (name, _cleanup) = guarded(Kind::Shm, "stale-shared");
    drop(Shared::<Tick>::create(&name, &tick(0, 0)).unwrap());
    names_both(
        &Shared::<Other>::create_or_take_over(&name, &Other { a: 0.0, b: 0.0 }).unwrap_err(),
        &fingerprint,
    );
    names_both(
        &RecordShared::create_or_take_over(&name, &other, &[0; 16]).unwrap_err(),
        &fingerprint,
    );
    let err = RingSender::<Tick>::create_or_take_over(&name, CAPACITY, RingMode::Spsc).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    assert!(err.to_string().contains("shared struct"), "{err}");
    let err = RobustMutex::create_or_take_over(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    assert!(err.to_string().contains("shared struct"), "{err}");
    let taken = Shared::<Tick>::create_or_take_over(&name, &tick(5, 5)).unwrap();
    assert!(taken.owns());
    assert_eq!(taken.load(), tick(5, 5));

    let (name, _cleanup) = guarded(Kind::Shm, "stale-ring");
    drop(RingReceiver::<Tick>::create(&name, CAPACITY, RingMode::Spsc).unwrap());
    names_both(
        &RingSender::<Other>::create_or_take_over(&name, CAPACITY, RingMode::Spsc).unwrap_err(),
        &fingerprint,
    );
    names_both(
        &RecordReceiver::create_or_take_over(&name, CAPACITY, RingMode::Spsc, &other).unwrap_err(),
        &fingerprint,
    );
    let err =
        RingSender::<Tick>::create_or_take_over(&name, 2 * CAPACITY, RingMode::Spsc).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    assert!(err.to_string().contains("capacity 4 in Spsc mode"), "{err}");
    let err = RingSender::<Tick>::create_or_take_over(&name, CAPACITY, RingMode::Mpmc).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    let err = Shared::<Tick>::create_or_take_over(&name, &tick(0, 0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    assert!(err.to_string().contains("ring"), "{err}");
    assert!(
        RecordSender::create_or_take_over(&name, CAPACITY, RingMode::Spsc, &record)
            .unwrap()
            .owns()
    );

    let (name, _cleanup) = guarded(Kind::Mq, "stale-queue");
    let _companion = guard(Kind::Shm, &companion(&name));
    drop(Sender::<Tick>::create(&name, MAX_MESSAGES).unwrap());
    names_both(
        &Sender::<Other>::create_or_take_over(&name, MAX_MESSAGES).unwrap_err(),
        "Tick",
    );
    let err = Receiver::<Tick>::create_or_take_over(&name, MAX_MESSAGES - 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    assert!(
        err.to_string().contains(&format!(
            "at most {MAX_MESSAGES} messages, not the {} asked for",
            MAX_MESSAGES - 1
        )),
        "{err}"
    );
    assert!(Receiver::<Tick>::create_or_take_over(&name, MAX_MESSAGES)
        .unwrap()
        .owns());

    // A queue without a typed companion records no owner: it is not taken over.
    let (name, _cleanup) = guarded(Kind::Mq, "plain-queue");
    let _plain = posix_ipc::MessageQueue::create(&name, MAX_MESSAGES, 16).unwrap();
    let err = Sender::<Tick>::create_or_take_over(&name, MAX_MESSAGES).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    assert!(err.to_string().contains("no companion"), "{err}");

    common::say(
        "restarts: create_or_take_over of a stale object of another type, geometry or kind: \
         Mismatch naming both, for Shared, RecordShared, the ring ends, the queue ends and \
         RobustMutex",
    );
}

/// Two processes racing to create or take over one ring (every other round a stale one, its
/// owner killed): exactly one wins, and the other's error names the winner.
#[test]
fn of_two_processes_racing_on_a_ring_exactly_one_wins_and_the_other_names_it() {
    let rounds = common::iterations();
    let mut stale_rounds = 0;
    for round in 0..rounds {
        let (name, _cleanup) = guarded(Kind::Shm, "race");
        if round % 2 == 1 {
            let mut first = Owner::spawn("ring", &name, 0);
            first.outcome().unwrap();
            first.kill();
            stale_rounds += 1;
        }
        let mut racers = [
            Owner::spawn("ring", &name, 1),
            Owner::spawn("ring", &name, 2),
        ];
        let outcomes: Vec<(u32, Result<String, String>)> = racers
            .iter_mut()
            .map(|racer| (racer.pid(), racer.outcome()))
            .collect();
        for racer in racers {
            racer.exit();
        }
        let winners: Vec<u32> = outcomes
            .iter()
            .filter(|(_, o)| o.is_ok())
            .map(|(pid, _)| *pid)
            .collect();
        let losers: Vec<&String> = outcomes
            .iter()
            .filter_map(|(_, o)| o.as_ref().err())
            .collect();
        assert_eq!(
            (winners.len(), losers.len()),
            (1, 1),
            "round {round}: {outcomes:?}"
        );
        assert!(
            losers[0].starts_with("AlreadyExists")
                && losers[0].contains(&format!("pid {} (", winners[0])),
            "round {round}: the loser's error names the winner {}: {}",
            winners[0],
            losers[0]
        );
    }
    common::say(&format!(
        "restarts: RingSender::create_or_take_over race of two processes: {rounds} rounds \
         ({stale_rounds} on a ring whose owner was killed), exactly one winner each, the loser \
         named it"
    ));
}
