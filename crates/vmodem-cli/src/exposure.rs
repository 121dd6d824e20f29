//! Warnings for listeners bound where other machines can reach them.
//!
//! vmodem's listeners have no access control of their own that a test rig
//! would rely on: the serial TCP port takes any AT command (and carries what
//! the host types, broker credentials included), the built-in broker takes any
//! client unless `--broker-user` is given. Binding one to a non-loopback
//! address is sometimes meant (a rig on another machine), so it is allowed,
//! but never silently. One place for every listener, `--control` included.

use std::net::SocketAddr;

/// The warning for `what` (the flag, e.g. `--tcp`) bound at `addr`, described
/// by `exposes` (what a peer gets), or `None` when `addr` is loopback.
pub(crate) fn exposure_warning(what: &str, exposes: &str, addr: SocketAddr) -> Option<String> {
    if addr.ip().is_loopback() {
        return None;
    }
    let whom = if addr.ip().is_unspecified() {
        "every host that can reach this machine"
    } else {
        "every host that can reach that address"
    };
    Some(format!(
        "warning: {what} {addr} exposes {exposes} to {whom}; use 127.0.0.1 unless you mean it"
    ))
}

/// Prints [`exposure_warning`] on stderr when there is one. `what` is the
/// flag; what it exposes is known for vmodem's listeners, and described
/// generically for others.
pub(crate) fn warn_if_exposed(what: &str, addr: SocketAddr) {
    let exposes = match what {
        "--tcp" => "the module's serial line (any AT command, credentials typed by the host)",
        "--broker-listen" | "--broker-tls-listen" => {
            "the built-in MQTT broker (every topic, publish and subscribe)"
        }
        "--control" => "the control API (faults, status and power of every module)",
        _ => "this listener",
    };
    if let Some(warning) = exposure_warning(what, exposes, addr) {
        eprintln!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_quiet_and_others_say_what_and_to_whom() {
        for quiet in ["127.0.0.1:5000", "[::1]:5000", "127.0.0.2:1"] {
            assert_eq!(exposure_warning("--tcp", "x", quiet.parse().unwrap()), None);
        }
        assert_eq!(
            exposure_warning("--tcp", "the serial line", "0.0.0.0:5000".parse().unwrap()).unwrap(),
            "warning: --tcp 0.0.0.0:5000 exposes the serial line to every host that can reach \
             this machine; use 127.0.0.1 unless you mean it"
        );
        assert!(
            exposure_warning("--control", "x", "192.168.1.2:80".parse().unwrap())
                .unwrap()
                .contains("that address")
        );
        assert!(exposure_warning("--tcp", "x", "[::]:1".parse().unwrap()).is_some());
    }
}
