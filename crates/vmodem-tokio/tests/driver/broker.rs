//! The embedded broker, spoken to in raw MQTT 3.1.1 bytes as any outside client would.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vmodem_tokio::{BrokerError, EmbeddedBroker};

use crate::support::PATIENCE;

/// CONNECT, MQTT 3.1.1, clean session, keep-alive 60 s, client id `abc`.
const CONNECT_ABC: &[u8] = b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03abc";
/// Same, client id `xyz`.
const CONNECT_XYZ: &[u8] = b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03xyz";
const CONNACK_ACCEPTED: &[u8] = b"\x20\x02\x00\x00";

async fn exchange(client: &mut TcpStream, send: &[u8], expect: &[u8]) {
    client.write_all(send).await.unwrap();
    let mut got = vec![0u8; expect.len()];
    tokio::time::timeout(PATIENCE, client.read_exact(&mut got))
        .await
        .expect("the broker answers in time")
        .unwrap();
    assert_eq!(got, expect);
}

#[tokio::test]
async fn outside_mqtt_3_1_1_clients_connect_subscribe_and_receive() {
    let broker = EmbeddedBroker::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = broker.local_addr();
    assert_ne!(addr.port(), 0, "the real port is exposed");

    let mut subscriber = TcpStream::connect(addr).await.unwrap();
    exchange(&mut subscriber, CONNECT_ABC, CONNACK_ACCEPTED).await;
    // SUBSCRIBE pkid 1 to "t" at QoS 0 → SUBACK pkid 1, granted QoS 0.
    exchange(
        &mut subscriber,
        b"\x82\x06\x00\x01\x00\x01t\x00",
        b"\x90\x03\x00\x01\x00",
    )
    .await;

    let mut publisher = TcpStream::connect(addr).await.unwrap();
    exchange(&mut publisher, CONNECT_XYZ, CONNACK_ACCEPTED).await;
    // PUBLISH QoS 0 to "t", payload "hi"; the subscriber gets the same packet.
    let publish = b"\x30\x05\x00\x01thi";
    publisher.write_all(publish).await.unwrap();
    let mut got = [0u8; 7];
    tokio::time::timeout(PATIENCE, subscriber.read_exact(&mut got))
        .await
        .expect("the message is forwarded in time")
        .unwrap();
    assert_eq!(&got, publish);
}

#[tokio::test]
async fn a_busy_address_is_refused_before_starting() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = EmbeddedBroker::start(addr).await.unwrap_err();
    assert!(
        matches!(err, BrokerError::AddrInUse { addr: a } if a == addr),
        "{err}"
    );
    assert!(err.to_string().contains("another port"), "{err}");
}
