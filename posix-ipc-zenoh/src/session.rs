//! Opening the Zenoh session the bridge runs on: peer mode, no scouting unless asked, the
//! endpoints given on the command line.
//!
//! # Examples
//!
//! Two sessions on loopback, one listening and one connecting to it:
//!
//! ```
//! use posix_ipc_zenoh::session::{self, SessionConfig};
//!
//! # fn main() -> Result<(), posix_ipc_zenoh::Error> {
//! // A port that was free a moment ago (a test would retry on a clash).
//! let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
//! let endpoint = format!("tcp/127.0.0.1:{port}");
//! let a = session::open(&SessionConfig { listen: vec![endpoint.clone()], ..Default::default() })?;
//! let b = session::open(&SessionConfig { connect: vec![endpoint], ..Default::default() })?;
//! assert_ne!(a.zid(), b.zid());
//! # Ok(())
//! # }
//! ```

use std::path::PathBuf;

use zenoh::{Config, Session, Wait};

use crate::Error;

/// How to open the bridge's Zenoh session: the `--listen`, `--connect`, `--zenoh-config` and
/// scouting options of `posix-ipc-bridge`.
///
/// The default listens nowhere, connects nowhere and does not scout: a session that only
/// reaches what it is told to. Endpoints are Zenoh locators such as `tcp/127.0.0.1:7447`,
/// `tcp/[::1]:7447` or, with this crate's `tls` feature, `tls/localhost:7447`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionConfig {
    /// Endpoints to listen on (`listen/endpoints`). Empty: no port is opened, unless the
    /// configuration file lists some.
    pub listen: Vec<String>,
    /// Endpoints to connect to (`connect/endpoints`). One that nobody listens on yet is
    /// retried in the background: [`open`] does not wait for it.
    pub connect: Vec<String>,
    /// A Zenoh configuration file (JSON5 or YAML, read by Zenoh's own loader), for anything
    /// the other fields do not cover: TLS certificates, timeouts, access control.
    pub config_file: Option<PathBuf>,
    /// Find peers by UDP multicast and gossip (Zenoh's default, off here unless asked).
    pub multicast_scouting: bool,
}

/// Builds the Zenoh configuration that [`open`] uses.
///
/// Starts from the configuration file if there is one (Zenoh's `Config::from_file`), else
/// from Zenoh's defaults, then applies, in this order:
///
/// - `mode`: `"peer"` unless the file sets a mode;
/// - `scouting/multicast/enabled` and `scouting/gossip/enabled`: `true` if
///   [`SessionConfig::multicast_scouting`] asks for it, otherwise `false` unless the file
///   sets them (a file that enables scouting has asked for it);
/// - `listen/endpoints`: [`SessionConfig::listen`] if not empty, replacing the file's;
///   if neither sets any, none (Zenoh's own default, `tcp/[::]:0` for a peer, would open a
///   port on every interface);
/// - `connect/endpoints`: [`SessionConfig::connect`] if not empty, replacing the file's.
///
/// # Errors
///
/// | error | when |
/// |---|---|
/// | [`Error::ConfigFile`] | the file is missing, unreadable, not JSON5/YAML, or has an invalid key |
/// | [`Error::Setting`] | an endpoint does not parse as a Zenoh locator |
pub fn config(options: &SessionConfig) -> Result<Config, Error> {
    let mut config = match &options.config_file {
        Some(path) => Config::from_file(path).map_err(|source| Error::ConfigFile {
            path: path.clone(),
            source,
        })?,
        None => Config::default(),
    };
    if is_unset(&config, "mode") {
        set(&mut config, "mode", "\"peer\"".to_owned())?;
    }
    for key in ["scouting/multicast/enabled", "scouting/gossip/enabled"] {
        if options.multicast_scouting {
            set(&mut config, key, "true".to_owned())?;
        } else if is_unset(&config, key) {
            set(&mut config, key, "false".to_owned())?;
        }
    }
    if !options.listen.is_empty() {
        set(
            &mut config,
            "listen/endpoints",
            json_strings(&options.listen),
        )?;
    } else if config.get_json("listen/endpoints").ok()
        == Config::default().get_json("listen/endpoints").ok()
    {
        set(&mut config, "listen/endpoints", "[]".to_owned())?;
    }
    if !options.connect.is_empty() {
        set(
            &mut config,
            "connect/endpoints",
            json_strings(&options.connect),
        )?;
    }
    Ok(config)
}

/// Opens a Zenoh session configured by [`config`] (`zenoh::open(config).wait()`).
///
/// Returns once the session listens on its endpoints; connections to the
/// [`connect`](SessionConfig::connect) endpoints are made, and remade after a loss, in the
/// background. Closing is `session.close().wait()`, or dropping the session.
///
/// # Errors
///
/// Those of [`config`], and [`Error::Open`] when Zenoh cannot start the session: a listen
/// endpoint whose port is taken, or whose transport (such as `tls`) is not built in.
pub fn open(options: &SessionConfig) -> Result<Session, Error> {
    let config = config(options)?;
    zenoh::open(config)
        .wait()
        .map_err(|source| Error::Open { source })
}

