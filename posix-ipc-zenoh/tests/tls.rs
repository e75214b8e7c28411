//! Zenoh's TLS transport between two sessions on loopback, with a CA and a server certificate
//! made at test time (rcgen) and handed to Zenoh through configuration files, as a user of
//! `posix-ipc-bridge --zenoh-config FILE` would.
#![cfg(feature = "tls")]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use posix_ipc_zenoh::session::{self, SessionConfig};
use posix_ipc_zenoh::Error;
use zenoh::Wait;

mod pki;
use pki::{client_config, make_pki, server_config, TempDir};

const WAIT: Duration = Duration::from_secs(10);

/// A TCP port on 127.0.0.1 that was free a moment ago: bound, read, closed.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

#[test]
fn tls_sessions_with_the_root_ca_configured_deliver_a_put() {
    let dir = TempDir::new();
    let pki = make_pki("posix-ipc test CA");
    let endpoint = format!("tls/127.0.0.1:{}", free_port());
    let server = session::open(&SessionConfig {
        listen: vec![endpoint.clone()],
        config_file: Some(server_config(&dir, &pki)),
        ..Default::default()
    })
    .expect("open the TLS listener");
    let client = session::open(&SessionConfig {
        connect: vec![endpoint],
        config_file: Some(client_config(&dir, &pki.ca)),
        ..Default::default()
    })
    .expect("connect over TLS with the root CA configured");

    let subscriber = server.declare_subscriber("pit/tls/put").wait().unwrap();
    let publisher = client.declare_publisher("pit/tls/put").wait().unwrap();
    let matching = publisher.matching_listener().wait().unwrap();
    if !publisher.matching_status().wait().unwrap().matching() {
        let deadline = Instant::now() + WAIT;
        while !matching
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap()
            .expect("the subscriber matched within the timeout")
            .matching()
        {}
    }
    publisher.put("over TLS").wait().unwrap();
    let sample = subscriber
        .recv_timeout(WAIT)
        .unwrap()
        .expect("the sample within the timeout");
    assert_eq!(sample.payload().try_to_string().unwrap(), "over TLS");

    client.close().wait().unwrap();
    server.close().wait().unwrap();
}

#[test]
fn tls_connection_is_refused_when_the_server_certificate_is_from_another_ca() {
    let dir = TempDir::new();
    let pki = make_pki("posix-ipc test CA");
    let stranger = make_pki("some other CA");
    let endpoint = format!("tls/127.0.0.1:{}", free_port());
    let server = session::open(&SessionConfig {
        listen: vec![endpoint.clone()],
        config_file: Some(server_config(&dir, &pki)),
        ..Default::default()
    })
    .expect("open the TLS listener");
    let refused = session::open(&SessionConfig {
        connect: vec![endpoint],
        config_file: Some(client_config(&dir, &stranger.ca)),
        ..Default::default()
    });
    match refused {
        Err(error @ Error::Open { .. }) => {
            // Refused for the right reason: rustls does not know the issuer.
            let reason = std::error::Error::source(&error).unwrap().to_string();
            assert!(reason.contains("UnknownIssuer"), "{reason}");
        }
        Err(other) => panic!("expected Error::Open, got {other:?}"),
        Ok(_) => panic!("a session trusting another CA connected"),
    }
    server.close().wait().unwrap();
}
