//! Zenoh's TLS transport between two sessions on loopback, with a CA and a server certificate
//! made at test time (rcgen) and handed to Zenoh through configuration files, as a user of
//! `posix-ipc-bridge --zenoh-config FILE` would.
#![cfg(feature = "tls")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use posix_ipc_zenoh::session::{self, SessionConfig};
use posix_ipc_zenoh::Error;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use zenoh::Wait;

const WAIT: Duration = Duration::from_secs(10);

/// A TCP port on 127.0.0.1 that was free a moment ago: bound, read, closed.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A directory of its own under the temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "posix-ipc-zenoh-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write into the temporary directory");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA certificate (PEM) and a server certificate and key (PEM) that it signed, valid for
/// `127.0.0.1` and `localhost`.
struct Pki {
    ca: String,
    server_certificate: String,
    server_key: String,
}

fn make_pki(ca_name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server_params
        .distinguished_name
        .push(DnType::CommonName, "posix-ipc-bridge test server");
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    Pki {
        ca: ca.pem(),
        server_certificate: server.pem(),
        server_key: server_key.serialize_pem(),
    }
}

/// Zenoh configuration for the listening side: its certificate and key.
fn server_config(dir: &TempDir, pki: &Pki) -> PathBuf {
    let certificate = dir.write("server.pem", &pki.server_certificate);
    let key = dir.write("server-key.pem", &pki.server_key);
    dir.write(
        "server.json5",
        &format!(
            r#"{{ transport: {{ link: {{ tls: {{
                listen_certificate: {},
                listen_private_key: {},
            }} }} }} }}"#,
            json(&certificate),
            json(&key)
        ),
    )
}

/// Zenoh configuration for the connecting side: the CA to trust, and a first connection
/// attempt that must succeed (`zenoh::open` fails instead of retrying in the background).
fn client_config(dir: &TempDir, ca_pem: &str) -> PathBuf {
    let ca = dir.write("ca.pem", ca_pem);
    dir.write(
        "client.json5",
        &format!(
            r#"{{
                connect: {{ timeout_ms: 0, exit_on_failure: true }},
                transport: {{ link: {{ tls: {{ root_ca_certificate: {} }} }} }},
            }}"#,
            json(&ca)
        ),
    )
}

fn json(path: &Path) -> String {
    format!("{:?}", path.to_str().expect("a UTF-8 temporary path"))
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
