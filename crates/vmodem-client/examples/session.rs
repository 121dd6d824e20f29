//! A whole MQTT session against a module on a TCP serial port or a serial device, printing each
//! step: `vmodem run --tcp 127.0.0.1:7000` in one terminal, then
//! `cargo run -p vmodem-client --example session -- 127.0.0.1:7000 [broker-host] [port]`;
//! or `vmodem run --link /tmp/ttyEC25` and `… -- /tmp/ttyEC25`, or a real module's
//! `/dev/ttyUSB2` with a broker it can reach.
//!
//! It doubles as a smoke test of the emulator's wire format against this client.

use std::time::Duration;

use vmodem_client::{Client, MqttVersion, RecvMode, RegKind, Urc};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7000".into());
    let host = args.next().unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = args.next().map_or(Ok(1883), |p| p.parse())?;

    // The documented timeouts hold against `vmodem run` even with `--timing realistic`; on a
    // loaded machine, use `Client::builder().timeout_scale(…)` instead.
    let modem = if addr.starts_with('/') {
        Client::open_serial(&addr, 115_200)?
    } else {
        Client::connect_tcp(&addr).await?
    };
    let watcher = {
        let mut urcs = modem.subscribe_urcs();
        tokio::spawn(async move {
            while let Ok(urc) = urcs.recv().await {
                println!("    urc: {urc}");
            }
        })
    };

    modem.at().await?;
    println!("identity: {:?}", modem.ati().await?);
    println!("sim: {:?}", modem.cpin().await?);
    println!("eps: {:?}", modem.registration(RegKind::Cereg).await?);
    println!("csq: {:?}", modem.csq().await?);

    modem.qmt_cfg_version(0, MqttVersion::V311).await?;
    modem.qmt_cfg_recv_mode(0, RecvMode::Urc, true).await?;
    println!(
        "keepalive: {:?}",
        modem.qmt_cfg_query(0, "keepalive").await?
    );
    println!("open: {}", modem.qmt_open(0, &host, port).await?);
    println!("open status: {:?}", modem.qmt_open_status().await?);
    println!(
        "conn: {:?}",
        modem
            .qmt_conn(0, "vmodem-client-session", None, None)
            .await?
    );
    println!("conn status: {:?}", modem.qmt_conn_status().await?);
    println!("sub: {:?}", modem.qmt_sub(0, 1, &[("session/#", 1)]).await?);
    let payload = b"{\"a\":\"b,c\"}\r\n\0end";
    println!(
        "pubex: {:?}",
        modem
            .qmt_pubex(0, 2, 1, false, "session/x", payload)
            .await?
    );
    let msg = modem
        .wait_for_urc(Duration::from_secs(5), |u| matches!(u, Urc::QmtRecv { .. }))
        .await?;
    if let Urc::QmtRecv { payload: got, .. } = &msg {
        println!("received back intact: {}", got.as_slice() == payload);
    }
    println!(
        "pub (Ctrl-Z): {:?}",
        modem
            .qmt_pub_ctrl_z(0, 0, 0, false, "session/y", b"plain")
            .await
    );
    println!("uns: {:?}", modem.qmt_uns(0, 3, &["session/#"]).await?);
    println!("disc: {}", modem.qmt_disc(0).await?);
    // After +QMTSTAT: 0,5 the client is already closed, so the module refuses this.
    println!("close: {:?}", modem.qmt_close(0).await);
    modem.ate(false).await?;
    println!("echo off, ATI: {:?}", modem.ati().await?);
    modem.atv(false).await?;
    println!("numeric, CSQ: {:?}", modem.csq().await?);
    println!("numeric, error: {:?}", modem.command("AT+BOGUS").await?);
    modem.atv(true).await?;
    modem.ate(true).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    watcher.abort();
    Ok(())
}
