//! The broker conformance check (`vmodem_testkit::broker_conformance`)
//! against the built-in broker and against mosquitto, the reference: every
//! behaviour a module relies on must hold for both. The table of all brokers
//! compared (rumqttd, rmqtt too) comes from `tools/broker-matrix` and is in
//! `docs/decisions.md`.
//!
//! The timing check (small messages not stalled) is left to the matrix run:
//! this machine is shared, and a timed assertion here could fail for load.

use std::net::SocketAddr;
use std::time::Duration;

use vmodem_testkit::broker_conformance::{run_one, AuthTarget, Check, Outcome, Target};
use vmodem_testkit::{within, Mosquitto, MosquittoConfig};
use vmodem_tokio::{BrokerOptions, EmbeddedBroker};

const LIMIT: Duration = Duration::from_secs(120);
const USER: (&str, &str) = ("device-7", "s3cret:with-colon");

async fn run_untimed(target: &Target) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for check in Check::ALL {
        if check != Check::SmallMessagesNotStalled {
            outcomes.push(run_one(target, check).await);
        }
    }
    outcomes
}

fn assert_all_pass(name: &str, outcomes: &[Outcome]) {
    let report: Vec<String> = outcomes.iter().map(ToString::to_string).collect();
    println!("{name}:\n  {}", report.join("\n  "));
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed).collect();
    assert!(failed.is_empty(), "{name} failed: {failed:#?}");
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_broker_passes_every_check() {
    within(LIMIT, async {
        let open = EmbeddedBroker::start(loopback()).await.expect("broker");
        let mut options = BrokerOptions::new(loopback());
        options.users = vec![(USER.0.to_owned(), USER.1.to_owned())];
        let closed = EmbeddedBroker::start_with(options).await.expect("broker");
        let target = Target {
            name: "built-in".into(),
            addr: open.local_addr(),
            auth: Some(AuthTarget {
                addr: closed.local_addr(),
                user: USER.0.into(),
                password: USER.1.into(),
            }),
        };
        let outcomes = run_untimed(&target).await;
        assert_all_pass("built-in", &outcomes);
        // The refusal codes a firmware engineer can rely on.
        let code = |check| {
            outcomes
                .iter()
                .find(|o| o.check == check)
                .map(|o| o.note.clone())
                .unwrap_or_default()
        };
        assert_eq!(code(Check::AuthWrongPassword), "CONNACK 4, then closed");
        assert_eq!(code(Check::AuthUnknownUser), "CONNACK 4, then closed");
        assert_eq!(code(Check::AuthNoCredentials), "CONNACK 5, then closed");
        // Nothing is left behind by the checks: no connection, no queue.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stats = open.stats();
        assert_eq!(stats.connections, 0, "{stats:?}");
        assert_eq!(stats.queued_bytes, 0, "{stats:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_the_reference_passes_every_check() {
    within(LIMIT, async {
        let open = Mosquitto::start().await;
        let closed = Mosquitto::start_with(MosquittoConfig::default().users(&[USER])).await;
        let target = Target {
            name: "mosquitto".into(),
            addr: open.addr(),
            auth: Some(AuthTarget {
                addr: closed.addr(),
                user: USER.0.into(),
                password: USER.1.into(),
            }),
        };
        let outcomes = run_untimed(&target).await;
        assert_all_pass("mosquitto", &outcomes);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_broker_stops_it() {
    within(LIMIT, async {
        let broker = EmbeddedBroker::start(loopback()).await.expect("broker");
        let addr = broker.local_addr();
        let connect = vmodem_testkit::broker_conformance::connect_packet(
            vmodem_mqtt::Protocol::V311,
            "stays",
        );
        let mut client = vmodem_testkit::broker_conformance::RawClient::connected(addr, connect)
            .await
            .expect("connected");
        drop(broker);
        assert_eq!(
            client.recv(Duration::from_secs(5)).await,
            Err(vmodem_testkit::broker_conformance::RecvError::Closed),
            "the connection is closed"
        );
        // The accept loop sees the stop on its own task, soon after.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "something still listens on {addr} 5 s after the drop"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// A client that opens the TLS port and never handshakes holds up nobody:
/// the next TLS client connects and gets its CONNACK (rumqttd, the broker
/// before, ran handshakes in its accept loop, one at a time, unbounded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_tls_handshake_holds_up_no_other_client() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use vmodem_tokio::BrokerCerts;

    within(LIMIT, async {
        let dir = vmodem_testkit::ScratchDir::new("broker-tls-stall");
        let certs = BrokerCerts::load_or_create(&dir.join("certs")).expect("certificates");
        let broker = EmbeddedBroker::start_with_tls(loopback(), Some((loopback(), &certs)))
            .await
            .expect("broker");
        let tls_addr = broker.tls_addr().expect("a TLS listener");
        let _staller = tokio::net::TcpStream::connect(tls_addr).await.expect("TCP");

        let mut roots = rustls::RootCertStore::empty();
        let ca = std::fs::read(certs.ca_path()).expect("CA");
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&ca) {
            roots.add(cert.expect("PEM")).expect("root");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(tls_addr).await.expect("TCP");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let mut tls = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .expect("the handshake is not held up")
        .expect("a verified handshake");
        tls.write_all(b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01t")
            .await
            .expect("CONNECT");
        let mut connack = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), tls.read_exact(&mut connack))
            .await
            .expect("CONNACK in time")
            .expect("CONNACK");
        assert_eq!(connack, [0x20, 0x02, 0x00, 0x00]);
    })
    .await;
}
