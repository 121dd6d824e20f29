//! The operator of the simulated network: its PLMN and names.
//!
//! The default is the 3GPP test network 001/01 (TS 23.122 Annex A), which no
//! real SIM carries. Firmware written for a carrier selects that carrier by
//! hand (`AT+COPS=1,2,"310260",9`), so the operator can be set
//! ([`Config::operator`](crate::Config::operator), `vmodem run --plmn`).

use std::fmt;

/// PLMN and names of the simulated network's operator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operator {
    plmn: String,
    long_name: String,
    short_name: String,
}

/// Why an operator setting was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorError {
    /// The PLMN is not 5 or 6 decimal digits (MCC of 3, MNC of 2 or 3).
    Plmn(String),
    /// The name is empty, longer than 16 characters, or holds a character the
    /// AT line cannot carry (`"` or a control character, or non-ASCII).
    Name(String),
}

impl fmt::Display for OperatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperatorError::Plmn(p) => write!(
                f,
                "PLMN {p:?} is not MCC+MNC: give 5 or 6 digits, e.g. 310260 (MCC 310, MNC 260)"
            ),
            OperatorError::Name(n) => write!(
                f,
                "operator name {n:?} cannot be shown by AT+COPS: use 1 to 16 printable ASCII \
                 characters without '\"', e.g. \"T-Mobile\""
            ),
        }
    }
}

impl std::error::Error for OperatorError {}

/// Longest name 27.007 §7.3 allows for the long alphanumeric `<oper>`.
const MAX_NAME: usize = 16;

impl Operator {
    /// An operator with PLMN `plmn` (MCC+MNC, 5 or 6 digits) whose long and
    /// short names are both `name`.
    pub fn new(plmn: &str, name: &str) -> Result<Operator, OperatorError> {
        Operator::with_names(plmn, name, name)
    }

    /// An operator with distinct long and short names.
    pub fn with_names(plmn: &str, long: &str, short: &str) -> Result<Operator, OperatorError> {
        if !(5..=6).contains(&plmn.len()) || !plmn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OperatorError::Plmn(plmn.to_string()));
        }
        for name in [long, short] {
            let printable = name
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'"');
            if name.is_empty() || name.len() > MAX_NAME || !printable {
                return Err(OperatorError::Name(name.to_string()));
            }
        }
        Ok(Operator {
            plmn: plmn.to_string(),
            long_name: long.to_string(),
            short_name: short.to_string(),
        })
    }

    /// MCC+MNC, e.g. `00101`.
    pub fn plmn(&self) -> &str {
        &self.plmn
    }

    /// `AT+COPS` long alphanumeric name (`<format>` 0).
    pub fn long_name(&self) -> &str {
        &self.long_name
    }

    /// `AT+COPS` short alphanumeric name (`<format>` 1).
    pub fn short_name(&self) -> &str {
        &self.short_name
    }

    /// The name `AT+COPS` shows in `<format>` 0, 1 or 2.
    pub(crate) fn name_in(&self, format: u8) -> &str {
        match format {
            0 => &self.long_name,
            1 => &self.short_name,
            _ => &self.plmn,
        }
    }
}

impl Default for Operator {
    /// `VMODEM NET` / `VMODEM` on the 3GPP test network 00101.
    fn default() -> Self {
        Operator {
            plmn: "00101".into(),
            long_name: "VMODEM NET".into(),
            short_name: "VMODEM".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plmns_and_names_are_checked() {
        let op = Operator::new("310260", "T-Mobile").unwrap();
        assert_eq!(op.plmn(), "310260");
        assert_eq!(op.name_in(0), "T-Mobile");
        assert_eq!(op.name_in(1), "T-Mobile");
        assert_eq!(op.name_in(2), "310260");
        assert!(Operator::new("26201", "Telekom.de").is_ok());
        for bad in ["3102", "3102600", "31026a", ""] {
            assert_eq!(
                Operator::new(bad, "x"),
                Err(OperatorError::Plmn(bad.into()))
            );
        }
        for bad in ["", "a\"b", "seventeen chars!!", "tab\there", "Télé"] {
            assert!(matches!(
                Operator::new("00101", bad),
                Err(OperatorError::Name(_))
            ));
        }
        assert!(OperatorError::Plmn("1".into())
            .to_string()
            .contains("310260"));
    }
}
