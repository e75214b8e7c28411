//! Certificates made at test time (rcgen) and the Zenoh configuration files that use them,
//! for the TLS tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A directory of its own under the temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "posix-ipc-zenoh-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
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
pub struct Pki {
    pub ca: String,
    pub server_certificate: String,
    pub server_key: String,
}

pub fn make_pki(ca_name: &str) -> Pki {
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
pub fn server_config(dir: &TempDir, pki: &Pki) -> PathBuf {
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
pub fn client_config(dir: &TempDir, ca_pem: &str) -> PathBuf {
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
