//! What the bridge relies on in Zenoh, proved on loopback between two sessions opened by
//! `posix_ipc_zenoh::session::open`: one listening on a free port, one connecting to it.
//!
//! No sleeps: each test waits for the event itself (a sample, a reply, a matching status)
//! with a timeout, and fails when it does not come.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use posix_ipc_zenoh::session::{self, SessionConfig};
use zenoh::bytes::ZBytes;
use zenoh::pubsub::Publisher;
use zenoh::qos::CongestionControl;
use zenoh::sample::{Sample, SampleKind};
use zenoh::{Session, Wait};

/// How long to wait for one event that should come at once on loopback.
const WAIT: Duration = Duration::from_secs(10);

/// A TCP port on 127.0.0.1 that was free a moment ago: bound, read, closed.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Two sessions: `listener` listens on `tcp/127.0.0.1:PORT`, `connector` connects to it.
fn pair() -> (Session, Session) {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let listener = session::open(&SessionConfig {
        listen: vec![endpoint.clone()],
        ..Default::default()
    })
    .expect("open the listening session");
    let connector = session::open(&SessionConfig {
        connect: vec![endpoint],
        ..Default::default()
    })
    .expect("open the connecting session");
    (listener, connector)
}

/// Waits until `publisher` has a matching subscriber: the remote subscriber's declaration
/// has reached the publishing session, so what it publishes now is delivered.
fn wait_matched(publisher: &Publisher<'_>) {
    // The listener first, then the status: a match that happens in between is not missed.
    let listener = publisher
        .matching_listener()
        .wait()
        .expect("matching listener");
    if publisher
        .matching_status()
        .wait()
        .expect("matching status")
        .matching()
    {
        return;
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match listener.recv_timeout(left).expect("matching listener open") {
            Some(status) if status.matching() => return,
            Some(_) => continue,
            None => panic!(
                "no subscriber matched {} within {WAIT:?}",
                publisher.key_expr()
            ),
        }
    }
}

/// Proves that `from`'s declarations reach `to` and back: a publisher on `from` matches a
/// subscriber on `to`. Used before a test that needs the link up but publishes nothing.
fn wait_connected(from: &Session, to: &Session, key: &str) {
    let _subscriber = to.declare_subscriber(key).wait().expect("subscriber");
    let publisher = from.declare_publisher(key).wait().expect("publisher");
    wait_matched(&publisher);
}

fn recv_sample(
    subscriber: &zenoh::pubsub::Subscriber<
        zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>,
    >,
    what: &str,
) -> Sample {
    subscriber
        .recv_timeout(WAIT)
        .expect("subscriber open")
        .unwrap_or_else(|| panic!("no {what} within {WAIT:?}"))
}

/// The bridge's attachment: topic index, generation, publish time (nanoseconds), each a
/// little-endian u64.
fn attachment(topic: u64, generation: u64, time_ns: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(24);
    bytes.extend_from_slice(&topic.to_le_bytes());
    bytes.extend_from_slice(&generation.to_le_bytes());
    bytes.extend_from_slice(&time_ns.to_le_bytes());
    bytes
}

#[test]
fn put_with_24_byte_attachment_arrives_byte_for_byte() {
    let (a, b) = pair();
    let subscriber = a.declare_subscriber("pit/facts/put").wait().unwrap();
    let publisher = b.declare_publisher("pit/facts/put").wait().unwrap();
    wait_matched(&publisher);

    let payload: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let sent = attachment(7, 0x0102_0304_0506_0708, u64::MAX - 1);
    assert_eq!(sent.len(), 24);
    publisher
        .put(payload.clone())
        .attachment(sent.clone())
        .wait()
        .unwrap();

    let sample = recv_sample(&subscriber, "sample");
    assert_eq!(sample.key_expr().as_str(), "pit/facts/put");
    assert_eq!(sample.kind(), SampleKind::Put);
    assert_eq!(&*sample.payload().to_bytes(), &payload[..]);
    let received = sample
        .attachment()
        .expect("the sample carries an attachment");
    assert_eq!(&*received.to_bytes(), &sent[..]);

    a.close().wait().unwrap();
    b.close().wait().unwrap();
}

#[test]
fn liveliness_token_is_seen_appearing_and_disappearing_on_undeclare_and_on_close() {
    let (a, b) = pair();
    let tokens = a
        .liveliness()
        .declare_subscriber("pit/facts/alive/**")
        .wait()
        .unwrap();

    let token = b
        .liveliness()
        .declare_token("pit/facts/alive/one")
        .wait()
        .unwrap();
    let sample = recv_sample(&tokens, "token appearing");
    assert_eq!(
        (sample.kind(), sample.key_expr().as_str()),
        (SampleKind::Put, "pit/facts/alive/one")
    );

    token.undeclare().wait().unwrap();
    let sample = recv_sample(&tokens, "token undeclared");
    assert_eq!(
        (sample.kind(), sample.key_expr().as_str()),
        (SampleKind::Delete, "pit/facts/alive/one")
    );

    let _token = b
        .liveliness()
        .declare_token("pit/facts/alive/two")
        .wait()
        .unwrap();
    let sample = recv_sample(&tokens, "second token appearing");
    assert_eq!(
        (sample.kind(), sample.key_expr().as_str()),
        (SampleKind::Put, "pit/facts/alive/two")
    );

    b.close().wait().unwrap();
    let sample = recv_sample(&tokens, "token gone with its session");
    assert_eq!(
        (sample.kind(), sample.key_expr().as_str()),
        (SampleKind::Delete, "pit/facts/alive/two")
    );
    a.close().wait().unwrap();
}

