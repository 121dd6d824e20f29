//! The embedded broker, spoken to in raw MQTT 3.1.1 bytes as any outside
//! client would, and a module's MQTT reaching it through the network links.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vmodem_tokio::{BrokerError, EmbeddedBroker, ModuleOptions};

use crate::support::PATIENCE;
use crate::tcp::{expect, start};

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

#[tokio::test]
async fn a_module_publishes_through_its_links_to_an_outside_subscriber() {
    let broker = EmbeddedBroker::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut subscriber = TcpStream::connect(broker.local_addr()).await.unwrap();
    exchange(&mut subscriber, CONNECT_ABC, CONNACK_ACCEPTED).await;
    // SUBSCRIBE pkid 1 to "test/#" at QoS 0.
    let subscribe = b"\x82\x0b\x00\x01\x00\x06test/#\x00";
    exchange(&mut subscriber, subscribe, b"\x90\x03\x00\x01\x00").await;

    // The module finds the broker by a name only the --hosts override knows.
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (module, addr) = start(ModuleOptions {
        hosts: HashMap::from([("broker.invalid".to_owned(), loopback)]),
        ..ModuleOptions::default()
    })
    .await;
    let mut host = TcpStream::connect(addr).await.unwrap();
    expect(&mut host, crate::support::BOOT).await;
    let port = broker.local_addr().port();
    for (line, answer) in [
        ("ATE0\r".to_owned(), "ATE0\r\r\nOK\r\n"),
        (
            format!("AT+QMTOPEN=0,\"broker.invalid\",{port}\r"),
            "\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n",
        ),
        (
            "AT+QMTCONN=0,\"device-1\"\r".to_owned(),
            "\r\nOK\r\n\r\n+QMTCONN: 0,0,0\r\n",
        ),
        (
            "AT+QMTPUBEX=0,1,1,0,\"test/topic\",5\r".to_owned(),
            "\r\n> ",
        ),
        ("hello".to_owned(), "\r\nOK\r\n\r\n+QMTPUBEX: 0,1,0\r\n"),
    ] {
        host.write_all(line.as_bytes()).await.unwrap();
        expect(&mut host, answer.as_bytes()).await;
    }

    // Forwarded at the subscription's QoS 0: PUBLISH "test/topic" "hello".
    let mut got = [0u8; 19];
    tokio::time::timeout(PATIENCE, subscriber.read_exact(&mut got))
        .await
        .expect("the module's message reaches the subscriber in time")
        .unwrap();
    assert_eq!(&got, b"\x30\x11\x00\x0atest/topichello");
    module.shutdown().await.unwrap();
}

#[tokio::test]
async fn garbage_closes_only_the_connection_that_sent_it() {
    let broker = EmbeddedBroker::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = broker.local_addr();
    let mut healthy = TcpStream::connect(addr).await.unwrap();
    exchange(&mut healthy, CONNECT_ABC, CONNACK_ACCEPTED).await;
    for garbage in [
        &b"\xff\xff\xff\xff\xff"[..],    // reserved type, endless length
        b"\x10\x0f\x00\x04MQTT\x04\x02", // CONNECT cut short, then closed
        b"GET / HTTP/1.1\r\n\r\n",       // not MQTT at all
        b"\x10\x0f\x00\x04MQTT\x05\x02\x00\x3c\x00\x03bad", // MQTT 5
    ] {
        let mut bad = TcpStream::connect(addr).await.unwrap();
        bad.write_all(garbage).await.unwrap();
        if garbage.ends_with(b"\x04\x02") {
            bad.shutdown().await.unwrap();
        }
        let mut rest = Vec::new();
        tokio::time::timeout(PATIENCE, bad.read_to_end(&mut rest))
            .await
            .expect("the broker closes in time")
            .ok();
        // Only MQTT 5 gets an answer: CONNACK 1, unacceptable protocol version.
        let expected: &[u8] = if garbage.get(8) == Some(&5) {
            b"\x20\x02\x00\x01"
        } else {
            b""
        };
        assert_eq!(rest, expected, "answer to {garbage:02x?}");
    }
    // PINGREQ → PINGRESP: the other client never noticed.
    exchange(&mut healthy, b"\xc0\x00", b"\xd0\x00").await;
}
