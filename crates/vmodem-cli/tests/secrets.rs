//! Secrets and exposure as a user of `vmodem run` meets them (issue 12 §4):
//! a `--trace` file made while the host logs in with a password and sets an
//! Alibaba Cloud device secret, and the warning for listeners bound where
//! other machines reach them.

mod run_host;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use run_host::{records, Host, Vmodem, PATIENCE};

const PASSWORD: &str = "s3cret";
const ALI_SECRET: &str = "ali-s3cret-ds";

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vmodem-sec-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a module with `--trace FILE` (plus `extra`), over a trace file that
/// already existed with mode 0644; the host (echo on, the default) sets an
/// aliauth secret on client 1 and connects client 0 with user and password
/// to the built-in broker, which only that password lets in. Returns the
/// trace's text once vmodem has stopped.
fn traced_login(test: &str, extra: &[&str]) -> (String, PathBuf) {
    let dir = scratch(test);
    let trace = dir.join("trace.jsonl");
    std::fs::write(&trace, "an old trace\n").unwrap();
    std::fs::set_permissions(&trace, std::fs::Permissions::from_mode(0o644)).unwrap();
    let user = format!("user:{PASSWORD}");
    let mut args = vec!["--broker-user", &user, "--trace", trace.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut vmodem = Vmodem::run(&args);
    let mut host = Host::connect(&vmodem.serial_addr());
    host.wait_for("+QIND: PB DONE");
    host.send(format!("AT+QMTCFG=\"aliauth\",1,\"pk\",\"dn\",\"{ALI_SECRET}\"\r").as_bytes());
    host.wait_for("\r\nOK\r\n");
    // The broker refuses any other password (CONNACK 4), so +QMTCONN: 0,0,0
    // shows the module sent the real one: only the trace is masked.
    host.mqtt_connect(
        vmodem.broker_port(),
        &format!("\"c\",\"user\",\"{PASSWORD}\""),
    );
    let status = vmodem.terminate();
    assert!(status.success(), "{status}; {}", vmodem.stderr());
    let mode = std::fs::metadata(&trace).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the trace must be readable by its owner only");
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(!text.contains("an old trace"), "truncated: {text}");
    (text, dir)
}

#[test]
fn the_trace_is_0600_and_masks_the_password_and_the_aliauth_secret() {
    let (text, dir) = traced_login("masked", &[]);
    for secret in [PASSWORD, ALI_SECRET] {
        assert!(!text.contains(secret), "{secret} in the trace:\n{text}");
        assert!(
            !text.contains(&hex(secret)),
            "{secret} in hex in the trace:\n{text}"
        );
    }
    let recs = records(&dir.join("trace.jsonl"));
    let with = |needle: &str| -> Vec<&serde_json::Value> {
        recs.iter()
            .filter(|r| r["text"].as_str().is_some_and(|t| t.contains(needle)))
            .collect()
    };
    // Both ways: the host's line and the module's echo of it.
    let conn = with("AT+QMTCONN=0,");
    assert_eq!(conn.len(), 2, "{conn:#?}");
    for r in &conn {
        assert_eq!(r["redacted"], true, "{r}");
        let t = r["text"].as_str().unwrap();
        assert!(t.contains("AT+QMTCONN=0,\"c\",\"user\",\"***\"\r"), "{r}");
        assert_eq!(r["hex"], hex(t), "hex is the redacted bytes: {r}");
    }
    let ali = with("\"aliauth\"");
    assert_eq!(ali.len(), 2, "{ali:#?}");
    for r in &ali {
        assert_eq!(r["redacted"], true, "{r}");
        assert!(
            r["text"]
                .as_str()
                .unwrap()
                .contains("AT+QMTCFG=\"aliauth\",1,\"pk\",\"dn\",\"***\"\r"),
            "{r}"
        );
    }
    // Records without a secret carry no flag.
    let ok = with("+QMTCONN: 0,0,0");
    assert!(
        !ok.is_empty() && ok.iter().all(|r| r.get("redacted").is_none()),
        "{ok:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn trace_secrets_keeps_them_in_text_and_hex() {
    let (text, dir) = traced_login("kept", &["--trace-secrets"]);
    for secret in [PASSWORD, ALI_SECRET] {
        assert!(text.contains(secret), "{secret} not kept:\n{text}");
        assert!(
            text.contains(&hex(secret)),
            "{secret} not kept in hex:\n{text}"
        );
    }
    assert!(!text.contains("\"redacted\""), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits for `text` on stderr (the warning comes before anything listens).
fn stderr_with(vmodem: &Vmodem, text: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let err = vmodem.stderr();
        if err.contains(text) {
            return err;
        }
        assert!(Instant::now() < deadline, "no {text:?} on stderr: {err}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Binding the serial TCP port or the broker to every address prints what
/// is exposed and to whom; loopback prints nothing. (Bound for a moment
/// only: nothing connects, and the child is stopped at once.)
#[test]
fn a_listener_on_every_address_warns_what_it_exposes() {
    let mut vmodem = Vmodem::start(&[
        "run",
        "--tcp",
        "0.0.0.0:0",
        "--broker-listen",
        "127.0.0.1:0",
    ]);
    let err = stderr_with(
        &vmodem,
        "warning: --tcp 0.0.0.0:0 exposes the module's serial line (any AT command, \
         credentials typed by the host) to every host that can reach this machine; use \
         127.0.0.1 unless you mean it\n",
    );
    assert!(!err.contains("--broker-listen"), "{err}");
    vmodem.field("serial");
    assert!(vmodem.terminate().success());

    let mut vmodem = Vmodem::start(&[
        "run",
        "--tcp",
        "127.0.0.1:0",
        "--broker-listen",
        "0.0.0.0:0",
    ]);
    let err = stderr_with(
        &vmodem,
        "warning: --broker-listen 0.0.0.0:0 exposes the built-in MQTT broker (every topic, \
         publish and subscribe) to every host that can reach this machine; use 127.0.0.1 \
         unless you mean it\n",
    );
    assert!(!err.contains("--tcp"), "{err}");
    vmodem.field("serial");
    assert!(vmodem.terminate().success());

    let mut vmodem = Vmodem::run(&[]);
    vmodem.field("serial");
    let status = vmodem.terminate();
    assert!(status.success());
    assert!(!vmodem.stderr().contains("warning:"), "{}", vmodem.stderr());
}
