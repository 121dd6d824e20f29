//! Typed PDP context commands (EC25 TCP/IP AT commands manual): AT+QIACT, AT+QIDEACT.
//!
//! On LTE the default bearer (context 1) comes up with the attach, so MQTT usually needs
//! neither; firmware that uses another context, or wants to check the address, does.

use crate::basic::unexpected;
use crate::client::Client;
use crate::error::Error;
use crate::params::{int_at, Param};

/// One line of `AT+QIACT?`: a PDP context and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PdpContext {
    /// `<contextID>`, 1–16.
    pub cid: u8,
    /// `<context_state>`: `true` when activated (1).
    pub active: bool,
    /// `<context_type>`: 1 IPv4, 2 IPv6, 3 IPv4v6.
    pub context_type: u8,
    /// `<IP_address>`(es), as sent (two for an IPv4v6 context on some firmware).
    pub addresses: Vec<String>,
}

fn check_cid(cid: u8) -> Result<(), Error> {
    if (1..=16).contains(&cid) {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            argument: "cid",
            reason: format!("{cid} is not a context ID 1-16"),
        })
    }
}

impl Client {
    /// `AT+QIACT=<cid>`: activates a PDP context (up to 150 s). An already active context is
    /// refused by the module ([`Error::Rejected`]).
    pub async fn qiact(&self, cid: u8) -> Result<(), Error> {
        check_cid(cid)?;
        self.command_ok(format!("AT+QIACT={cid}")).await.map(drop)
    }

    /// `AT+QIDEACT=<cid>`: deactivates a PDP context (up to 40 s). MQTT clients using it are
    /// closed (`+QMTSTAT: <client>,7` on the URC stream).
    pub async fn qideact(&self, cid: u8) -> Result<(), Error> {
        check_cid(cid)?;
        self.command_ok(format!("AT+QIDEACT={cid}")).await.map(drop)
    }

    /// `AT+QIACT?`: the active contexts and their addresses.
    pub async fn qiact_status(&self) -> Result<Vec<PdpContext>, Error> {
        let text = "AT+QIACT?";
        let resp = self.command_ok(text).await?;
        resp.params("+QIACT:")
            .map_err(|e| unexpected(text, e.to_string()))?
            .into_iter()
            .map(|p| {
                match (
                    int_at::<u8>(&p, 0),
                    int_at::<u8>(&p, 1),
                    int_at::<u8>(&p, 2),
                ) {
                    (Some(cid), Some(state), Some(context_type)) => Ok(PdpContext {
                        cid,
                        active: state == 1,
                        context_type,
                        addresses: p
                            .iter()
                            .skip(3)
                            .filter_map(|a| match a {
                                Param::Str(s) | Param::Raw(s) => Some(s.clone()),
                                _ => None,
                            })
                            .collect(),
                    }),
                    _ => Err(unexpected(text, format!("bad fields {p:?}"))),
                }
            })
            .collect()
    }
}
