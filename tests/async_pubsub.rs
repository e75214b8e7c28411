//! Async (tokio) publish-subscribe (feature `tokio`): a subscriber task and a publisher task on
//! one single-threaded runtime, so a wait that blocked the worker thread would hang the test;
//! a dropped receive future loses no sample; the stream ends when the publisher has gone.
#![cfg(feature = "tokio")]

mod common;
#[path = "common/runtime.rs"]
mod runtime;

use std::time::Duration;

use common::{guarded, Kind};
use futures::StreamExt;
use posix_ipc::{
    AsyncFramePublisher, AsyncFrameSubscriber, AsyncPublisher, AsyncSubscriber, ErrorKind,
    FramePublisher, FrameSubscriber, IpcMessage, Publisher, Subscriber, TopicOptions,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
    check: u64,
}

fn tick(seq: u64) -> Tick {
    Tick {
        seq,
        check: seq.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    }
}

/// Runs `fut` on one current-thread runtime (where a wait that blocked the thread would block
/// every task), failing instead of hanging after 30 s.
fn on_one_thread(fut: impl std::future::Future<Output = ()> + Send + 'static) {
    runtime::run_async(0, Duration::from_secs(30), fut);
}

#[test]
fn a_blocked_publisher_and_its_subscriber_share_one_thread_without_deadlock() {
    let (name, _g) = guarded(Kind::Shm, "aps-block");
    let n = 2000u64;
    let mut publisher = AsyncPublisher::new(
        Publisher::<Tick>::create(&name, &TopicOptions::new().capacity(4)).unwrap(),
    );
    let mut sub = AsyncSubscriber::new(Subscriber::<Tick>::open(&name).unwrap());
    on_one_thread(async move {
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(s) = sub.next().await {
                got.push(s.unwrap().seq);
            }
            got
        });
        for seq in 0..n {
            if seq % 2 == 0 {
                let mut loan = publisher.loan().await.unwrap();
                *loan = tick(seq);
                loan.send();
            } else {
                publisher.send(&tick(seq)).await.unwrap();
            }
        }
        drop(publisher.into_inner().await.unwrap());
        let got = tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .expect("the stream ends once the publisher has gone")
            .unwrap();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    });
}

#[test]
fn a_dropped_receive_future_loses_no_sample() {
    let (name, _g) = guarded(Kind::Shm, "aps-drop");
    let mut publisher = Publisher::<Tick>::create(&name, &TopicOptions::new()).unwrap();
    let mut sub = AsyncSubscriber::new(Subscriber::<Tick>::open(&name).unwrap());
    on_one_thread(async move {
        // Nothing published: the receive times out (its wait was in flight) ...
        let e = sub
            .recv_timeout(Duration::from_millis(30))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
        publisher.send(&tick(1)).unwrap();
        // ... and the sample published after that is the next one received.
        assert_eq!(sub.recv().await.unwrap().seq, 1);
        let copy = {
            publisher.send(&tick(2)).unwrap();
            sub.recv_copy().await.unwrap()
        };
        assert_eq!(copy, tick(2));
    });
}

#[test]
fn async_frames_arrive_in_place_and_as_a_stream() {
    let (name, _g) = guarded(Kind::Shm, "aps-frames");
    let mut publisher = AsyncFramePublisher::new(
        FramePublisher::create(&name, 1 << 16, &TopicOptions::new().capacity(2)).unwrap(),
    );
    let mut sub = AsyncFrameSubscriber::new(FrameSubscriber::open(&name).unwrap());
    on_one_thread(async move {
        let reader = tokio::spawn(async move {
            let first = sub.recv().await.unwrap().to_vec();
            let rest: Vec<Vec<u8>> = sub.map(|f| f.unwrap()).collect().await;
            (first, rest)
        });
        let mut loan = publisher.loan(3).await.unwrap();
        loan.copy_from_slice(b"abc");
        loan.send();
        for len in [1usize, 1000, 1 << 16] {
            publisher.send(&vec![len as u8; len]).await.unwrap();
        }
        drop(publisher.into_inner().await.unwrap());
        let (first, rest) = reader.await.unwrap();
        assert_eq!(first, b"abc");
        assert_eq!(rest.len(), 3);
        for (f, len) in rest.iter().zip([1usize, 1000, 1 << 16]) {
            assert_eq!(f, &vec![len as u8; len]);
        }
    });
}

#[test]
fn async_frames_with_a_typed_header_arrive_in_place_and_as_a_stream() {
    let (name, _g) = guarded(Kind::Shm, "aps-headed");
    let opts = TopicOptions::new().capacity(2);
    let mut publisher = AsyncFramePublisher::new(
        FramePublisher::<Tick>::create_with_header(&name, 4096, &opts).unwrap(),
    );
    let mut sub =
        AsyncFrameSubscriber::new(FrameSubscriber::<Tick>::open_with_header(&name).unwrap());
    on_one_thread(async move {
        let reader = tokio::spawn(async move {
            let first = {
                let f = sub.recv().await.unwrap();
                (*f.header(), f.to_vec())
            };
            let rest: Vec<(Tick, Vec<u8>)> = sub.map(|f| f.unwrap()).collect().await;
            (first, rest)
        });
        // Block policy with capacity 2: the publisher waits for the reader task on this one
        // thread, so a wait that blocked it would hang here.
        let mut loan = publisher.loan(3).await.unwrap();
        *loan.header_mut() = tick(0);
        loan.copy_from_slice(b"abc");
        loan.send();
        for seq in 1..20u64 {
            let bytes = vec![seq as u8; seq as usize * 200];
            publisher
                .send_with_header(&tick(seq), &bytes)
                .await
                .unwrap();
        }
        drop(publisher.into_inner().await.unwrap());
        let (first, rest) = reader.await.unwrap();
        assert_eq!(first, (tick(0), b"abc".to_vec()));
        assert_eq!(rest.len(), 19);
        for (seq, (header, bytes)) in (1..20u64).zip(rest) {
            assert_eq!(header, tick(seq));
            assert_eq!(bytes, vec![seq as u8; seq as usize * 200]);
        }
    });
}

/// A stream of a subscriber that follows restarts does not end when its publisher goes: the
/// restart is an item (`Restarted`, with the new generation), then the new publisher's samples.
#[test]
fn a_following_async_stream_goes_on_after_a_restart() {
    let (name, _cleanup) = guarded(Kind::Shm, "async-follow");
    let first = Publisher::<Tick>::create_or_take_over(&name, &TopicOptions::new())
        .unwrap()
        .into_inner();
    let sub = Subscriber::<Tick>::open_with(
        &name,
        &posix_ipc::SubscribeOptions::new().follow_restarts(true),
    )
    .unwrap();
    let topic = name.clone();
    on_one_thread(async move {
        let mut first = AsyncPublisher::new(first);
        first.send(&tick(1)).await.unwrap();
        drop(first);
        let mut stream = AsyncSubscriber::new(sub);
        assert_eq!(stream.next().await.unwrap().unwrap(), tick(1));
        let second = Publisher::<Tick>::create_or_take_over(&topic, &TopicOptions::new()).unwrap();
        let mut second = AsyncPublisher::new(second.into_inner());
        second.send(&tick(2)).await.unwrap();
        let restart = stream.next().await.unwrap().unwrap_err();
        assert_eq!(restart.kind(), ErrorKind::Restarted, "{restart}");
        assert_eq!(restart.generation(), Some(2));
        assert_eq!(stream.next().await.unwrap().unwrap(), tick(2));
    });
}
