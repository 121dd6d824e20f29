//! `vmodem conformance` and `vmodem at` as CI and users run them: the built `vmodem run` on a
//! linked pseudo-terminal with its broker on a free port, and the host-side commands against
//! it, each a separate process.

mod child;
#[path = "../../vmodem-tokio/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use child::{output_within, vmodem_command, Vmodem};
use support::ScratchDir;

/// Cases that fail against vmodem because of a known module bug (see conformance/README.md,
/// "Known module bugs"): the case is right, the core is not, yet.
const KNOWN_MODULE_BUGS: &[&str] = &[];

/// How long a whole conformance run may take on a slow CI machine.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// `vmodem run` on a linked pty with its broker on a free port; killed when dropped.
struct Module {
    _vmodem: Vmodem,
    link: String,
    broker: String,
    _dir: ScratchDir,
}

impl Module {
    fn start(test: &str) -> Module {
        Module::start_as(test, "ec25")
    }

    fn start_as(test: &str, model: &str) -> Module {
        let dir = ScratchDir::new(test);
        let link = dir.join("ttyEC25").to_str().unwrap().to_owned();
        let vmodem = Vmodem::start(&[
            "run",
            "--link",
            &link,
            "--broker-listen",
            "127.0.0.1:0",
            "--model",
            model,
            "--log-level",
            "warn",
        ]);
        // The broker's real port is in the start-up message.
        let broker = vmodem.broker_addr();
        Module {
            _vmodem: vmodem,
            link,
            broker,
            _dir: dir,
        }
    }
}