#[test]
fn liveliness_get_lists_existing_tokens_to_a_late_joiner() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let a = session::open(&SessionConfig {
        listen: vec![endpoint.clone()],
        ..Default::default()
    })
    .unwrap();
    let _one = a
        .liveliness()
        .declare_token("pit/facts/late/one")
        .wait()
        .unwrap();
    let _two = a
        .liveliness()
        .declare_token("pit/facts/late/two")
        .wait()
        .unwrap();

    let late = session::open(&SessionConfig {
        connect: vec![endpoint],
        ..Default::default()
    })
    .unwrap();
    wait_connected(&late, &a, "pit/facts/late-ready");

    let replies = late
        .liveliness()
        .get("pit/facts/late/**")
        .timeout(WAIT)
        .wait()
        .unwrap();
    let mut keys = Vec::new();
    // The channel closes when the query is done (all answered, or the timeout).
    while let Ok(reply) = replies.recv() {
        let sample = reply.into_result().expect("a token, not an error");
        keys.push(sample.key_expr().as_str().to_owned());
    }
    keys.sort();
    assert_eq!(keys, ["pit/facts/late/one", "pit/facts/late/two"]);

    late.close().wait().unwrap();
    a.close().wait().unwrap();
}

#[test]
fn queryable_answers_get_with_reply_payload() {
    let (a, b) = pair();
    let queryable = a.declare_queryable("pit/facts/describe").wait().unwrap();
    let answering = std::thread::spawn(move || {
        let query = queryable
            .recv_timeout(WAIT)
            .expect("queryable open")
            .expect("a query within the timeout");
        query
            .reply(
                query.key_expr().clone(),
                "{\"record\": \"u64\", \"capacity\": 8}",
            )
            .wait()
            .unwrap();
    });

    // A querier's matching status says when the queryable's declaration has arrived.
    let querier = b.declare_querier("pit/facts/describe").wait().unwrap();
    let listener = querier.matching_listener().wait().unwrap();
    if !querier.matching_status().wait().unwrap().matching() {
        let status = listener
            .recv_timeout(WAIT)
            .unwrap()
            .expect("the queryable matched within the timeout");
        assert!(status.matching());
    }

    let replies = b.get("pit/facts/describe").timeout(WAIT).wait().unwrap();
    let reply = replies
        .recv_timeout(WAIT)
        .unwrap()
        .expect("a reply within the timeout");
    let sample = reply.into_result().expect("a reply, not an error");
    assert_eq!(sample.key_expr().as_str(), "pit/facts/describe");
    assert_eq!(
        sample.payload().try_to_string().unwrap(),
        "{\"record\": \"u64\", \"capacity\": 8}"
    );
    answering.join().unwrap();
    // One queryable, one reply: the channel then closes.
    assert!(replies.recv().is_err());

    a.close().wait().unwrap();
    b.close().wait().unwrap();
}

#[test]
fn publishers_with_block_and_drop_congestion_control_both_deliver() {
    let (a, b) = pair();
    let subscriber = a.declare_subscriber("pit/facts/cc/*").wait().unwrap();
    for (key, congestion) in [
        ("pit/facts/cc/block", CongestionControl::Block),
        ("pit/facts/cc/drop", CongestionControl::Drop),
    ] {
        let publisher = b
            .declare_publisher(key)
            .congestion_control(congestion)
            .wait()
            .unwrap();
        assert_eq!(publisher.congestion_control(), congestion);
        wait_matched(&publisher);
        publisher.put(key).wait().unwrap();
        let sample = recv_sample(&subscriber, key);
        assert_eq!(sample.key_expr().as_str(), key);
        assert_eq!(sample.payload().try_to_string().unwrap(), key);
        // Zenoh carries the publisher's QoS with the sample.
        assert_eq!(sample.congestion_control(), congestion, "{key}");
    }
    a.close().wait().unwrap();
    b.close().wait().unwrap();
}

#[test]
fn thousand_puts_of_one_mib_arrive_in_order() {
    const COUNT: u64 = 1000;
    const SIZE: usize = 1 << 20;
    let (a, b) = pair();
    let subscriber = a.declare_subscriber("pit/facts/bulk").wait().unwrap();
    let publisher = b
        .declare_publisher("pit/facts/bulk")
        .congestion_control(CongestionControl::Block)
        .wait()
        .unwrap();
    wait_matched(&publisher);

    let start = Instant::now();
    let sending = std::thread::spawn(move || {
        let mut message = vec![0u8; SIZE];
        for seq in 0..COUNT {
            message[..8].copy_from_slice(&seq.to_le_bytes());
            message[SIZE - 8..].copy_from_slice(&seq.to_le_bytes());
            publisher.put(ZBytes::from(message.clone())).wait().unwrap();
        }
        publisher
    });
    for expected in 0..COUNT {
        let sample = recv_sample(&subscriber, &format!("message {expected}"));
        let payload = sample.payload().to_bytes();
        assert_eq!(payload.len(), SIZE, "message {expected}");
        let head = u64::from_le_bytes(payload[..8].try_into().unwrap());
        let tail = u64::from_le_bytes(payload[SIZE - 8..].try_into().unwrap());
        assert_eq!((head, tail), (expected, expected), "out of order or torn");
    }
    let elapsed = start.elapsed();
    let _publisher = sending.join().unwrap();
    let mib_per_s = COUNT as f64 / elapsed.as_secs_f64();
    println!(
        "{COUNT} puts of 1 MiB in {:.2} s: {mib_per_s:.0} MiB/s, {mib_per_s:.0} messages/s",
        elapsed.as_secs_f64()
    );
    assert!(subscriber.try_recv().unwrap().is_none(), "no extra message");

    a.close().wait().unwrap();
    b.close().wait().unwrap();
}
