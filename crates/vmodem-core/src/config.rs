//! How one module instance is set up: which model it imitates, how fast it
//! answers, and which identity it carries.

use crate::model::Model;
use crate::operator::Operator;
use crate::radio::Network;

/// How quickly the module answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Timing {
    /// Answer at once; the boot URC chain comes out at power-up in one burst.
    /// The default, and what tests want.
    #[default]
    Fast,
    /// Answer after delays like a real module's (within each command's
    /// documented maximum response time), with the boot chain spaced as on
    /// hardware and input before `RDY` ignored.
    Realistic,
}

impl Timing {
    /// Parses `fast` or `realistic` (any case).
    pub fn from_name(name: &str) -> Option<Timing> {
        match name.to_ascii_lowercase().as_str() {
            "fast" => Some(Timing::Fast),
            "realistic" => Some(Timing::Realistic),
            _ => None,
        }
    }
}

/// Everything a [`Modem`](crate::Modem) needs at power-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The model to imitate: identity strings and command dialects.
    pub model: Model,
    /// How quickly to answer.
    pub timing: Timing,
    /// Which module this is among many in one process. IMEI, IMSI and ICCID
    /// are derived from it, so a fleet of modules has distinct identities.
    pub instance: u32,
    /// Wall-clock time (Unix milliseconds, UTC) at the `now` given to
    /// [`Modem::new`](crate::Modem::new); the network time `AT+CCLK?` shows.
    pub unix_time_ms: u64,
    /// Seed for every random choice the module makes (e.g. its IP address,
    /// the radio network's delays): the same seed gives the same choices.
    pub seed: u64,
    /// The radio network between the module and the Internet: how long each
    /// exchange on a link and each registration takes
    /// ([`Network`](crate::Network)). `None` (the default) follows the
    /// timing: [`Network::Lte`] with [`Timing::Realistic`], no radio delay
    /// with [`Timing::Fast`]; [`Config::effective_network`] tells which.
    pub network: Option<Network>,
    /// The files in UFS at power-up, as `(name, bytes)`: what a driver that
    /// keeps UFS across process runs saved from
    /// [`ModemEvent::UfsFileWritten`](crate::ModemEvent::UfsFileWritten).
    /// Names are as `AT+QFUPL` takes them, with or without a `UFS:` prefix.
    /// The module takes the files in when it is made (so
    /// [`Modem::config`](crate::Modem::config) shows this empty) and skips,
    /// without a word, any file whose name `AT+QFUPL` would refuse, a `RAM:`
    /// one, or one that no longer fits in `ufs_capacity`: check names and sizes
    /// before relying on them. A later file replaces an earlier one of the same name.
    pub ufs_files: Vec<(String, Vec<u8>)>,
    /// Bytes UFS holds (file contents only; names cost nothing), what
    /// `AT+QFLDS="UFS"` reports as total. Default 12 MiB, near an EC25's
    /// user file storage.
    pub ufs_capacity: usize,
    /// Bytes the RAM storage holds, what `AT+QFLDS="RAM"` reports as total.
    /// Default 2 MiB, near an EC25's.
    pub ram_capacity: usize,
    /// The simulated network's operator (PLMN and names); the SIM's IMSI
    /// starts with its PLMN, so the module is at home there. Default: the 3GPP
    /// test network 00101, `VMODEM NET`.
    pub operator: Operator,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            model: Model::Ec25,
            timing: Timing::Fast,
            instance: 0,
            // 2025-01-01T00:00:00Z: a fixed, plausible date for tests.
            unix_time_ms: 1_735_689_600_000,
            seed: 0,
            network: None,
            ufs_files: Vec::new(),
            ufs_capacity: 12 * 1024 * 1024,
            ram_capacity: 2 * 1024 * 1024,
            operator: Operator::default(),
        }
    }
}

impl Config {
    /// The radio network the module uses: [`network`](Config::network) if
    /// set, else the default for its timing ([`Network::default_for`]).
    pub fn effective_network(&self) -> Network {
        self.network
            .unwrap_or_else(|| Network::default_for(self.timing))
    }
}
