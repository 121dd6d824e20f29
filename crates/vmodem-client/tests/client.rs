//! The tokio layer against a scripted fake module on `tokio::io::duplex`: it proves the wiring
//! (commands out, responses in, prompts, timeouts, URC routing); the digester's own tests prove
//! the parsing. The clock is paused, so timeouts are instant and exact.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use vmodem_client::{
    Client, ClientBuilder, CloseResult, CmeError, Command, ConnReturnCode, Error, FinalResult,
    Identity, Message, OpenResult, PacketResult, PubForm, RecvMode, SimState, StatCode, Urc,
    UrcError,
};

/// One step of the fake module's script.
enum Step {
    /// Read exactly these bytes from the client, or fail the test.
    Expect(&'static [u8]),
    /// Write these bytes to the client.
    Send(&'static [u8]),
    /// Sleep (virtual time).
    Sleep(u64),
}
use Step::{Expect, Send, Sleep};

/// Starts a client on one end of a duplex pipe and runs `script` on the other. The handle
/// yields the module's end when the script is done (so the link stays open).
fn pair(builder: ClientBuilder, script: Vec<Step>) -> (Client, JoinHandle<DuplexStream>) {
    let (host, mut module) = tokio::io::duplex(4096);
    let client = builder.build(host);
    let peer = tokio::spawn(async move {
        for step in script {
            match step {
                Expect(want) => {
                    let mut got = vec![0; want.len()];
                    module.read_exact(&mut got).await.expect("client closed");
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(want),
                        "the client sent something else"
                    );
                }
                Send(bytes) => module.write_all(bytes).await.expect("client closed"),
                Sleep(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            }
        }
        module
    });
    (client, peer)
}

fn client(script: Vec<Step>) -> (Client, JoinHandle<DuplexStream>) {
    pair(Client::builder(), script)
}

/// Asserts that nothing more was sent to the module (the script consumed everything).
async fn finish(peer: JoinHandle<DuplexStream>) {
    let mut module = peer.await.expect("fake module failed");
    let mut rest = [0u8; 64];
    let pending = tokio::time::timeout(Duration::from_millis(10), module.read(&mut rest)).await;
    if let Ok(Ok(n)) = pending {
        panic!(
            "unexpected bytes from the client: {:?}",
            String::from_utf8_lossy(&rest[..n])
        );
    }
}

#[tokio::test(start_paused = true)]
async fn typed_basics_with_echo_on() {
    let (c, peer) = client(vec![
        Expect(b"AT\r"),
        Send(b"AT\r\r\nOK\r\n"),
        Expect(b"ATI\r"),
        Send(b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n"),
        Expect(b"AT+CPIN?\r"),
        Send(b"AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n"),
        Expect(b"AT+CSQ\r"),
        Send(b"AT+CSQ\r\r\n+CSQ: 23,99\r\n\r\nOK\r\n"),
    ]);
    c.at().await.unwrap();
    assert_eq!(
        c.ati().await.unwrap(),
        Identity {
            manufacturer: "Quectel".into(),
            model: "EC25".into(),
            revision: "EC25EFAR06A06M4G".into(),
        }
    );
    assert_eq!(c.cpin().await.unwrap(), SimState::Ready);
    assert_eq!(c.csq().await.unwrap().rssi, 23);
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn echo_off_and_numeric_results() {
    let (c, peer) = client(vec![
        Expect(b"ATE0\r"),
        Send(b"ATE0\r\r\nOK\r\n"),
        Expect(b"ATV0\r"),
        Send(b"0\r"),
        Expect(b"AT+CEREG?\r"),
        Send(b"+CEREG: 0,1\r\n0\r"),
        Expect(b"AT+QMTCFG=\"keepalive\",0,60\r"),
        Send(b"4\r"),
    ]);
    c.ate(false).await.unwrap();
    c.atv(false).await.unwrap();
    let reg = c.cereg().await.unwrap();
    assert_eq!(reg.mode, 0);
    assert!(reg.registration.stat.is_registered());
    assert_eq!(
        c.qmt_cfg_keepalive(0, 60).await,
        Err(Error::Rejected {
            command: "AT+QMTCFG=\"keepalive\",0,60".into(),
            result: FinalResult::Error,
        })
    );
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn cme_errors_are_rejections() {
    let (c, peer) = client(vec![
        Expect(b"AT+CPIN?\r"),
        Send(b"\r\n+CME ERROR: 10\r\n"),
        Expect(b"AT+CPIN?\r"),
        Send(b"\r\n+CME ERROR: SIM not inserted\r\n"),
    ]);
    let err = c.cpin().await.unwrap_err();
    assert_eq!(
        err,
        Error::Rejected {
            command: "AT+CPIN?".into(),
            result: FinalResult::CmeError(CmeError::Code(10)),
        }
    );
    assert!(err.to_string().contains("SIM not inserted"), "{err}");
    let resp = c.command("AT+CPIN?").await.unwrap();
    assert_eq!(
        resp.result,
        FinalResult::CmeError(CmeError::Text("SIM not inserted".into()))
    );
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn timeout_then_the_late_answer_is_discarded() {
    let (c, peer) = client(vec![
        Expect(b"AT+CSQ\r"),
        Send(b"AT+CSQ\r"),
        Sleep(1),
        Send(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
        Expect(b"AT\r"),
        Send(b"AT\r\r\nOK\r\n"),
    ]);
    let mut urcs = c.subscribe_urcs();
    let started = tokio::time::Instant::now();
    assert_eq!(
        c.csq().await,
        Err(Error::Timeout {
            command: "AT+CSQ".into(),
            timeout: Duration::from_millis(300),
        })
    );
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    // The late answer arrives while AT is pending, before its echo: it is not AT's.
    c.with_timeout(Duration::from_secs(5)).at().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert!(urcs.try_recv().is_none(), "the late answer is not a URC");
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn timeouts_scale_and_can_be_fixed() {
    let (c, peer) = pair(
        Client::builder()
            .timeout_scale(4.0)
            .min_timeout(Duration::from_secs(2)),
        vec![
            Expect(b"AT\r"),
            Expect(b"AT+CPIN?\r"),
            Expect(b"AT+CSQ\r"),
            Expect(b"AT+CSQ\r"),
        ],
    );
    let timeout_of = |r: Result<_, Error>| match r {
        Err(Error::Timeout { timeout, .. }) => timeout,
        other => panic!("{other:?}"),
    };
    // 300 ms × 4 is under the 2 s floor; 5 s × 4 is not.
    assert_eq!(timeout_of(c.at().await), Duration::from_secs(2));
    assert_eq!(
        timeout_of(c.cpin().await.map(drop)),
        Duration::from_secs(20)
    );
    let fixed = c.with_timeout(Duration::from_millis(50));
    assert_eq!(
        timeout_of(fixed.csq().await.map(drop)),
        Duration::from_millis(50)
    );
    let explicit = Command::new("AT+CSQ").with_timeout(Duration::from_millis(70));
    assert_eq!(
        timeout_of(c.command(explicit).await.map(drop)),
        Duration::from_millis(70)
    );
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn qmt_open_result_is_returned_and_streamed_in_order() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTOPEN=0,\"broker\",1883\r"),
        Send(b"\r\n+QMTSTAT: 1,1\r\n"),
        Send(b"AT+QMTOPEN=0,\"broker\",1883\r\r\nOK\r\n"),
        Sleep(3),
        Send(b"\r\n+QMTOPEN: 1,0\r\n\r\n+QMTOPEN: 0,3\r\n"),
    ]);
    let result = c.qmt_open(0, "broker", 1883).await.unwrap();
    assert_eq!(result, OpenResult::PdpActivationFailed);
    assert_eq!(
        c.next_urc().await.unwrap(),
        Urc::QmtStat {
            client: 1,
            code: StatCode::ClosedByPeer
        }
    );
    assert_eq!(
        c.next_urc().await.unwrap(),
        Urc::QmtOpen {
            client: 1,
            result: OpenResult::Opened
        }
    );
    assert_eq!(
        c.next_urc().await.unwrap(),
        Urc::QmtOpen {
            client: 0,
            result: OpenResult::PdpActivationFailed
        }
    );
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn qmt_open_times_out_waiting_for_its_urc() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTOPEN=2,\"broker\",1883\r"),
        Send(b"\r\nOK\r\n"),
    ]);
    let started = tokio::time::Instant::now();
    assert_eq!(
        c.qmt_open(2, "broker", 1883).await,
        Err(Error::UrcTimeout {
            command: "AT+QMTOPEN=2,\"broker\",1883".into(),
            urc: "+QMTOPEN",
            timeout: Duration::from_secs(120),
        })
    );
    assert_eq!(started.elapsed(), Duration::from_secs(120));
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn pubex_waits_for_the_prompt_and_reports_retransmissions() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTPUBEX=0,7,1,0,\"t/a\",9\r"),
        Send(b"AT+QMTPUBEX=0,7,1,0,\"t/a\",9\r\r\n> "),
        Expect(b"a\"b\r\n\0,c\x1a"),
        Send(b"a\"b\r\n\0,c\x1a\r\nOK\r\n"),
        Send(b"\r\n+QMTPUBEX: 0,6,0\r\n"),
        Sleep(5),
        Send(b"\r\n+QMTPUBEX: 0,7,1,1\r\n"),
        Sleep(5),
        Send(b"\r\n+QMTPUBEX: 0,7,0\r\n"),
    ]);
    let outcome = c
        .qmt_pubex(0, 7, 1, false, "t/a", b"a\"b\r\n\0,c\x1a")
        .await
        .unwrap();
    assert_eq!(outcome.result, PacketResult::Sent);
    assert_eq!(outcome.retransmissions, 1);
    // Every result URC is on the stream too, in order, including another msgID's.
    let mut seen = Vec::new();
    for _ in 0..3 {
        match c.next_urc().await.unwrap() {
            Urc::QmtPub {
                msg_id,
                result,
                form: PubForm::PubEx,
                ..
            } => seen.push((msg_id, result)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            (6, PacketResult::Sent),
            (7, PacketResult::Retransmission),
            (7, PacketResult::Sent)
        ]
    );
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn pubex_honours_the_configured_packet_timeout() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTCFG=\"timeout\",0,2,1,0\r"),
        Send(b"\r\nOK\r\n"),
        Expect(b"AT+QMTPUBEX=0,0,0,1,\"t\",1\r"),
        Send(b"\r\n> "),
        Expect(b"x"),
        Send(b"\r\nOK\r\n"),
    ]);
    c.qmt_cfg_timeout(0, 2, 1, false).await.unwrap();
    let started = tokio::time::Instant::now();
    assert!(matches!(
        c.qmt_pubex(0, 0, 0, true, "t", b"x").await,
        Err(Error::UrcTimeout { timeout, .. }) if timeout == Duration::from_secs(4)
    ));
    assert_eq!(started.elapsed(), Duration::from_secs(4));
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn ctrl_z_publish_and_its_late_prompt() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTPUB=0,0,0,0,\"t\"\r"),
        Send(b"\r\n> "),
        Expect(b"hi\x1a"),
        Send(b"\r\nOK\r\n\r\n+QMTPUB: 0,0,0\r\n"),
        // A second publish whose prompt comes after the caller's timeout: cancelled with ESC.
        Expect(b"AT+QMTPUB=0,0,0,0,\"t\"\r"),
        Sleep(2),
        Send(b"\r\n> "),
        Expect(b"\x1b"),
        Send(b"\r\nERROR\r\n"),
        Expect(b"AT\r"),
        Send(b"\r\nOK\r\n"),
    ]);
    let outcome = c.qmt_pub_ctrl_z(0, 0, 0, false, "t", b"hi").await.unwrap();
    assert!(outcome.is_sent());
    let quick = c.with_timeout(Duration::from_secs(1));
    assert!(matches!(
        quick.qmt_pub_ctrl_z(0, 0, 0, false, "t", b"hi").await,
        Err(Error::Timeout { .. })
    ));
    // Let the late prompt arrive and be cancelled before the next command.
    tokio::time::sleep(Duration::from_secs(2)).await;
    c.at().await.unwrap();
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn a_prompt_without_a_payload_is_cancelled() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTPUBEX=0,0,0,0,\"t\",3\r"),
        Send(b"\r\n> "),
        Expect(b"\x1b"),
        Send(b"\r\nERROR\r\n"),
    ]);
    assert!(matches!(
        c.command("AT+QMTPUBEX=0,0,0,0,\"t\",3").await,
        Err(Error::UnexpectedResponse { .. })
    ));
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn qmt_conn_sub_and_received_messages() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTCFG=\"recv/mode\",0,0,1\r"),
        Send(b"\r\nOK\r\n"),
        Expect(b"AT+QMTCONN=0,\"dev\",\"u\",\"p\"\r"),
        Send(b"\r\nOK\r\n\r\n+QMTCONN: 0,0,0\r\n"),
        Expect(b"AT+QMTSUB=0,1,\"a/#\",1,\"b\",2\r"),
        Send(b"\r\nOK\r\n\r\n+QMTSUB: 0,1,0,1,128\r\n"),
        Send(b"\r\n+QMTRECV: 0,3,\"a/x\",6,\"\"\r\n\0\"\"\r\n"),
    ]);
    let mut urcs = c.subscribe_urcs();
    c.qmt_cfg_recv_mode(0, RecvMode::Urc, true).await.unwrap();
    let conn = c.qmt_conn(0, "dev", Some("u"), Some("p")).await.unwrap();
    assert!(conn.is_accepted());
    assert_eq!(conn.ret_code, Some(ConnReturnCode::Accepted));
    let sub = c.qmt_sub(0, 1, &[("a/#", 1), ("b", 2)]).await.unwrap();
    assert_eq!(sub.values, [1, 128]);
    let msg = urcs
        .wait_for(Duration::from_secs(1), |u| matches!(u, Urc::QmtRecv { .. }))
        .await
        .unwrap();
    assert_eq!(
        msg,
        Urc::QmtRecv {
            client: 0,
            msg_id: 3,
            topic: "a/x".into(),
            payload: b"\"\r\n\0\"\"".to_vec(),
        }
    );
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn qmtstat_while_connecting_closes_the_link() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTCONN=0,\"dev\"\r"),
        Send(b"\r\nOK\r\n\r\n+QMTSTAT: 0,3\r\n"),
    ]);
    assert_eq!(
        c.qmt_conn(0, "dev", None, None).await,
        Err(Error::LinkClosed {
            client: 0,
            code: StatCode::ConnectFailed
        })
    );
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn buffered_messages_are_read_back() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTRECV?\r"),
        Send(b"\r\n+QMTRECV: 0,1,0,0,0,1\r\n\r\nOK\r\n"),
        Expect(b"AT+QMTRECV=0\r"),
        Send(b"\r\n+QMTRECV: 0,1,\"t\",4,\"\r\nOK\"\r\n+QMTRECV: 0,2,\"t\",\"x\"\r\n\r\nOK\r\n"),
        Expect(b"AT+QMTDISC=0\r"),
        Send(b"\r\nOK\r\n\r\n+QMTDISC: 0,0\r\n\r\n+QMTSTAT: 0,5\r\n"),
        Expect(b"AT+QMTCLOSE=0\r"),
        Send(b"\r\nOK\r\n\r\n+QMTCLOSE: 0,-1\r\n"),
    ]);
    let status = c.qmt_recv_status().await.unwrap();
    assert_eq!(status[0].stored, [true, false, false, false, true]);
    let msgs = c.qmt_recv_read(0, None).await.unwrap();
    assert_eq!(
        msgs,
        [
            Message {
                client: 0,
                msg_id: 1,
                topic: "t".into(),
                payload: b"\r\nOK".to_vec()
            },
            Message {
                client: 0,
                msg_id: 2,
                topic: "t".into(),
                payload: b"x".to_vec()
            }
        ]
    );
    assert_eq!(c.qmt_disc(0).await.unwrap(), CloseResult::Closed);
    assert_eq!(c.qmt_close(0).await.unwrap(), CloseResult::Failed);
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn file_upload_after_connect() {
    let (c, peer) = client(vec![
        Expect(b"AT+QFUPL=\"RAM:ca.pem\",5,10\r"),
        Send(b"AT+QFUPL=\"RAM:ca.pem\",5,10\r\r\nCONNECT\r\n"),
        Expect(b"-----"),
        Send(b"\r\n+QFUPL: 5,2d2d\r\n\r\nOK\r\n"),
    ]);
    let up = c.qfupl("RAM:ca.pem", b"-----", 10).await.unwrap();
    assert_eq!((up.size, up.checksum), (5, 0x2d2d));
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn boot_urcs_before_any_command_are_kept() {
    let (c, peer) = client(vec![Send(
        b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n",
    )]);
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(c.next_urc().await.unwrap());
    }
    assert_eq!(
        got,
        [
            Urc::Ready,
            Urc::Cfun { fun: 1 },
            Urc::Cpin(SimState::Ready),
            Urc::Other("+QUSIM: 1".into()),
            Urc::Other("+QIND: SMS DONE".into()),
        ]
    );
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn a_dropped_call_does_not_desynchronise_the_link() {
    let (c, peer) = client(vec![
        Expect(b"AT+CPIN?\r"),
        Sleep(2),
        Send(b"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"),
        Expect(b"AT+CSQ\r"),
        Send(b"\r\n+CSQ: 5,0\r\n\r\nOK\r\n"),
    ]);
    let gave_up = tokio::time::timeout(Duration::from_secs(1), c.cpin()).await;
    assert!(gave_up.is_err());
    // The driver saw AT+CPIN? through; AT+CSQ gets its own answer.
    assert_eq!(c.csq().await.unwrap().rssi, 5);
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn concurrent_urc_wait_and_commands() {
    let (c, peer) = client(vec![
        Expect(b"AT\r"),
        Send(b"\r\n+QMTRECV: 1,0,\"t\",\"hello\"\r\n\r\nOK\r\n"),
    ]);
    let mut urcs = c.subscribe_urcs();
    let waiter = tokio::spawn(async move {
        urcs.wait_for(Duration::from_secs(10), |u| u.client() == Some(1))
            .await
    });
    c.at().await.unwrap();
    let urc = waiter.await.unwrap().unwrap();
    assert!(matches!(urc, Urc::QmtRecv { ref payload, .. } if payload == b"hello"));
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn invalid_arguments_send_nothing() {
    let (c, peer) = client(vec![Expect(b"AT\r"), Send(b"\r\nOK\r\n")]);
    let bad = [
        c.qmt_pubex(0, 1, 1, false, "a\"b", b"x").await,
        c.qmt_pubex(0, 1, 0, false, "t", b"x").await,
        c.qmt_pubex(0, 0, 1, false, "t", b"x").await,
        c.qmt_pubex(6, 0, 0, false, "t", b"x").await,
        c.qmt_pubex(0, 1, 3, false, "t", b"x").await,
        c.qmt_pub_ctrl_z(0, 0, 0, false, "t", b"a\x1ab").await,
        c.qmt_sub(0, 0, &[("t", 0)]).await,
        c.qmt_sub(0, 1, &[]).await,
    ];
    for r in bad {
        assert!(matches!(r, Err(Error::InvalidArgument { .. })), "{r:?}");
    }
    assert!(matches!(
        c.qmt_conn(0, "id", None, Some("p")).await,
        Err(Error::InvalidArgument {
            argument: "pass",
            ..
        })
    ));
    assert!(matches!(
        c.command("AT\rAT").await,
        Err(Error::InvalidArgument {
            argument: "command",
            ..
        })
    ));
    assert!(matches!(
        c.send_with_payload("AT", b"x").await,
        Err(Error::InvalidArgument {
            argument: "command",
            ..
        })
    ));
    c.at().await.unwrap();
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn a_closed_transport_fails_calls_and_ends_the_stream() {
    let (host, mut module) = tokio::io::duplex(256);
    let c = Client::new(host);
    let peer = tokio::spawn(async move {
        let mut line = [0u8; 9];
        module.read_exact(&mut line).await.unwrap();
        module.write_all(b"\r\n+QMTSTAT: 0,7\r\n").await.unwrap();
        // Dropping the module end closes the link mid-command.
    });
    assert_eq!(c.cpin().await, Err(Error::Closed));
    peer.await.unwrap();
    assert_eq!(c.at().await, Err(Error::Closed));
    assert_eq!(
        c.next_urc().await,
        Ok(Urc::QmtStat {
            client: 0,
            code: StatCode::LinkDown
        })
    );
    assert_eq!(c.next_urc().await, Err(UrcError::Closed));
    assert_eq!(c.subscribe_urcs().recv().await, Err(UrcError::Closed));
}

#[tokio::test(start_paused = true)]
async fn a_slow_reader_is_told_it_lagged() {
    let (c, peer) = pair(
        Client::builder().urc_capacity(2),
        vec![
            Send(b"\r\n+QMTPING: 0,1\r\n\r\n+QMTPING: 1,1\r\n\r\n+QMTPING: 2,1\r\n"),
            Expect(b"AT\r"),
            Send(b"\r\nOK\r\n"),
        ],
    );
    c.at().await.unwrap();
    assert_eq!(c.next_urc().await, Err(UrcError::Lagged { missed: 1 }));
    assert_eq!(c.next_urc().await.unwrap().client(), Some(1));
    finish(peer).await;
}

#[tokio::test(start_paused = true)]
async fn commands_from_several_tasks_are_sent_one_at_a_time() {
    let (c, peer) = client(vec![
        Expect(b"AT+QMTPUBEX=0,1,1,0,\"t\",1\r"),
        Send(b"\r\n> "),
        Expect(b"x"),
        Send(b"\r\nOK\r\n"),
        // The second task's command only comes after the first one's final result.
        Expect(b"AT+CSQ\r"),
        Send(b"\r\n+CSQ: 9,9\r\n\r\nOK\r\n\r\n+QMTPUBEX: 0,1,0\r\n"),
    ]);
    let publisher = {
        let c = c.clone();
        tokio::spawn(async move { c.qmt_pubex(0, 1, 1, false, "t", b"x").await })
    };
    tokio::task::yield_now().await;
    let csq = {
        let c = c.clone();
        tokio::spawn(async move { c.csq().await })
    };
    assert_eq!(csq.await.unwrap().unwrap().rssi, 9);
    assert!(publisher.await.unwrap().unwrap().is_sent());
    finish(peer).await;
}

#[tokio::test]
async fn connects_over_tcp_loopback() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let module = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut line = [0u8; 3];
        sock.read_exact(&mut line).await.unwrap();
        assert_eq!(&line, b"AT\r");
        sock.write_all(b"AT\r\r\nOK\r\n").await.unwrap();
        sock
    });
    let c = Client::connect_tcp(addr).await.unwrap();
    c.with_timeout(Duration::from_secs(10)).at().await.unwrap();
    drop(module.await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn events_keep_responses_and_urcs_in_arrival_order() {
    let (c, peer) = client(vec![
        Expect(b"AT+CPIN?\r"),
        // One chunk: a URC before the echo, the response, and a URC after it.
        Send(b"\r\n+QMTSTAT: 0,1\r\nAT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n"),
    ]);
    let mut events = c.subscribe_events();
    let resp = c.command("AT+CPIN?").await.unwrap();
    assert!(resp.is_ok());
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(events.recv().await.unwrap());
    }
    assert!(matches!(
        &got[0],
        vmodem_client::Event::Urc(Urc::QmtStat { client: 0, .. })
    ));
    assert_eq!(
        got[1],
        vmodem_client::Event::Response {
            command: "AT+CPIN?".into(),
            response: resp
        }
    );
    assert!(matches!(
        &got[2],
        vmodem_client::Event::Urc(Urc::QmtOpen { client: 0, .. })
    ));
    assert!(events.try_recv().is_none());
    finish(peer).await;
}
