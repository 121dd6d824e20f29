//! Every `+QMTOPEN` result and every `+QMTSTAT` code, each by a real cause:
//! a real mosquitto killed or frozen, real closed ports, a real resolver, a
//! real TCP peer that resets.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::{Delivery, Target};
use vmodem_client::{
    ConnReturnCode, Error, FinalResult, MqttVersion, OpenResult, PacketResult, RecvMode, StatCode,
    Will,
};
use vmodem_testkit::{
    closed_port, within, Mosquitto, MosquittoConfig, Observer, ResetWhen, ResettingServer,
    TestModule,
};

const LIMIT: Duration = Duration::from_secs(90);

fn target(broker: &Mosquitto) -> Target {
    Target {
        addr: broker.addr(),
        version: MqttVersion::V311,
        delivery: Delivery::Minimum,
    }
}

// ---- +QMTOPEN results -------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_0_opened_and_listed() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let port = broker.port();
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", port)
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        module.assert_serial_output_contains(
            format!("AT+QMTOPEN=0,\"127.0.0.1\",{port}\r\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n")
                .as_bytes(),
        );
        let open = modem.qmt_open_status().await.expect("AT+QMTOPEN?");
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(
            (open[0].client, open[0].host.as_str(), open[0].port),
            (0, "127.0.0.1", port)
        );
        // The broker sees a real TCP connection: the module can connect on it.
        assert!(modem
            .qmt_conn(0, "open-0", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_1_wrong_parameter_for_port_0_and_an_empty_host() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        // The typed call refuses port 0 itself; firmware can still send it.
        for line in [
            "AT+QMTOPEN=0,\"127.0.0.1\",0".to_owned(),
            "AT+QMTOPEN=0,\"127.0.0.1\",65536".to_owned(),
            format!("AT+QMTOPEN=0,\"\",{}", broker.port()),
        ] {
            modem.command_ok(line.as_str()).await.expect(&line);
            urcs.expect_next("+QMTOPEN: 0,1").await;
        }
        // Nothing stayed open: the same client opens for real afterwards.
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_2_identifier_occupied_when_opened_twice() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        assert_eq!(
            modem
                .qmt_open(3, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        assert_eq!(
            modem
                .qmt_open(3, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN again"),
            OpenResult::IdentifierOccupied
        );
        module.assert_serial_output_contains(b"\r\n+QMTOPEN: 3,2\r\n");
        // The first link is untouched.
        assert!(modem
            .qmt_conn(3, "open-2", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_3_pdp_failed_after_qideact_and_fine_after_qiact() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        modem
            .command_ok("AT+QIDEACT=1")
            .await
            .expect("AT+QIDEACT=1");
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::PdpActivationFailed
        );
        module.assert_serial_output_contains(b"\r\n+QMTOPEN: 0,3\r\n");
        modem.command_ok("AT+QIACT=1").await.expect("AT+QIACT=1");
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_4_dns_failure_for_a_name_that_cannot_resolve() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        // A name only this module's hosts table knows resolves; `.invalid` never does.
        let module = TestModule::builder()
            .host("broker.vmodem.test", IpAddr::V4(Ipv4Addr::LOCALHOST))
            .start()
            .await;
        let modem = module.client();
        assert_eq!(
            modem
                .qmt_open(0, "nonexistent.invalid", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::DnsFailed
        );
        module.assert_serial_output_contains(b"\r\n+QMTOPEN: 0,4\r\n");
        assert_eq!(
            modem
                .qmt_open(0, "broker.vmodem.test", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        assert!(modem
            .qmt_conn(0, "open-4", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_5_network_error_on_a_closed_port() {
    within(LIMIT, async {
        let module = TestModule::start().await;
        let modem = module.client();
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", closed_port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::NetworkError
        );
        module.assert_serial_output_contains(b"\r\n+QMTOPEN: 0,5\r\n");
        assert!(
            modem
                .qmt_open_status()
                .await
                .expect("AT+QMTOPEN?")
                .is_empty(),
            "nothing stays open"
        );
        module.shutdown().await;
    })
    .await;
}

// ---- +QMTSTAT codes ---------------------------------------------------------

/// Another connection with the same client id makes the broker drop the
/// older one (MQTT 3.1.1 §3.1.4): `+QMTSTAT: c,1` for the older client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_1_when_another_connection_takes_over_the_client_id() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        common::connect(modem, 0, target(&broker), "same-id", RecvMode::Urc).await;
        common::connect(modem, 1, target(&broker), "same-id", RecvMode::Urc).await;
        urcs.wait_for_line("+QMTSTAT: 0,1").await;
        let status = modem.qmt_conn_status().await.expect("AT+QMTCONN?");
        assert_eq!(status.len(), 1, "{status:?}");
        assert_eq!((status[0].0, status[0].1.code()), (1, 3));
        module.shutdown().await;
    })
    .await;
}

/// A packet over 32 KiB is more than the module takes (docs/decisions.md):
/// it closes the link with `+QMTSTAT: c,1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_1_when_the_broker_sends_a_packet_over_32_kib() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        common::connect(modem, 0, target(&broker), "huge", RecvMode::Urc).await;
        common::subscribe(modem, 0, 1, &[("huge/t", 1)], &[1]).await;
        let mut observer = Observer::connect(broker.addr(), "huge-observer").await;
        observer.publish("huge/t", 1, false, &[b'x'; 40_000]).await;
        urcs.wait_for_line("+QMTSTAT: 0,1").await;
        assert!(
            !urcs.seen().iter().any(|u| u.starts_with("+QMTRECV")),
            "{:?}",
            urcs.seen()
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_1_when_the_broker_is_killed_then_reconnects_after_restart() {
    within(LIMIT, async {
        let mut broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        common::connect(modem, 0, target(&broker), "stat-1", RecvMode::Urc).await;
        common::subscribe(modem, 0, 1, &[("stat1/t", 1)], &[1]).await;

        broker.kill();
        urcs.wait_for_line("+QMTSTAT: 0,1").await;
        assert!(
            modem
                .qmt_conn_status()
                .await
                .expect("AT+QMTCONN?")
                .is_empty(),
            "the client is closed"
        );

        broker.restart().await;
        common::connect(modem, 0, target(&broker), "stat-1", RecvMode::Urc).await;
        common::subscribe(modem, 0, 2, &[("stat1/t", 1)], &[1]).await;
        let mut observer = Observer::connect(broker.addr(), "stat-1-observer").await;
        observer
            .publish("stat1/t", 1, false, b"after restart")
            .await;
        let (_, topic, payload) = common::next_message(&mut urcs, 0).await;
        assert_eq!(
            (topic.as_str(), payload.as_slice()),
            ("stat1/t", &b"after restart"[..])
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_2_when_a_frozen_broker_answers_no_ping() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        modem.qmt_cfg_keepalive(0, 1).await.expect("keepalive 1 s");
        // PINGRESP may take 2 s: room for a loaded CI machine.
        modem
            .qmt_cfg_timeout(0, 2, 3, true)
            .await
            .expect("pkt_timeout 2 s");
        modem
            .command_ok("AT+QMTCFG=\"qmtping\",0,5")
            .await
            .expect("qmtping 5 s");
        common::connect(modem, 0, target(&broker), "stat-2", RecvMode::Urc).await;
        urcs.wait_for_line("+QMTCONN: 0,0,0").await;
        // A few keep-alive rounds with a live broker change nothing.
        urcs.expect_none_within(Duration::from_millis(2500)).await;

        broker.stop();
        urcs.expect_next("+QMTPING: 0,1").await;
        let ping_failed = Instant::now();
        urcs.expect_next("+QMTSTAT: 0,2").await;
        let interval = ping_failed.elapsed();
        assert!(
            interval >= Duration::from_millis(4500) && interval < Duration::from_secs(15),
            "+QMTSTAT came {interval:?} after +QMTPING; qmtping is 5 s"
        );
        module.assert_serial_output_contains(b"\r\n+QMTPING: 0,1\r\n\r\n+QMTSTAT: 0,2\r\n");
        broker.cont();
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_4_when_a_frozen_broker_sends_no_connack() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        modem
            .qmt_cfg_timeout(0, 1, 3, true)
            .await
            .expect("pkt_timeout 1 s");
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        urcs.expect_next("+QMTOPEN: 0,0").await;
        broker.stop();
        let sent = Instant::now();
        let conn = modem
            .qmt_conn(0, "stat-4", None, None)
            .await
            .expect("AT+QMTCONN");
        assert_eq!((conn.result, conn.ret_code), (PacketResult::Failed, None));
        urcs.expect_sequence(&["+QMTCONN: 0,2", "+QMTSTAT: 0,4"])
            .await;
        let waited = sent.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
            "CONNACK timeout after {waited:?}; pkt_timeout is 1 s"
        );
        module.assert_serial_output_contains(b"\r\n+QMTCONN: 0,2\r\n\r\n+QMTSTAT: 0,4\r\n");
        broker.cont();
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_4_when_the_peer_hangs_up_on_the_connect() {
    within(LIMIT, async {
        let mut server = ResettingServer::start(ResetWhen::OnFirstBytes).await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", server.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        let conn = modem.qmt_conn(0, "stat-4-reset", None, None).await;
        assert_eq!(
            conn,
            Err(Error::LinkClosed {
                client: 0,
                code: StatCode::ConnackFailed
            })
        );
        let connect = server.next_reset().await;
        assert_eq!(
            connect.first(),
            Some(&0x10),
            "the server got a CONNECT: {connect:02x?}"
        );
        urcs.expect_sequence(&["+QMTOPEN: 0,0", "+QMTSTAT: 0,4"])
            .await;
        module.shutdown().await;
    })
    .await;
}

/// Code 3 ("sending CONNECT failed") needs the CONNECT's write to fail. A
/// real peer can only cause that by resetting the connection in the instant
/// before the write, and vmodem's link task reads a reset as soon as it
/// arrives, long before the host can send `AT+QMTCONN`. What a peer that
/// resets right after accepting really gives is one of two things, by a
/// race in the kernel: the reset lands before the driver's connect() has
/// seen the connection complete (`+QMTOPEN: c,5`), or after
/// (`+QMTOPEN: c,0`, then `+QMTSTAT: c,1`). Never code 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_3_is_out_of_reach_a_reset_after_accept_gives_open_5_or_stat_1() {
    within(LIMIT, async {
        let mut server = ResettingServer::start(ResetWhen::OnAccept).await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        let mut seen = Vec::new();
        for round in 0..5 {
            let opened = modem
                .qmt_open(0, "127.0.0.1", server.port())
                .await
                .expect("AT+QMTOPEN");
            server.next_reset().await;
            match opened {
                OpenResult::NetworkError => {
                    urcs.expect_next("+QMTOPEN: 0,5").await;
                    seen.push("+QMTOPEN: 0,5");
                }
                OpenResult::Opened => {
                    urcs.expect_sequence(&["+QMTOPEN: 0,0", "+QMTSTAT: 0,1"])
                        .await;
                    seen.push("+QMTOPEN: 0,0 then +QMTSTAT: 0,1");
                }
                other => panic!(
                    "round {round}: +QMTOPEN: 0,{}; before: {seen:?}",
                    other.code()
                ),
            }
            // Either way the client is closed: AT+QMTCONN has no link.
            let refused = modem.qmt_conn(0, "stat-3", None, None).await;
            assert!(
                matches!(
                    &refused,
                    Err(Error::Rejected {
                        result: FinalResult::Error,
                        ..
                    })
                ),
                "round {round}: {refused:?}"
            );
        }
        eprintln!("a peer resetting on accept gave: {seen:?}");
        assert!(
            !urcs.seen().iter().any(|u| u.starts_with("+QMTSTAT: 0,3")),
            "{:?}",
            urcs.seen()
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_5_after_qmtdisc() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        common::connect(modem, 0, target(&broker), "stat-5", RecvMode::Urc).await;
        urcs.wait_for_line("+QMTCONN: 0,0,0").await;
        assert_eq!(
            modem.qmt_disc(0).await.expect("AT+QMTDISC"),
            vmodem_client::CloseResult::Closed
        );
        urcs.expect_sequence(&["+QMTDISC: 0,0", "+QMTSTAT: 0,5"])
            .await;
        module.assert_serial_output_contains(
            b"AT+QMTDISC=0\r\r\nOK\r\n\r\n+QMTDISC: 0,0\r\n\r\n+QMTSTAT: 0,5\r\n",
        );
        assert!(modem
            .qmt_conn_status()
            .await
            .expect("AT+QMTCONN?")
            .is_empty());
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_6_when_a_frozen_broker_never_acknowledges_a_publish() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        modem
            .qmt_cfg_timeout(0, 1, 1, true)
            .await
            .expect("AT+QMTCFG=\"timeout\",0,1,1,1");
        common::connect(modem, 0, target(&broker), "stat-6", RecvMode::Urc).await;
        urcs.wait_for_line("+QMTCONN: 0,0,0").await;

        broker.stop();
        let out = modem
            .qmt_pubex(0, 1, 1, false, "stat6/t", b"never acknowledged")
            .await
            .expect("AT+QMTPUBEX");
        assert_eq!(
            (out.result, out.retransmissions),
            (PacketResult::Failed, 1),
            "{out:?}"
        );
        urcs.expect_sequence(&["+QMTPUBEX: 0,1,1,1", "+QMTPUBEX: 0,1,2", "+QMTSTAT: 0,6"])
            .await;
        module.assert_serial_output_contains(
            b"\r\n+QMTPUBEX: 0,1,1,1\r\n\r\n+QMTPUBEX: 0,1,2\r\n\r\n+QMTSTAT: 0,6\r\n",
        );
        broker.cont();
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_7_when_the_pdp_context_goes_down_while_connected() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        let mut observer = Observer::connect(broker.addr(), "stat-7-observer").await;
        observer.subscribe("stat7/will", 1).await;
        let will = Will {
            qos: 1,
            retain: false,
            topic: "stat7/will".into(),
            message: "link lost".into(),
        };
        modem
            .qmt_cfg_will(0, Some(&will))
            .await
            .expect("AT+QMTCFG=\"will\"");
        common::connect(modem, 0, target(&broker), "stat-7", RecvMode::Urc).await;
        urcs.wait_for_line("+QMTCONN: 0,0,0").await;

        modem
            .command_ok("AT+QIDEACT=1")
            .await
            .expect("AT+QIDEACT=1");
        urcs.expect_next("+QMTSTAT: 0,7").await;
        module.assert_serial_output_contains(b"AT+QIDEACT=1\r\r\nOK\r\n\r\n+QMTSTAT: 0,7\r\n");
        // The broker saw the link drop without DISCONNECT: it sends the Will.
        let got = observer.expect_message().await;
        assert_eq!(
            (got.topic.as_str(), got.payload.as_slice()),
            ("stat7/will", &b"link lost"[..])
        );
        // Without a context the module cannot open again.
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::PdpActivationFailed
        );
        module.shutdown().await;
    })
    .await;
}

/// The radio going off (`AT+CFUN=0`) or the network being left
/// (`AT+COPS=2`) takes the PDP context down: `+QMTSTAT: c,7` for every
/// connected client, and the broker, seeing the links drop, sends their Wills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_7_when_the_radio_goes_off_or_the_network_is_left() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        let mut observer = Observer::connect(broker.addr(), "radio-observer").await;
        observer.subscribe("radio/will/#", 1).await;
        for c in [0u8, 4] {
            let will = Will {
                qos: 1,
                retain: false,
                topic: format!("radio/will/{c}"),
                message: format!("client {c} lost"),
            };
            modem
                .qmt_cfg_will(c, Some(&will))
                .await
                .expect("AT+QMTCFG=\"will\"");
            common::connect(
                modem,
                c,
                target(&broker),
                &format!("radio-{c}"),
                RecvMode::Urc,
            )
            .await;
            urcs.wait_for_line(&format!("+QMTCONN: {c},0,0")).await;
        }

        modem.command_ok("AT+CFUN=0").await.expect("AT+CFUN=0");
        urcs.expect_sequence(&["+QMTSTAT: 0,7", "+QMTSTAT: 4,7"])
            .await;
        module.assert_serial_output_contains(
            b"AT+CFUN=0\r\r\nOK\r\n\r\n+QMTSTAT: 0,7\r\n\r\n+QMTSTAT: 4,7\r\n",
        );
        let mut wills = vec![
            observer.expect_message().await.topic,
            observer.expect_message().await.topic,
        ];
        wills.sort();
        assert_eq!(wills, ["radio/will/0", "radio/will/4"]);

        // Radio on again: registered, the context is back, MQTT works.
        modem.command_ok("AT+CFUN=1").await.expect("AT+CFUN=1");
        urcs.wait_for_line("+QIND: PB DONE").await;
        common::connect(modem, 0, target(&broker), "radio-0", RecvMode::Urc).await;
        urcs.wait_for_line("+QMTCONN: 0,0,0").await;

        modem.command_ok("AT+COPS=2").await.expect("AT+COPS=2");
        urcs.expect_next("+QMTSTAT: 0,7").await;
        assert_eq!(observer.expect_message().await.topic, "radio/will/0");
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::PdpActivationFailed,
            "no network, no context"
        );
        module.shutdown().await;
    })
    .await;
}

/// At most five packets wait for acknowledgement per client: with the
/// broker frozen, five QoS 1 publishes are accepted, a sixth and a QoS 0 one
/// are `ERROR`; when the broker runs again all five complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_window_holds_five_packets() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let mut observer = Observer::connect(broker.addr(), "window-observer").await;
        observer.subscribe("window/t", 1).await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        modem
            .qmt_cfg_timeout(0, 30, 3, true)
            .await
            .expect("pkt_timeout 30 s");
        common::connect(modem, 0, target(&broker), "window", RecvMode::Urc).await;
        urcs.wait_for_line("+QMTCONN: 0,0,0").await;

        broker.stop();
        for id in 1..=5u16 {
            let resp = modem
                .send_with_payload(
                    format!("AT+QMTPUBEX=0,{id},1,0,\"window/t\",1").as_str(),
                    &[b'0' + id as u8],
                )
                .await
                .expect("AT+QMTPUBEX");
            assert!(resp.is_ok(), "publish {id}: {resp:?}");
        }
        for line in [
            "AT+QMTPUBEX=0,6,1,0,\"window/t\",1",
            "AT+QMTPUBEX=0,0,0,0,\"window/t\",1",
        ] {
            let resp = modem.send_with_payload(line, b"x").await;
            assert!(
                matches!(
                    &resp,
                    Err(Error::Rejected {
                        result: FinalResult::Error,
                        ..
                    })
                ) || matches!(&resp, Ok(r) if r.result == FinalResult::Error),
                "{line}: {resp:?}"
            );
        }
        broker.cont();
        urcs.expect_sequence(&[
            "+QMTPUBEX: 0,1,0",
            "+QMTPUBEX: 0,2,0",
            "+QMTPUBEX: 0,3,0",
            "+QMTPUBEX: 0,4,0",
            "+QMTPUBEX: 0,5,0",
        ])
        .await;
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(observer.expect_message().await.payload);
        }
        assert_eq!(got, [b"1", b"2", b"3", b"4", b"5"]);
        module.shutdown().await;
    })
    .await;
}

/// User name and password reach the broker: right ones are accepted; wrong
/// ones get the broker's CONNACK 5 as `+QMTCONN: c,0,5`, and the close after
/// it `+QMTSTAT: c,1` (docs/decisions.md), for MQTT 3.1 and 3.1.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_accepted_and_refused_connack() {
    within(LIMIT, async {
        let broker =
            Mosquitto::start_with(MosquittoConfig::default().users(&[("device", "s3cret")])).await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        for (c, version) in [(0u8, MqttVersion::V31), (1, MqttVersion::V311)] {
            modem.qmt_cfg_version(c, version).await.expect("version");
            assert_eq!(
                modem
                    .qmt_open(c, "127.0.0.1", broker.port())
                    .await
                    .expect("AT+QMTOPEN"),
                OpenResult::Opened
            );
            let conn = modem
                .qmt_conn(c, &format!("cred-{c}"), Some("device"), Some("wrong"))
                .await
                .expect("AT+QMTCONN");
            assert_eq!(
                (conn.result, conn.ret_code),
                (PacketResult::Sent, Some(ConnReturnCode::NotAuthorized))
            );
            urcs.wait_for_line(&format!("+QMTCONN: {c},0,5")).await;
            urcs.expect_next(&format!("+QMTSTAT: {c},1")).await;

            assert_eq!(
                modem
                    .qmt_open(c, "127.0.0.1", broker.port())
                    .await
                    .expect("AT+QMTOPEN"),
                OpenResult::Opened
            );
            let conn = modem
                .qmt_conn(c, &format!("cred-{c}"), Some("device"), Some("s3cret"))
                .await
                .expect("AT+QMTCONN");
            assert!(conn.is_accepted(), "{conn:?}");
        }
        module.shutdown().await;
    })
    .await;
}
