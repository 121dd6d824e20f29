//! The numbers that identify one module and its SIM.
//!
//! Derived from [`Config::instance`](crate::Config::instance) so that a fleet
//! of modules in one process has distinct, well-formed identities: IMEIs and
//! ICCIDs carry a valid Luhn check digit, the IMSI starts with the simulated
//! operator's PLMN (by default the 3GPP test network 001/01, TS 23.122 Annex
//! A, which no real SIM carries), so the SIM is at home on that network.

use crate::model::ModelProfile;

/// IMEI, IMSI and ICCID of one module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) imei: String,
    pub(crate) imsi: String,
    pub(crate) iccid: String,
}

impl Identity {
    pub(crate) fn derive(profile: &ModelProfile, plmn: &str, instance: u32) -> Identity {
        let serial = instance % 1_000_000;
        let imei_body = format!("{}{:06}", profile.imei_tac, serial);
        let iccid_body = format!("89001010{:010}", instance);
        Identity {
            imei: format!("{imei_body}{}", luhn_digit(&imei_body)),
            imsi: imsi(plmn, instance),
            iccid: format!("{iccid_body}{}", luhn_digit(&iccid_body)),
        }
    }
}

impl crate::Config {
    /// The IMEI, IMSI and ICCID a module made from this config has (what
    /// `AT+GSN`, `AT+CIMI` and `AT+QCCID` answer), without making one:
    /// fleets put them in device scripts and reports (issue 13).
    pub fn identity_numbers(&self) -> [String; 3] {
        let id = Identity::derive(self.model.profile(), self.operator.plmn(), self.instance);
        [id.imei, id.imsi, id.iccid]
    }
}

/// 15 digits: the PLMN (5 or 6 digits), then the subscriber number (MSIN)
/// made from `instance`.
fn imsi(plmn: &str, instance: u32) -> String {
    let width = 15usize.saturating_sub(plmn.len()).min(10);
    let msin = u64::from(instance) % 10u64.pow(width as u32);
    format!("{plmn}{msin:0width$}")
}

/// The Luhn check digit that makes `digits` + it a valid Luhn number.
fn luhn_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;

    fn luhn_valid(n: &str) -> bool {
        luhn_digit(&n[..n.len() - 1]) == n.chars().last().unwrap()
    }

    #[test]
    fn identities_are_well_formed_and_distinct() {
        let a = Identity::derive(Model::Ec25.profile(), "00101", 0);
        let b = Identity::derive(Model::Ec25.profile(), "00101", 1);
        let c = Identity::derive(Model::Ec25.profile(), "310260", 7);
        assert_eq!(c.imsi, "310260000000007");
        assert_eq!(a.imei.len(), 15);
        assert_eq!(a.imsi.len(), 15);
        assert_eq!(a.iccid.len(), 19);
        assert!(luhn_valid(&a.imei) && luhn_valid(&a.iccid));
        assert_ne!(a.imei, b.imei);
        assert_ne!(a.imsi, b.imsi);
        // A known Luhn example: 7992739871 has check digit 3.
        assert_eq!(luhn_digit("7992739871"), '3');
    }
}
