//! The brokers compared, each started as a program using it would start it.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::AsyncReadExt;

/// Starts broker `kind` on a free loopback port, prints `port N`, and runs
/// until stdin closes.
pub async fn serve(kind: &str, user: Option<(String, String)>) {
    let port = match kind {
        "built-in" => {
            let mut options = vmodem_tokio::BrokerOptions::new((Ipv4Addr::LOCALHOST, 0).into());
            options.users = user.into_iter().collect();
            let broker = vmodem_tokio::EmbeddedBroker::start_with(options)
                .await
                .expect("built-in broker");
            let port = broker.local_addr().port();
            // Kept until the process ends.
            std::mem::forget(broker);
            port
        }
        "rumqttd" => rumqttd(user),
        "rmqtt" => rmqtt(user).await,
        other => panic!("unknown broker {other}"),
    };
    println!("port {port}");
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// rumqttd 0.20 as vmodem configured it until now, with `auth` for users.
fn rumqttd(user: Option<(String, String)>) -> u16 {
    use rumqttd::{Config, ConnectionSettings, RouterConfig, ServerSettings};
    let port = free_port();
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let server = ServerSettings {
        name: "v4".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 1024 * 1024,
            max_inflight_count: 100,
            auth: user.map(|(u, p)| HashMap::from([(u, p)])),
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_010,
            max_outgoing_packet_count: 200,
            max_segment_size: 1024 * 1024,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        ..Config::default()
    };
    std::thread::spawn(move || {
        let _ = rumqttd::Broker::new(config).start();
    });
    // Wait until it listens.
    for _ in 0..500 {
        if std::net::TcpStream::connect(listen).is_ok() {
            return port;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("rumqttd did not listen");
}

/// rmqtt 0.24 embedded: one TCP listener with TCP_NODELAY, queues of 1000,
/// the retainer plugin (RAM) for retained messages, and an authentication
/// hook for users (4 for a wrong password, 5 without a user name).
async fn rmqtt(user: Option<(String, String)>) -> u16 {
    use rmqtt::context::ServerContext;
    use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType, Type};
    use rmqtt::net::Builder;
    use rmqtt::server::MqttServer;
    use rmqtt::types::AuthResult;

    struct Auth(String, String);
    #[async_trait::async_trait]
    impl Handler for Auth {
        async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
            if let Parameter::ClientAuthenticate(info) = param {
                let ok = info.username().is_some_and(|u| u.as_ref() as &str == self.0)
                    && info.password().is_some_and(|p| p.as_ref() == self.1.as_bytes());
                let result = if ok {
                    AuthResult::Allow(false, None)
                } else {
                    AuthResult::BadUsernameOrPassword
                };
                return (false, Some(HookResult::AuthResult(result)));
            }
            (true, acc)
        }
    }

    let scx = ServerContext::new().build().await;
    rmqtt_retainer::register(&scx, true, false).await.expect("retainer");
    scx.plugins.start("rmqtt-retainer").await.expect("start retainer");
    let anonymous = user.is_none();
    if let Some((u, p)) = user {
        let register = scx.extends.hook_mgr().register();
        register.add(Type::ClientAuthenticate, Box::new(Auth(u, p))).await;
        register.start().await;
    }
    let port = free_port();
    let listener = Builder::new()
        .name("tcp")
        .laddr(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .nodelay(true)
        .allow_anonymous(anonymous)
        .max_mqueue_len(1000)
        .bind()
        .expect("bind")
        .tcp()
        .expect("tcp");
    let server = MqttServer::new(scx).listener(listener).build();
    tokio::spawn(async move {
        if let Err(e) = server.run().await {
            eprintln!("rmqtt stopped: {e}");
        }
    });
    port
}
