//! The first example session of the application note's chapter 5, byte for
//! byte (echo on, as in the note), against a fake broker in the test.

use vmodem_mqtt::{Connack, ConnectReturnCode, Packet, Protocol, Publish, QoS, Suback, SubackCode};

use super::harness::{show, Harness};
use crate::{LinkId, NetAction, NetEvent};

#[test]
fn chapter_5_first_example_session() {
    let mut h = Harness::new();
    h.expect(
        b"AT+QMTCFG=\"recv/mode\",0,0,1\r",
        b"AT+QMTCFG=\"recv/mode\",0,0,1\r\r\nOK\r\n",
    );
    h.expect(
        b"AT+QMTCFG=\"aliauth\",0,\"oyjtmPl5a5j\",\"MQTT_TEST\",\"wN9Y6pZSIIy7Exa5qVzcmigEGO4kAazZ\"\r",
        b"AT+QMTCFG=\"aliauth\",0,\"oyjtmPl5a5j\",\"MQTT_TEST\",\"wN9Y6pZSIIy7Exa5qVzcmigEGO4kAazZ\"\r\r\nOK\r\n",
    );
    h.expect(
        b"AT+QMTOPEN=?\r",
        b"AT+QMTOPEN=?\r\r\n+QMTOPEN: (0-5),\"hostname\",(1-65536)\r\nOK\r\n",
    );
    h.expect(
        b"AT+QMTOPEN=0,\"iot-as-mqtt.cn-shanghai.aliyuncs.com\",1883\r",
        b"AT+QMTOPEN=0,\"iot-as-mqtt.cn-shanghai.aliyuncs.com\",1883\r\r\nOK\r\n",
    );
    let link = LinkId::new(0, 1);
    assert_eq!(
        h.actions(),
        vec![NetAction::Connect {
            link,
            host: "iot-as-mqtt.cn-shanghai.aliyuncs.com".into(),
            port: 1883,
            tls: None
        }]
    );
    assert_eq!(
        show(&h.net(NetEvent::Connected { link })),
        show(b"\r\n+QMTOPEN: 0,0\r\n")
    );
    h.expect(
        b"AT+QMTOPEN?\r",
        b"AT+QMTOPEN?\r\r\n+QMTOPEN: 0,\"iot-as-mqtt.cn-shanghai.aliyuncs.com\",1883\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QMTCONN=?\r",
        b"AT+QMTCONN=?\r\r\n+QMTCONN: (0-5),\"clientid\",\"username\",\"password\"\r\nOK\r\n",
    );
    h.expect(
        b"AT+QMTCONN=0,\"clientExample\"\r",
        b"AT+QMTCONN=0,\"clientExample\"\r\r\nOK\r\n",
    );
    let sent = h.sent(Protocol::V311);
    let [Packet::Connect(connect)] = &sent[..] else {
        panic!("expected one CONNECT, got {sent:?}")
    };
    // aliauth: the signed client ID, user name and password replace the plain ones.
    assert_eq!(
        connect.client_id,
        "clientExample|securemode=3,signmethod=hmacsha1,timestamp=1735689600000|"
    );
    assert_eq!(connect.username.as_deref(), Some("MQTT_TEST&oyjtmPl5a5j"));
    assert_eq!(connect.password.as_ref().map(Vec::len), Some(40));
    assert!(connect.clean_session);
    assert_eq!(connect.keep_alive, 120);
    let out = h.broker_sends(
        link,
        &Packet::Connack(Connack {
            session_present: false,
            code: ConnectReturnCode::Accepted,
        }),
    );
    assert_eq!(show(&out), show(b"\r\n+QMTCONN: 0,0,0\r\n"));

    h.expect(
        b"AT+QMTSUB=?\r",
        b"AT+QMTSUB=?\r\r\n+QMTSUB: (0-5), <msgid>,list of [\"topic\",qos]\r\nOK\r\n",
    );
    h.expect(
        b"AT+QMTSUB=0,1,\"topic/example\",2\r",
        b"AT+QMTSUB=0,1,\"topic/example\",2\r\r\nOK\r\n",
    );
    h.sent(Protocol::V311);
    let suback = |codes| {
        Packet::Suback(Suback {
            pkid: 1,
            return_codes: codes,
        })
    };
    assert_eq!(
        show(&h.broker_sends(link, &suback(vec![SubackCode::Granted(QoS::ExactlyOnce)]))),
        show(b"\r\n+QMTSUB: 0,1,0,2\r\n")
    );
    h.expect(
        b"AT+QMTSUB=0,1,\"topic/pub\",0\r",
        b"AT+QMTSUB=0,1,\"topic/pub\",0\r\r\nOK\r\n",
    );
    h.sent(Protocol::V311);
    assert_eq!(
        show(&h.broker_sends(link, &suback(vec![SubackCode::Granted(QoS::AtMostOnce)]))),
        show(b"\r\n+QMTSUB: 0,1,0,0\r\n")
    );
    let publish = |topic: &str, payload: &'static [u8]| {
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: topic.into(),
            pkid: 0,
            payload: payload.into(),
        })
    };
    assert_eq!(
        show(&h.broker_sends(
            link,
            &publish("topic/example", b"This is the payload related to topic")
        )),
        show(
            b"\r\n+QMTRECV: 0,0,\"topic/example\",36,\"This is the payload related to topic\"\r\n"
        )
    );
    h.expect(
        b"AT+QMTUNS=0,2,\"topic/example\"\r",
        b"AT+QMTUNS=0,2,\"topic/example\"\r\r\nOK\r\n",
    );
    assert_eq!(
        h.sent(Protocol::V311),
        vec![Packet::Unsubscribe(vmodem_mqtt::Unsubscribe {
            pkid: 2,
            filters: vec!["topic/example".into()]
        })]
    );
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Unsuback { pkid: 2 })),
        show(b"\r\n+QMTUNS: 0,2,0\r\n")
    );
    h.expect(
        b"AT+QMTPUBEX=?\r",
        b"AT+QMTPUBEX=?\r\r\n+QMTPUBEX: (0-5),<msgid>,(0-2),(0,1),\"topic\",\"length\"\r\nOK\r\n",
    );
    h.expect(
        b"AT+QMTPUBEX=0,0,0,0,\"topic/pub\",30\r",
        b"AT+QMTPUBEX=0,0,0,0,\"topic/pub\",30\r\r\n> ",
    );
    h.expect(
        b"This is test data, hello MQTT.",
        b"This is test data, hello MQTT.\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n",
    );
    assert_eq!(
        h.sent(Protocol::V311),
        vec![publish("topic/pub", b"This is test data, hello MQTT.")]
    );
    assert_eq!(
        show(&h.broker_sends(
            link,
            &publish("topic/pub", b"This is test data, hello MQTT.")
        )),
        show(b"\r\n+QMTRECV: 0,0,\"topic/pub\",30,\"This is test data, hello MQTT.\"\r\n")
    );
    h.expect(b"AT+QMTDISC=0\r", b"AT+QMTDISC=0\r\r\nOK\r\n");
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Disconnect]);
    // The broker closes after DISCONNECT; the host then also sees +QMTSTAT: 0,5
    // (module-behaviour.md), which the note's listing leaves out.
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: crate::CloseCause::PeerClosed
        })),
        show(b"\r\n+QMTDISC: 0,0\r\n\r\n+QMTSTAT: 0,5\r\n")
    );
    h.expect(b"AT+QMTCONN?\r", b"AT+QMTCONN?\r\r\nOK\r\n");
}
