//! Issue 9, item 1, through a real pty: raw hosts that end lines with CR
//! alone or with CR LF in one write, publishing (`>`, fixed length and
//! Ctrl-Z) to a real mosquitto and uploading a file (`CONNECT`). What the
//! broker delivered to an independent subscriber, and the file's checksum,
//! show whether the host's LF became data.

use std::time::Duration;

use vmodem_testkit::{
    qfupl_checksum, within, HostStyle, Mosquitto, Observer, Prompt, PtyStream, RawHost, TestModule,
};

const LIMIT: Duration = Duration::from_secs(90);

/// A module on a pty, a host of `style` on it, connected as client 0 to
/// `broker`; echo stays on (the factory setting).
async fn connected(style: HostStyle, broker: &Mosquitto) -> (TestModule, RawHost<PtyStream>) {
    let module = TestModule::builder().without_client().start().await;
    let mut host = RawHost::open_pty(&module, style);
    host.wait_for_boot().await;
    host.command_ok(&format!("AT+QMTOPEN=0,\"127.0.0.1\",{}", broker.port()))
        .await;
    let open = host.wait_urc("+QMTOPEN: 0,").await;
    assert_eq!(open, "+QMTOPEN: 0,0", "{}", host.transcript());
    host.command_ok(&format!("AT+QMTCONN=0,\"line-{}\"", style.name().len()))
        .await;
    let conn = host.wait_urc("+QMTCONN: 0,").await;
    assert_eq!(conn, "+QMTCONN: 0,0,0", "{}", host.transcript());
    (module, host)
}

/// Publishes `payload` (`command` names the form) and checks the module's
/// answer, its result URC and what the observer received.
async fn publish<S>(
    host: &mut RawHost<S>,
    observer: &mut Observer,
    command: &str,
    urc: &str,
    payload: &[u8],
    delivered: &[u8],
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let reply = host.send_data(command, Prompt::Gt, payload).await;
    assert!(reply.is_ok(), "{}", host.transcript());
    // With echo on, the module echoes the payload (Ctrl-Z excluded).
    let echoed = String::from_utf8_lossy(delivered).into_owned();
    assert_eq!(reply.lines, [echoed], "{}", host.transcript());
    let result = host.wait_urc(urc).await;
    assert_eq!(result, format!("{urc}0"), "{}", host.transcript());
    let got = observer.expect_message().await;
    assert_eq!(
        got.payload.escape_ascii().to_string(),
        delivered.escape_ascii().to_string(),
        "what the broker delivered; the line:\n{}",
        host.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cr_lf_host_publishes_exactly_its_payload() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let mut observer = Observer::connect(broker.addr(), "line-observer-crlf").await;
        observer.subscribe("crlf/#", 1).await;
        let (module, mut host) = connected(HostStyle::CrLf, &broker).await;
        let o = &mut observer;
        // The issue's transcript: the broker used to receive "\nhell".
        publish(
            &mut host,
            o,
            "AT+QMTPUBEX=0,21,1,0,\"crlf/a\",5",
            "+QMTPUBEX: 0,21,",
            b"hello",
            b"hello",
        )
        .await;
        // Ctrl-Z form: used to be "\nzed".
        publish(
            &mut host,
            o,
            "AT+QMTPUB=0,22,1,0,\"crlf/b\"",
            "+QMTPUB: 0,22,",
            b"zed\x1a",
            b"zed",
        )
        .await;
        // Fixed-length AT+QMTPUB.
        publish(
            &mut host,
            o,
            "AT+QMTPUB=0,23,1,0,\"crlf/c\",3",
            "+QMTPUB: 0,23,",
            b"zed",
            b"zed",
        )
        .await;
        drop(host);
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cr_only_host_keeps_a_payload_that_starts_with_lf() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let mut observer = Observer::connect(broker.addr(), "line-observer-cr").await;
        observer.subscribe("cr/#", 1).await;
        let (module, mut host) = connected(HostStyle::CrOnly, &broker).await;
        let o = &mut observer;
        publish(
            &mut host,
            o,
            "AT+QMTPUBEX=0,31,1,0,\"cr/a\",5",
            "+QMTPUBEX: 0,31,",
            b"\nhell",
            b"\nhell",
        )
        .await;
        publish(
            &mut host,
            o,
            "AT+QMTPUB=0,32,1,0,\"cr/b\"",
            "+QMTPUB: 0,32,",
            b"\nzed\x1a",
            b"\nzed",
        )
        .await;
        drop(host);
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_from_both_hosts_keep_their_bytes_and_checksums() {
    within(LIMIT, async {
        for (style, data) in [
            // The issue's case: a CR LF host used to get `+QFUPL: 10,a38`.
            (HostStyle::CrLf, &b"0123456789"[..]),
            (HostStyle::CrOnly, &b"\n123456789"[..]),
        ] {
            let module = TestModule::builder().without_client().start().await;
            let mut host = RawHost::open_pty(&module, style);
            host.wait_for_boot().await;
            let reply = host
                .send_data("AT+QFUPL=\"UFS:up.bin\",10,5", Prompt::Connect, data)
                .await;
            let want = format!("+QFUPL: 10,{}", qfupl_checksum(data));
            assert!(reply.is_ok(), "{}", host.transcript());
            assert_eq!(reply.lines, [want], "{}", host.transcript());
            let list = host.command_ok("AT+QFLST=\"up.bin\"").await;
            assert_eq!(
                list.lines,
                ["+QFLST: \"UFS:up.bin\",10"],
                "{}",
                host.transcript()
            );
            drop(host);
            module.shutdown().await;
        }
    })
    .await;
}