/// Runs `vmodem ARGS` to its end (killed after `limit`), returning its output.
fn vmodem(args: &[&str], limit: Duration) -> Output {
    output_within(vmodem_command().args(args), limit)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `(passed, failed, not applicable)` from the summary line.
fn summary(out: &str) -> (usize, usize, usize) {
    let line = out
        .lines()
        .find(|l| l.contains(" passed, ") && l.contains(" not applicable"))
        .unwrap_or_else(|| panic!("no summary line in:\n{out}"));
    let n: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1], n[2])
}

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../conformance/cases")
        .join(format!("{name}.case"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_whole_suite_passes_against_vmodem_run() {
    let module = Module::start("conformance-suite");
    let mut args = vec![
        "conformance",
        "--port",
        &module.link,
        "--broker",
        &module.broker,
    ];
    for bug in KNOWN_MODULE_BUGS {
        args.extend(["--skip", bug]);
    }
    let out = vmodem(&args, RUN_LIMIT);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        text(&out.stderr)
    );
    let (passed, failed, not_applicable) = summary(&stdout);
    assert_eq!(failed, 0, "{stdout}");
    // Not applicable: the known bugs, and the six BG9x-only cases on this EC25.
    assert_eq!(not_applicable, KNOWN_MODULE_BUGS.len() + 6, "{stdout}");
    assert!(passed >= 80, "{stdout}");
    assert!(
        stdout.contains("pass  mqtt-chapter5-first-session"),
        "{stdout}"
    );
    assert!(stdout.contains("module: Quectel EC25"), "{stdout}");
}

/// The BG96 and BG95 dialects against the cases written for them (and every
/// case not written for EC2x only).
#[test]
fn the_suite_passes_against_the_bg96_and_bg95_profiles() {
    for (model, name) in [("bg96", "BG96"), ("bg95", "BG95-M3")] {
        let module = Module::start_as(&format!("conformance-{model}"), model);
        let out = vmodem(
            &[
                "conformance",
                "--port",
                &module.link,
                "--broker",
                &module.broker,
            ],
            RUN_LIMIT,
        );
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{model}: {stdout}");
        let (passed, failed, _) = summary(&stdout);
        assert_eq!(failed, 0, "{stdout}");
        assert!(passed >= 70, "{stdout}");
        assert!(
            stdout.contains(&format!("module: Quectel {name}")),
            "{stdout}"
        );
        for case in [
            "bg9x-cops-act",
            "qmtpubex-bg96-inline",
            "bg9x-qmtpubex-test",
        ] {
            assert!(
                stdout.contains(&format!("pass  {case}")),
                "{model} {case}: {stdout}"
            );
        }
    }
}

#[test]
fn a_broken_golden_file_fails_with_its_name_and_the_bytes() {
    let module = Module::start("conformance-broken");
    let dir = ScratchDir::new("conformance-broken-cases");
    // One expected answer made wrong: the module says 3 (operation not allowed).
    let broken = golden("basic-cmee-1").replace("+CME ERROR: 3\\r\\n", "+CME ERROR: 30\\r\\n");
    let copy = dir.join("basic-cmee-1.case");
    std::fs::write(&copy, broken).unwrap();
    let out = vmodem(
        &[
            "conformance",
            "--port",
            &module.link,
            "--cases",
            copy.to_str().unwrap(),
        ],
        RUN_LIMIT,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(summary(&stdout), (0, 1, 0));
    assert!(stdout.contains("FAIL  basic-cmee-1"), "{stdout}");
    // Where: the file and line of the step, and the command.
    assert!(
        stdout.contains("basic-cmee-1.case:13: after `> AT+CPIN=\"0000\"`"),
        "{stdout}"
    );
    // What: the first differing byte, and the lines with CR and LF visible.
    assert!(
        stdout.contains("the answer differs at byte 30: expected `0\\r\\n`, got `\\r\\n`"),
        "{stdout}"
    );
    assert!(stdout.contains("- \\r\\n+CME ERROR: 30\\r\\n"), "{stdout}");
    assert!(stdout.contains("+ \\r\\n+CME ERROR: 3\\r\\n"), "{stdout}");
    assert!(stdout.contains("  AT+CPIN=\"0000\"\\r"), "{stdout}");

    // --record writes what the module said instead, keeping the rest of the file.
    let record = dir.join("recorded");
    let out = vmodem(
        &[
            "conformance",
            "--port",
            &module.link,
            "--cases",
            copy.to_str().unwrap(),
            "--record",
            record.to_str().unwrap(),
        ],
        RUN_LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let recorded = std::fs::read_to_string(record.join("basic-cmee-1.case")).unwrap();
    assert_eq!(
        recorded,
        golden("basic-cmee-1"),
        "the record is the golden file again"
    );
}

#[test]
fn vmodem_at_prints_answers_and_checks_them() {
    let module = Module::start("at");
    let port = module.link.as_str();
    let out = vmodem(
        &[
            "at",
            "--port",
            port,
            "AT+CPIN?",
            "ATI",
            "--expect",
            "+CPIN: READY",
        ],
        Duration::from_secs(30),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    // The module powers up as the device is opened: its boot URCs come first, in order.
    assert!(
        stdout.contains("> AT+CPIN?\nurc: RDY\nurc: +CFUN: 1\nurc: +CPIN: READY\nurc: +QUSIM: 1\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("urc: +QIND: PB DONE\n  +CPIN: READY\n  OK\n> ATI\n  Quectel\n  EC25\n"),
        "{stdout}"
    );

    // An MQTT session: payload after the prompt, URC waits, URCs marked and in order.
    let open = format!(
        "AT+QMTOPEN=2,\"127.0.0.1\",{}",
        module.broker.rsplit(':').next().unwrap()
    );
    let out = vmodem(
        &[
            "at",
            "--port",
            port,
            &open,
            "<< +QMTOPEN: 2,0",
            "AT+QMTCONN=2,\"vmodem-at\"",
            "<< +QMTCONN: 2,0,0",
            "AT+QMTSUB=2,1,\"at/#\",0",
            "<< +QMTSUB: 2,1,0,0",
            "AT+QMTPUBEX=2,0,0,0,\"at/x\",4",
            "--payload",
            "a\\r\\nb",
            "<< +QMTRECV: 2",
            "AT+QMTCLOSE=2",
            "--expect-urc",
            "+QMTCLOSE: 2,0",
        ],
        Duration::from_secs(60),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("  OK\nurc: +QMTOPEN: 2,0\n"), "{stdout}");
    assert!(
        stdout.contains(">> a\\r\\nb\n  OK\nurc: +QMTPUBEX: 2,0,0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("urc: +QMTRECV: 2,0,\"at/x\",4,\"a\\r\\nb\""),
        "{stdout}"
    );

    // A refused command fails the run unless an --expect names its result.
    let out = vmodem(
        &["at", "--port", port, "AT+QMTCLOSE=5"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--expect \"ERROR\""),
        "{}",
        text(&out.stderr)
    );
    let out = vmodem(
        &["at", "--port", port, "AT+QMTCLOSE=5", "--expect", "ERROR"],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The IMEI alone, for a shell variable.
    let out = vmodem(
        &["at", "-q", "--port", port, "AT+CGSN"],
        Duration::from_secs(30),
    );
    let imei = text(&out.stdout);
    assert!(
        imei.trim().len() == 15 && imei.trim().bytes().all(|b| b.is_ascii_digit()),
        "{imei:?}"
    );
    // No module there: exit status 3, and the message says what to pass.
    let out = vmodem(
        &["at", "--port", "/nonexistent/ttyUSB2", "AT"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("/dev/ttyUSB2"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_help_teaches_with_examples() {
    for (command, wanted) in [
        (
            "at",
            "vmodem at --port /tmp/ttyEC25 'AT+CPIN?' --expect '+CPIN: READY'",
        ),
        (
            "conformance",
            "--broker test.mosquitto.org:1883 --record out/",
        ),
    ] {
        let out = vmodem(&[command, "--help"], Duration::from_secs(10));
        let help = text(&out.stdout);
        assert!(out.status.success(), "{help}");
        assert!(help.contains(wanted), "{command} --help:\n{help}");
        assert!(
            help.contains("Exit status") || help.contains("exit status"),
            "{help}"
        );
    }
}
