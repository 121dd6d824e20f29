//! The file system and its commands: `AT+QFUPL`, `AT+QFDWL`, `AT+QFLST`,
//! `AT+QFDEL`, `AT+QFLDS`, the two storages across restarts, and what the
//! driver is told about UFS.

use core::time::Duration;

use super::harness::{show, Harness, BOOT};
use crate::{Config, ModemEvent};

fn quiet() -> Harness {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

fn quiet_with(config: Config) -> Harness {
    let mut h = Harness::with_config(config);
    assert_eq!(show(&h.output()), show(BOOT));
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

/// The `+QFUPL` checksum, computed the plain way: XOR of big-endian 16-bit
/// words, a lone last byte taken as the high half of a word.
pub(super) fn xor16(data: &[u8]) -> u16 {
    let mut sum: u16 = 0;
    let mut i = 0;
    while i < data.len() {
        let high = data[i] as u16;
        let low = if i + 1 < data.len() {
            data[i + 1] as u16
        } else {
            0
        };
        sum ^= (high << 8) | low;
        i += 2;
    }
    sum
}

/// Uploads `data` as `name` (echo off) and checks the exact answer.
pub(super) fn upload(h: &mut Harness, name: &str, data: &[u8]) {
    h.expect(
        format!("AT+QFUPL=\"{name}\",{},60\r", data.len()).as_bytes(),
        b"\r\nCONNECT\r\n",
    );
    let want = format!("\r\n+QFUPL: {},{:x}\r\n\r\nOK\r\n", data.len(), xor16(data));
    h.expect(data, want.as_bytes());
}

/// Amazon Root CA 1 as AWS publishes it (1188 bytes): a BG96 answered its
/// upload with `+QFUPL: 1188,2d13` in a public AWS IoT walkthrough.
const AMAZON_ROOT_CA_1: &str = "-----BEGIN CERTIFICATE-----
MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF
ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6
b24gUm9vdCBDQSAxMB4XDTE1MDUyNjAwMDAwMFoXDTM4MDExNzAwMDAwMFowOTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJv
b3QgQ0EgMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALJ4gHHKeNXj
ca9HgFB0fW7Y14h29Jlo91ghYPl0hAEvrAIthtOgQ3pOsqTQNroBvo3bSMgHFzZM
9O6II8c+6zf1tRn4SWiw3te5djgdYZ6k/oI2peVKVuRF4fn9tBb6dNqcmzU5L/qw
IFAGbHrQgLKm+a/sRxmPUDgH3KKHOVj4utWp+UhnMJbulHheb4mjUcAwhmahRWa6
VOujw5H5SNz/0egwLX0tdHA114gk957EWW67c4cX8jJGKLhD+rcdqsq08p8kDi1L
93FcXmn/6pUCyziKrlA4b9v7LWIbxcceVOF34GfID5yHI9Y/QCB/IIDEgEw+OyQm
jgSubJrIqg0CAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMC
AYYwHQYDVR0OBBYEFIQYzIU07LwMlJQuCFmcx7IQTgoIMA0GCSqGSIb3DQEBCwUA
A4IBAQCY8jdaQZChGsV2USggNiMOruYou6r4lK5IpDB/G/wkjUu0yKGX9rbxenDI
U5PMCCjjmCXPI6T53iHTfIUJrU6adTrCC2qJeHZERxhlbI1Bjjt/msv0tadQ1wUs
N+gDS63pYaACbvXy8MWy7Vu33PqUXHeeE6V/Uq2V8viTO96LXFvKWlJbYK8U90vv
o/ufQJVtMVT8QtPHRh8jrdkPSHCa2XV4cdFyQzR1bldZwgJcJmApzyMZFo6IQ6XU
5MsI+yMRQ+hDKXJioaldXgjUkK642M4UwtBV8ob2xJNDd2ZhwLnoQdeXeGADbkpy
rqXRfboQnoZsG4q5WTP468SQvvG5
-----END CERTIFICATE-----
";

#[test]
fn the_checksum_is_a_xor_of_big_endian_words() {
    // By hand: 0x4142 ^ 0x4344 ^ 0x4500 = 0x4706.
    assert_eq!(xor16(b"ABCDE"), 0x4706);
    // A real module's answer for a real file.
    assert_eq!(AMAZON_ROOT_CA_1.len(), 1188);
    assert_eq!(xor16(AMAZON_ROOT_CA_1.as_bytes()), 0x2d13);
    let mut h = quiet();
    h.expect(
        b"AT+QFUPL=\"AmazonRootCA1.pem\",1188,100\r",
        b"\r\nCONNECT\r\n",
    );
    h.expect(
        AMAZON_ROOT_CA_1.as_bytes(),
        b"\r\n+QFUPL: 1188,2d13\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QFUPL=\"RAM:abcde\",5\r", b"\r\nCONNECT\r\n");
    h.expect(b"ABCDE", b"\r\n+QFUPL: 5,4706\r\n\r\nOK\r\n");
    // Lowercase hex without leading zeros (real modules print `372`, `d35`).
    h.expect(b"AT+QFUPL=\"RAM:small\",3\r", b"\r\nCONNECT\r\n");
    h.expect(b"\x00\x01\x00", b"\r\n+QFUPL: 3,1\r\n\r\nOK\r\n");
    h.expect(b"AT+QFUPL=\"RAM:zero\",2\r", b"\r\nCONNECT\r\n");
    h.expect(b"\x00\x00", b"\r\n+QFUPL: 2,0\r\n\r\nOK\r\n");
}

#[test]
fn upload_list_download_delete_with_echo_on() {
    let mut h = Harness::new();
    // The command is echoed; the data is not.
    h.expect(
        b"AT+QFUPL=\"RAM:test.txt\",10,60\r",
        b"AT+QFUPL=\"RAM:test.txt\",10,60\r\r\nCONNECT\r\n",
    );
    h.expect(b"0123", b"");
    h.expect(b"456789", b"\r\n+QFUPL: 10,3839\r\n\r\nOK\r\n");
    h.expect(
        b"AT+QFLST=\"RAM:*\"\r",
        b"AT+QFLST=\"RAM:*\"\r\r\n+QFLST: \"RAM:test.txt\",10\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QFDWL=\"RAM:test.txt\"\r",
        b"AT+QFDWL=\"RAM:test.txt\"\r\r\nCONNECT\r\n0123456789\r\n+QFDWL: 10,3839\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QFDEL=\"RAM:test.txt\"\r",
        b"AT+QFDEL=\"RAM:test.txt\"\r\r\nOK\r\n",
    );
    h.expect(b"AT+QFLST=\"RAM:*\"\r", b"AT+QFLST=\"RAM:*\"\r\r\nOK\r\n");
    h.expect(
        b"AT+QFDWL=\"RAM:test.txt\"\r",
        b"AT+QFDWL=\"RAM:test.txt\"\r\r\n+CME ERROR: 405\r\n",
    );
}

#[test]
fn binary_data_with_line_endings_and_escapes_is_kept_whole() {
    let mut h = quiet();
    let data: Vec<u8> = (0..=255u8)
        .chain([b'\r', b'\n', 0x1a, 0x1b, b'+'])
        .collect();
    upload(&mut h, "RAM:bin", &data);
    let mut want = b"\r\nCONNECT\r\n".to_vec();
    want.extend_from_slice(&data);
    want.extend_from_slice(format!("\r\n+QFDWL: 261,{:x}\r\n\r\nOK\r\n", xor16(&data)).as_bytes());
    h.expect(b"AT+QFDWL=\"RAM:bin\"\r", &want);
}

#[test]
fn test_forms() {
    let mut h = Harness::new();
    h.expect(
        b"AT+QFUPL=?\r",
        b"AT+QFUPL=?\r\r\n+QFUPL: <filename>[,(1-<freesize>)[,(1-65535)[,(0,1)]]]\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QFDWL=?\r",
        b"AT+QFDWL=?\r\r\n+QFDWL: <filename>\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QFDEL=?\r",
        b"AT+QFDEL=?\r\r\n+QFDEL: <filename>\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QFLST=?\r", b"AT+QFLST=?\r\r\nOK\r\n");
    h.expect(b"AT+QFLDS=?\r", b"AT+QFLDS=?\r\r\nOK\r\n");
    // Forms the commands do not have.
    for cmd in [
        &b"AT+QFUPL\r"[..],
        b"AT+QFUPL?\r",
        b"AT+QFDWL\r",
        b"AT+QFDWL?\r",
        b"AT+QFDEL\r",
        b"AT+QFDEL?\r",
        b"AT+QFLST?\r",
        b"AT+QFLDS?\r",
    ] {
        let mut want = cmd.to_vec();
        want.extend_from_slice(b"\r\nERROR\r\n");
        h.expect(cmd, &want);
    }
}

#[test]
fn qflst_lists_ufs_by_default_with_prefixes_and_patterns() {
    let mut h = quiet();
    upload(&mut h, "cacert.pem", b"ca");
    upload(&mut h, "UFS:client.pem", b"cc");
    upload(&mut h, "user_key.key", b"key");
    upload(&mut h, "RAM:cacert.pem", b"ram");
    let all_ufs = b"\r\n+QFLST: \"UFS:cacert.pem\",2\r\n+QFLST: \"UFS:client.pem\",2\r\n+QFLST: \"UFS:user_key.key\",3\r\n\r\nOK\r\n";
    h.expect(b"AT+QFLST\r", all_ufs);
    h.expect(b"AT+QFLST=\"*\"\r", all_ufs);
    h.expect(b"AT+QFLST=\"UFS:*\"\r", all_ufs);
    h.expect(
        b"AT+QFLST=\"*.pem\"\r",
        b"\r\n+QFLST: \"UFS:cacert.pem\",2\r\n+QFLST: \"UFS:client.pem\",2\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QFLST=\"user_key.key\"\r",
        b"\r\n+QFLST: \"UFS:user_key.key\",3\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QFLST=\"ram:*\"\r",
        b"\r\n+QFLST: \"RAM:cacert.pem\",3\r\n\r\nOK\r\n",
    );
    // Names are case-sensitive; a name that matches nothing lists nothing.
    h.expect(b"AT+QFLST=\"CACERT.PEM\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFLST=\"RAM:none*\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFLST=1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QFLST=\"*\",1\r", b"\r\nERROR\r\n");
}

#[test]
fn qflds_reports_free_and_total_or_ufs_usage() {
    let mut h = quiet_with(Config {
        ufs_capacity: 1000,
        ram_capacity: 500,
        ..Config::default()
    });
    h.expect(b"AT+QFLDS\r", b"\r\n+QFLDS: 0,0\r\n\r\nOK\r\n");
    upload(&mut h, "a", &[1; 100]);
    upload(&mut h, "b", &[2; 23]);
    upload(&mut h, "RAM:c", &[3; 50]);
    h.expect(b"AT+QFLDS\r", b"\r\n+QFLDS: 123,2\r\n\r\nOK\r\n");
    h.expect(b"AT+QFLDS=\"UFS\"\r", b"\r\n+QFLDS: 877,1000\r\n\r\nOK\r\n");
    h.expect(b"AT+QFLDS=\"ram\"\r", b"\r\n+QFLDS: 450,500\r\n\r\nOK\r\n");
    h.expect(b"AT+QFLDS=\"SD\"\r", b"\r\n+CME ERROR: 400\r\n");
    h.expect(b"AT+QFLDS=UFS\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QFLDS=\"UFS\",1\r", b"\r\nERROR\r\n");
}

#[test]
fn factory_capacities_are_near_an_ec25s() {
    let mut h = quiet();
    h.expect(
        b"AT+QFLDS=\"UFS\"\r",
        b"\r\n+QFLDS: 12582912,12582912\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QFLDS=\"RAM\"\r",
        b"\r\n+QFLDS: 2097152,2097152\r\n\r\nOK\r\n",
    );
}

#[test]
fn an_upload_times_out_after_its_idle_timeout_and_keeps_nothing() {
    let mut h = quiet();
    h.expect(b"AT+QFUPL=\"RAM:slow\",10,3\r", b"\r\nCONNECT\r\n");
    h.expect(b"abcd", b"");
    assert_eq!(show(&h.advance(Duration::from_millis(2_999))), "");
    // Each byte restarts the wait.
    h.expect(b"e", b"");
    assert_eq!(show(&h.advance(Duration::from_millis(2_999))), "");
    assert_eq!(
        show(&h.advance(Duration::from_millis(1))),
        show(b"\r\n+CME ERROR: 421\r\n")
    );
    h.expect(b"AT+QFLST=\"RAM:*\"\r", b"\r\nOK\r\n");
    // The default wait is 5 s; the default size 10240 bytes.
    h.expect(b"AT+QFUPL=\"RAM:slow\"\r", b"\r\nCONNECT\r\n");
    h.expect(&[b'x'; 10_000], b"");
    assert_eq!(show(&h.advance(Duration::from_millis(4_999))), "");
    assert_eq!(
        show(&h.advance(Duration::from_millis(1))),
        show(b"\r\n+CME ERROR: 421\r\n")
    );
    h.expect(b"AT+QFUPL=\"RAM:slow\"\r", b"\r\nCONNECT\r\n");
    let want = format!(
        "\r\n+QFUPL: 10240,{:x}\r\n\r\nOK\r\n",
        xor16(&[b'y'; 10240])
    );
    h.expect(&[b'y'; 10240], want.as_bytes());
    h.expect(b"AT\r", b"\r\nOK\r\n");
}

#[test]
fn bytes_beyond_the_announced_size_are_the_next_command_line() {
    let mut h = quiet();
    // A command right behind the data runs.
    h.expect(b"AT+QFUPL=\"RAM:a\",4\r", b"\r\nCONNECT\r\n");
    h.expect(
        b"abcdAT+QFLST=\"RAM:*\"\r",
        b"\r\n+QFUPL: 4,206\r\n\r\nOK\r\n\r\n+QFLST: \"RAM:a\",4\r\n\r\nOK\r\n",
    );
    // Junk without a prefix is ignored, junk with one answers ERROR; the
    // trailing CR LF a host often adds is swallowed.
    h.expect(b"AT+QFUPL=\"RAM:b\",4\r", b"\r\nCONNECT\r\n");
    h.expect(b"wxyz\r\nrubbish\r", b"\r\n+QFUPL: 4,e02\r\n\r\nOK\r\n");
    h.expect(b"AT+QFUPL=\"RAM:c\",2\r", b"\r\nCONNECT\r\n");
    h.expect(
        b"12ATJUNK\r",
        b"\r\n+QFUPL: 2,3132\r\n\r\nOK\r\n\r\nERROR\r\n",
    );
    h.expect(
        b"AT+QFDWL=\"RAM:b\"\r",
        b"\r\nCONNECT\r\nwxyz\r\n+QFDWL: 4,e02\r\n\r\nOK\r\n",
    );
    h.expect(b"AT\r", b"\r\nOK\r\n");
}

#[test]
fn commands_after_qfupl_on_its_line_run_after_the_data() {
    let mut h = quiet();
    h.expect(
        b"AT+QFUPL=\"RAM:x\",2;+QFLST=\"RAM:*\"\r",
        b"\r\nCONNECT\r\n",
    );
    h.expect(
        b"hi",
        b"\r\n+QFUPL: 2,6869\r\n\r\n+QFLST: \"RAM:x\",2\r\n\r\nOK\r\n",
    );
}

#[test]
fn connect_follows_the_result_code_format() {
    let mut h = quiet();
    h.expect(b"ATV0\r", b"0\r");
    h.expect(b"AT+QFUPL=\"RAM:v\",1\r", b"1\r");
    h.expect(b"x", b"+QFUPL: 1,7800\r\n0\r");
    h.expect(b"ATV1\r", b"\r\nOK\r\n");
}

#[test]
fn invalid_names_answer_406() {
    let mut h = quiet();
    let eighty = format!("RAM:{}", "n".repeat(76));
    let eighty_one = format!("RAM:{}", "n".repeat(77));
    for name in [
        "",
        "RAM:",
        "UFS:",
        "a/b",
        "a\\b",
        "..",
        "a*",
        "what?",
        "a<b>",
        "pipe|",
        "UFS:RAM:x",
        eighty_one.as_str(),
    ] {
        h.expect(
            format!("AT+QFUPL=\"{name}\",1\r").as_bytes(),
            b"\r\n+CME ERROR: 406\r\n",
        );
    }
    h.expect(
        b"AT+QFUPL=\"RAM:caf\xc3\xa9\",1\r",
        b"\r\n+CME ERROR: 406\r\n",
    );
    h.expect(b"AT+QFDWL=\"a*\"\r", b"\r\n+CME ERROR: 406\r\n");
    h.expect(b"AT+QFLST=\"a?\"\r", b"\r\n+CME ERROR: 406\r\n");
    h.expect(b"AT+QFDEL=\"x|y\"\r", b"\r\n+CME ERROR: 406\r\n");
    // Not a string at all is a syntax matter.
    h.expect(b"AT+QFUPL=abc,1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QFDWL=1\r", b"\r\nERROR\r\n");
    // Eighty bytes, prefix included, is still a name.
    h.expect(
        format!("AT+QFUPL=\"{eighty}\",1\r").as_bytes(),
        b"\r\nCONNECT\r\n",
    );
    h.expect(b"!", b"\r\n+QFUPL: 1,2100\r\n\r\nOK\r\n");
    // Verbose CMEE gives the manual's text.
    h.expect(b"AT+CMEE=2\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QFUPL=\"a/b\",1\r",
        b"\r\n+CME ERROR: invalid file name\r\n",
    );
}

#[test]
fn upload_parameters_out_of_range() {
    let mut h = quiet();
    for (cmd, want) in [
        (
            &b"AT+QFUPL=\"RAM:p\",0\r"[..],
            &b"\r\n+CME ERROR: 425\r\n"[..],
        ),
        (b"AT+QFUPL=\"RAM:p\",-5\r", b"\r\n+CME ERROR: 425\r\n"),
        (b"AT+QFUPL=\"RAM:p\",5,0\r", b"\r\n+CME ERROR: 425\r\n"),
        (b"AT+QFUPL=\"RAM:p\",5,65536\r", b"\r\n+CME ERROR: 425\r\n"),
        (b"AT+QFUPL=\"RAM:p\",5,5,2\r", b"\r\n+CME ERROR: 425\r\n"),
        // ACK mode is not implemented.
        (b"AT+QFUPL=\"RAM:p\",5,5,1\r", b"\r\n+CME ERROR: 4\r\n"),
        (b"AT+QFUPL=\"RAM:p\",five\r", b"\r\nERROR\r\n"),
        (b"AT+QFUPL=\"RAM:p\",\"5\"\r", b"\r\nERROR\r\n"),
        (b"AT+QFUPL=\"RAM:p\",5,5,0,0\r", b"\r\nERROR\r\n"),
        (
            b"AT+QFUPL=\"RAM:p\",99999999999999999999\r",
            b"\r\nERROR\r\n",
        ),
    ] {
        h.expect(cmd, want);
    }
    // Omitted parameters take their defaults.
    h.expect(b"AT+QFUPL=\"RAM:p\",,,0\r", b"\r\nCONNECT\r\n");
    h.expect(&[0; 10240], b"\r\n+QFUPL: 10240,0\r\n\r\nOK\r\n");
    h.expect(b"AT+QFUPL=\"RAM:q\",1,65535,0\r", b"\r\nCONNECT\r\n");
    h.expect(b"q", b"\r\n+QFUPL: 1,7100\r\n\r\nOK\r\n");
}

#[test]
fn an_existing_file_is_not_overwritten() {
    let mut h = quiet();
    upload(&mut h, "RAM:once", b"first");
    h.expect(b"AT+QFUPL=\"RAM:once\",6\r", b"\r\n+CME ERROR: 407\r\n");
    // The same name in the other storage is another file.
    upload(&mut h, "once", b"second");
    h.expect(
        b"AT+QFDWL=\"RAM:once\"\r",
        b"\r\nCONNECT\r\nfirst\r\n+QFDWL: 5,601a\r\n\r\nOK\r\n",
    );
    assert_eq!(xor16(b"first"), 0x601a);
}

#[test]
fn full_storages_refuse_uploads() {
    let mut h = quiet_with(Config {
        ufs_capacity: 8,
        ram_capacity: 10,
        ..Config::default()
    });
    h.expect(b"AT+QFUPL=\"RAM:big\",11\r", b"\r\n+CME ERROR: 420\r\n");
    upload(&mut h, "RAM:fits", &[7; 10]);
    h.expect(b"AT+QFUPL=\"RAM:more\",1\r", b"\r\n+CME ERROR: 403\r\n");
    h.expect(b"AT+QFLDS=\"RAM\"\r", b"\r\n+QFLDS: 0,10\r\n\r\nOK\r\n");
    upload(&mut h, "a", &[1; 5]);
    h.expect(b"AT+QFUPL=\"b\",4\r", b"\r\n+CME ERROR: 420\r\n");
    upload(&mut h, "b", &[2; 3]);
    h.expect(b"AT+QFUPL=\"c\",1\r", b"\r\n+CME ERROR: 403\r\n");
    // Deleting makes room again.
    h.expect(b"AT+QFDEL=\"a\"\r", b"\r\nOK\r\n");
    upload(&mut h, "c", &[3; 5]);
}

#[test]
fn qfdel_deletes_files_patterns_and_refuses_missing_names() {
    let mut h = quiet();
    upload(&mut h, "a.pem", b"1");
    upload(&mut h, "b.pem", b"2");
    upload(&mut h, "c.key", b"3");
    upload(&mut h, "RAM:a.pem", b"4");
    upload(&mut h, "RAM:b.pem", b"5");
    h.expect(b"AT+QFDEL=\"nope\"\r", b"\r\n+CME ERROR: 418\r\n");
    h.expect(b"AT+QFDEL=\"RAM:c.key\"\r", b"\r\n+CME ERROR: 418\r\n");
    h.expect(b"AT+QFDEL=\"*.pem\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFLST\r", b"\r\n+QFLST: \"UFS:c.key\",1\r\n\r\nOK\r\n");
    h.expect(b"AT+QFDEL=\"RAM:a.pem\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFDEL=\"RAM:*\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFLST=\"RAM:*\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFDEL=\"*\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFLST\r", b"\r\nOK\r\n");
    // Deleting everything from an empty storage is fine.
    h.expect(b"AT+QFDEL=\"*\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFDEL=\"*\",1\r", b"\r\nERROR\r\n");
}

#[test]
fn ram_is_lost_at_a_restart_and_ufs_is_kept() {
    let mut h = quiet();
    upload(&mut h, "RAM:volatile", b"ram");
    upload(&mut h, "UFS:flash", b"ufs");
    let mut want = b"\r\nOK\r\n".to_vec();
    want.extend_from_slice(BOOT);
    h.expect(b"AT+CFUN=1,1\r", &want);
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(b"AT+QFLST=\"RAM:*\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFLST\r", b"\r\n+QFLST: \"UFS:flash\",3\r\n\r\nOK\r\n");
    // The same across a power-down and the power key.
    upload(&mut h, "RAM:volatile", b"again");
    h.expect(b"AT+QPOWD\r", b"\r\nOK\r\n\r\nPOWERED DOWN\r\n");
    h.modem.power_on(h.now);
    assert_eq!(show(&h.output()), show(BOOT));
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(b"AT+QFLST=\"RAM:*\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QFDWL=\"flash\"\r",
        b"\r\nCONNECT\r\nufs\r\n+QFDWL: 3,666\r\n\r\nOK\r\n",
    );
    assert_eq!(xor16(b"ufs"), 0x666);
}

#[test]
fn ufs_starts_with_the_files_the_config_gives() {
    let mut h = quiet_with(Config {
        ufs_files: vec![
            (
                "cacert.pem".into(),
                b"-----BEGIN CERTIFICATE-----\n".to_vec(),
            ),
            ("UFS:key.pem".into(), b"k".to_vec()),
            ("RAM:not-here".into(), b"r".to_vec()),
            ("bad/name".into(), b"b".to_vec()),
        ],
        ..Config::default()
    });
    h.expect(
        b"AT+QFLST\r",
        b"\r\n+QFLST: \"UFS:cacert.pem\",28\r\n+QFLST: \"UFS:key.pem\",1\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QFLST=\"RAM:*\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFLDS\r", b"\r\n+QFLDS: 29,2\r\n\r\nOK\r\n");
    // The files moved into the module; the config keeps no second copy.
    assert!(h.modem.config().ufs_files.is_empty());
    assert_eq!(h.modem.ufs_file("key.pem"), Some(&b"k"[..]));
    assert_eq!(h.modem.ufs_file("UFS:key.pem"), Some(&b"k"[..]));
    assert_eq!(h.modem.ufs_file("not-here"), None);
    // Loading them is no news to the driver.
    assert_eq!(h.events, vec![]);
}

#[test]
fn the_driver_hears_of_every_ufs_change_and_of_no_ram_one() {
    let mut h = quiet();
    upload(&mut h, "b.pem", b"bee");
    upload(&mut h, "UFS:a.pem", b"ay");
    upload(&mut h, "RAM:r.pem", b"ram");
    assert_eq!(
        h.events,
        vec![
            ModemEvent::UfsFileWritten {
                name: "b.pem".into()
            },
            ModemEvent::UfsFileWritten {
                name: "a.pem".into()
            },
        ]
    );
    assert_eq!(h.modem.ufs_file("b.pem"), Some(&b"bee"[..]));
    assert_eq!(h.modem.ufs_file("r.pem"), None);
    h.events.clear();
    // Refused uploads and deletes change nothing and say nothing.
    h.expect(b"AT+QFUPL=\"b.pem\",1\r", b"\r\n+CME ERROR: 407\r\n");
    h.expect(b"AT+QFUPL=\"slow\",2,1\r", b"\r\nCONNECT\r\n");
    h.advance(Duration::from_secs(1));
    h.expect(b"AT+QFDEL=\"none\"\r", b"\r\n+CME ERROR: 418\r\n");
    h.expect(b"AT+QFDEL=\"RAM:*\"\r", b"\r\nOK\r\n");
    assert_eq!(h.events, vec![]);
    h.expect(b"AT+QFDEL=\"*\"\r", b"\r\nOK\r\n");
    assert_eq!(
        h.events,
        vec![
            ModemEvent::UfsFileDeleted {
                name: "a.pem".into()
            },
            ModemEvent::UfsFileDeleted {
                name: "b.pem".into()
            },
        ]
    );
    assert_eq!(h.modem.ufs_file("b.pem"), None);
}

#[test]
fn qfdwl_of_a_missing_file_and_its_errors() {
    let mut h = quiet();
    h.expect(b"AT+QFDWL=\"nothing\"\r", b"\r\n+CME ERROR: 405\r\n");
    h.expect(b"AT+QFDWL=\"RAM:nothing\"\r", b"\r\n+CME ERROR: 405\r\n");
    h.expect(b"AT+QFDWL=\"a\",1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CMEE=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+QFDWL=\"nothing\"\r", b"\r\nERROR\r\n");
}
