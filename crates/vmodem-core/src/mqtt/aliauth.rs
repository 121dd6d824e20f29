//! Alibaba Cloud IoT credentials from a device triple (`AT+QMTCFG="aliauth"`).
//!
//! Alibaba's MQTT signing scheme ("MQTT-TCP connection" of the Alibaba Cloud
//! IoT Platform docs): the parameters `clientId`, `deviceName`, `productKey`
//! and `timestamp` are sorted by name and concatenated as name+value with no
//! separators; the password is the lowercase hex HMAC-SHA1 of that text keyed
//! with the device secret. The MQTT client ID carries the parameters after a
//! `|`: `<clientId>|securemode=3,signmethod=hmacsha1,timestamp=<ms>|`
//! (securemode 2 over TLS, 3 over plain TCP); the user name is
//! `<deviceName>&<productKey>`.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::config::AliAuth;

/// Client ID, user name and password to put in the CONNECT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AliCredentials {
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) password: String,
}

/// Signs the CONNECT of `client_id` for device `auth` at `timestamp_ms`.
pub(crate) fn sign(
    auth: &AliAuth,
    client_id: &str,
    timestamp_ms: u64,
    tls: bool,
) -> AliCredentials {
    let content = format!(
        "clientId{client_id}deviceName{}productKey{}timestamp{timestamp_ms}",
        auth.device_name, auth.product_key
    );
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(auth.device_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(content.as_bytes());
    let digest = mac.finalize().into_bytes();
    let password = digest.iter().map(|b| format!("{b:02x}")).collect();
    let securemode = if tls { 2 } else { 3 };
    AliCredentials {
        client_id: format!(
            "{client_id}|securemode={securemode},signmethod=hmacsha1,timestamp={timestamp_ms}|"
        ),
        username: format!("{}&{}", auth.device_name, auth.product_key),
        password,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_alibabas_reference() {
        // RFC 2202 test case 2 shape: key "Jefe", data "what do ya want for nothing?"
        // gives effcdf6ae5eb2fa2d27416d5f184df9c259a7c79; check the HMAC wiring with it.
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");

        let auth = AliAuth {
            product_key: "oyjtmPl5a5j".into(),
            device_name: "MQTT_TEST".into(),
            device_secret: "wN9Y6pZSIIy7Exa5qVzcmigEGO4kAazZ".into(),
        };
        let c = sign(&auth, "clientExample", 1_735_689_600_000, false);
        assert_eq!(
            c.client_id,
            "clientExample|securemode=3,signmethod=hmacsha1,timestamp=1735689600000|"
        );
        assert_eq!(c.username, "MQTT_TEST&oyjtmPl5a5j");
        assert_eq!(c.password.len(), 40);
        let mut mac =
            <Hmac<Sha1> as KeyInit>::new_from_slice(auth.device_secret.as_bytes()).unwrap();
        mac.update(
            b"clientIdclientExampledeviceNameMQTT_TESTproductKeyoyjtmPl5a5jtimestamp1735689600000",
        );
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(c.password, want);
    }
}