/// `true` if `key` has no value in `config` (Zenoh shows an unset option as JSON `null`).
fn is_unset(config: &Config, key: &str) -> bool {
    config.get_json(key).is_ok_and(|value| value == "null")
}

fn set(config: &mut Config, key: &'static str, value: String) -> Result<(), Error> {
    config
        .insert_json5(key, &value)
        .map_err(|source| Error::Setting { key, value, source })
}

/// A JSON array of strings, escaped (an endpoint may hold `"` or `\` only by mistake, and
/// then Zenoh should see the string the user typed, not a broken array).
fn json_strings(items: &[String]) -> String {
    serde_json::to_string(items).expect("a slice of strings always serialises to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(config: &Config, key: &str) -> String {
        config
            .get_json(key)
            .expect("a key of Zenoh's configuration")
    }

    /// A file under the temporary directory, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, text: &str) -> TempFile {
            let path =
                std::env::temp_dir().join(format!("posix-ipc-zenoh-{}-{name}", std::process::id()));
            std::fs::write(&path, text).expect("write a file in the temporary directory");
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn default_is_a_peer_that_neither_scouts_nor_listens() {
        let config = config(&SessionConfig::default()).unwrap();
        assert_eq!(json(&config, "mode"), "\"peer\"");
        assert_eq!(json(&config, "scouting/multicast/enabled"), "false");
        assert_eq!(json(&config, "scouting/gossip/enabled"), "false");
        assert_eq!(json(&config, "listen/endpoints"), "[]");
        assert_eq!(json(&config, "connect/endpoints"), "[]");
    }

    #[test]
    fn endpoints_are_set_as_given() {
        let config = config(&SessionConfig {
            listen: vec!["tcp/127.0.0.1:7447".into(), "tcp/[::1]:7447".into()],
            connect: vec!["tcp/127.0.0.1:7448".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            json(&config, "listen/endpoints"),
            r#"["tcp/127.0.0.1:7447","tcp/[::1]:7447"]"#
        );
        assert_eq!(
            json(&config, "connect/endpoints"),
            r#"["tcp/127.0.0.1:7448"]"#
        );
    }

    #[test]
    fn multicast_scouting_turns_on_multicast_and_gossip() {
        let config = config(&SessionConfig {
            multicast_scouting: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(json(&config, "scouting/multicast/enabled"), "true");
        assert_eq!(json(&config, "scouting/gossip/enabled"), "true");
    }

    #[test]
    fn endpoint_that_does_not_parse_is_refused_naming_the_key() {
        let error = config(&SessionConfig {
            connect: vec!["127.0.0.1:7447".into()],
            ..Default::default()
        })
        .unwrap_err();
        match &error {
            Error::Setting { key, value, .. } => {
                assert_eq!(*key, "connect/endpoints");
                assert_eq!(value, r#"["127.0.0.1:7447"]"#);
            }
            other => panic!("expected Error::Setting, got {other:?}"),
        }
        assert!(error.to_string().contains("connect/endpoints"), "{error}");
    }

    #[test]
    fn missing_config_file_is_refused_naming_the_file() {
        let path = std::env::temp_dir().join("posix-ipc-zenoh-no-such-file.json5");
        let error = config(&SessionConfig {
            config_file: Some(path.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            matches!(&error, Error::ConfigFile { path: p, .. } if *p == path),
            "{error:?}"
        );
        assert!(
            error.to_string().contains(&*path.to_string_lossy()),
            "{error}"
        );
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn config_file_settings_stay_unless_a_flag_replaces_them() {
        let file = TempFile::new(
            "client.json5",
            r#"{
                mode: "client",
                scouting: { multicast: { enabled: true } },
                listen: { endpoints: ["tcp/127.0.0.1:7450"] },
                connect: { endpoints: ["tcp/127.0.0.1:7451"] },
            }"#,
        );
        let config = config(&SessionConfig {
            connect: vec!["tcp/127.0.0.1:7452".into()],
            config_file: Some(file.0.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(json(&config, "mode"), "\"client\"");
        assert_eq!(json(&config, "scouting/multicast/enabled"), "true");
        assert_eq!(json(&config, "scouting/gossip/enabled"), "false");
        assert_eq!(
            json(&config, "listen/endpoints"),
            r#"["tcp/127.0.0.1:7450"]"#
        );
        assert_eq!(
            json(&config, "connect/endpoints"),
            r#"["tcp/127.0.0.1:7452"]"#
        );
    }

    #[test]
    fn config_file_that_sets_nothing_gets_our_defaults() {
        let file = TempFile::new("empty.json5", "{}");
        let config = config(&SessionConfig {
            config_file: Some(file.0.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(json(&config, "mode"), "\"peer\"");
        assert_eq!(json(&config, "scouting/multicast/enabled"), "false");
        assert_eq!(json(&config, "scouting/gossip/enabled"), "false");
        assert_eq!(json(&config, "listen/endpoints"), "[]");
    }
}
