//! The simulated device behind the AT engine: power, SIM, radio, network
//! registration and PDP contexts.
//!
//! The network is simulated: once the radio is on (`AT+CFUN=1`), the SIM is
//! ready and the operator selection allows it, the module registers on a home
//! network shortly after, attaches, and — as on LTE, where the default bearer
//! comes up at attach — PDP context 1 becomes active (module-behaviour.md,
//! "PDP context").

use crate::model::{ModelProfile, QcfgProfile};

/// Registration state, `<stat>` of 27.007 §7.2 / §10.1.19 / §10.1.22.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegStat {
    NotRegistered = 0,
    Home = 1,
    Searching = 2,
}

impl RegStat {
    pub(crate) fn registered(self) -> bool {
        self == RegStat::Home
    }
}

/// The simulated cell. Its operator (PLMN, names) is
/// [`Config::operator`](crate::Config::operator); what each model sees of its
/// RAT (AcT, band, `AT+QCSQ`) is in the model profile.
pub(crate) mod network {
    /// Location/tracking area code and cell ID, hex as 27.007 writes them.
    pub(crate) const LAC: &str = "1A2B";
    pub(crate) const CELL_ID: &str = "0C3D4E5";
    /// `AT+CSQ` while registered: rssi 24 (−65 dBm), ber unknown.
    pub(crate) const CSQ: &str = "24,99";
}

/// One PDP context (`AT+CGDCONT` / `AT+QICSGP` / `AT+QIACT`), cid 1–16.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PdpContext {
    /// Defined by `AT+CGDCONT` or `AT+QICSGP`.
    pub(crate) defined: bool,
    /// `IP`, `IPV6`, `IPV4V6` or `PPP`.
    pub(crate) pdp_type: &'static str,
    pub(crate) apn: String,
    pub(crate) user: String,
    pub(crate) password: String,
    /// 0 none, 1 PAP, 2 CHAP, 3 PAP or CHAP (`AT+QICSGP`).
    pub(crate) auth: u8,
    pub(crate) active: bool,
    /// DNS servers (`AT+QIDNSCFG`); empty means the network's defaults.
    pub(crate) dns: Option<(String, String)>,
}

/// Number of PDP contexts, cid 1–16 (`AT+QIACT=?`).
pub(crate) const CONTEXTS: usize = 16;

/// DNS servers the simulated network hands out.
pub(crate) const DEFAULT_DNS: (&str, &str) = ("10.0.0.53", "10.0.0.54");

/// What `AT+QCFG` stores (non-volatile: kept across restarts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Qcfg {
    /// As typed: two-digit RAT codes, e.g. `020301`.
    pub(crate) nwscanseq: String,
    pub(crate) nwscanmode: u8,
    pub(crate) iotopmode: u8,
    pub(crate) servicedomain: u8,
    /// 1 roaming off, 2 on, 255 automatic.
    pub(crate) roamservice: u8,
    /// One mask per band group of the model's `AT+QCFG="band"`.
    pub(crate) band: [u128; 3],
}

impl Qcfg {
    /// The factory settings of a model.
    pub(crate) fn factory(p: &QcfgProfile) -> Qcfg {
        let mut band = [0; 3];
        for (slot, mask) in band.iter_mut().zip(p.bands) {
            *slot = *mask;
        }
        Qcfg {
            nwscanseq: p.nwscanseq_default.to_string(),
            nwscanmode: 0,
            iotopmode: 2,
            servicedomain: p.servicedomain_default,
            roamservice: 255,
            band,
        }
    }
}

/// `AT+CPSMS` (27.007 §7.38): the requested power saving mode. Timers are the
/// GPRS Timer 3 / Timer 2 octets of TS 24.008, as 8-bit binary strings on the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Psm {
    pub(crate) mode: u8,
    pub(crate) periodic_rau: Option<u8>,
    pub(crate) gprs_ready: Option<u8>,
    pub(crate) periodic_tau: u8,
    pub(crate) active_time: u8,
}

impl Default for Psm {
    /// PSM off; TAU 12 h (`00101100`), active time 20 s (`00001010`), as a BG770A reads.
    fn default() -> Self {
        Psm {
            mode: 0,
            periodic_rau: None,
            gprs_ready: None,
            periodic_tau: 0b0010_1100,
            active_time: 0b0000_1010,
        }
    }
}

/// `AT+CEDRXS` (27.007 §7.40): requested eDRX per `<AcT-type>` 4 and 5.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Edrx {
    /// The requested value (4 bits) of each AcT-type whose eDRX is on.
    pub(crate) requested: [Option<u8>; 2],
    /// Mode 2: report `+CEDRXP` (kept, never sent: the network grants nothing).
    pub(crate) urc: bool,
}

/// Everything about the device that is not the AT engine.
#[derive(Clone, Debug)]
pub(crate) struct Device {
    /// Off after `AT+QPOWD` until the power key is pressed.
    pub(crate) powered: bool,
    /// Next step of the boot URC chain.
    pub(crate) boot_step: u8,
    /// `AT+CFUN` level: 0 minimum, 1 full, 4 RF off.
    pub(crate) cfun: u8,
    pub(crate) sim_ready: bool,
    pub(crate) reg: RegStat,
    /// `<n>` of AT+CREG, AT+CGREG, AT+CEREG.
    pub(crate) reg_urc: [u8; 3],
    /// `AT+COPS` mode (0 automatic, 1 manual, 2 deregistered) and format.
    pub(crate) cops_mode: u8,
    pub(crate) cops_format: u8,
    /// PS attach wanted (`AT+CGATT`).
    pub(crate) attach_wanted: bool,
    pub(crate) contexts: [PdpContext; CONTEXTS],
    /// Offset of the module's clock from the driver's wall time, ms, and its zone in quarter hours.
    pub(crate) clock_offset_ms: i64,
    pub(crate) clock_zone: i32,
    pub(crate) urcport: &'static str,
    pub(crate) baud: u32,
    pub(crate) cscs: &'static str,
    pub(crate) qcfg: Qcfg,
    /// `<AcT>` of the last manual `AT+COPS=1|4,…,<AcT>`; `None` lets the model choose.
    pub(crate) manual_act: Option<u8>,
    /// `AT+CTZU` (non-volatile) and `AT+CTZR`.
    pub(crate) ctzu: u8,
    pub(crate) ctzr: u8,
    /// Non-volatile like `AT+QCFG`.
    pub(crate) psm: Psm,
    pub(crate) edrx: Edrx,
    /// The error code `AT+QIGETERROR` reports: of the last TCP/IP command.
    pub(crate) ip_error: u16,
    /// `AT+IFC` (flow control, remembered only) and `AT+CGEREP`.
    pub(crate) ifc: (u8, u8),
    pub(crate) cgerep: (u8, u8),
    /// Network time (Unix ms) the network sent at the last registration (NITZ).
    pub(crate) nitz_unix_ms: Option<i64>,
    /// The world the device faults make (coverage, SIM, signal, DNS, clock);
    /// it survives a reboot (`crate::fault::device`).
    pub(crate) env: crate::fault::Environment,
    /// LTE brings context 1 up with the attach; after the network tore the
    /// contexts down (`+QIURC: "pdpdeact"`), they stay down until the host
    /// activates them again, also across a re-attach (issue 10 §2).
    pub(crate) bearer_at_attach: bool,
}

impl Device {
    pub(crate) fn new(profile: &ModelProfile) -> Device {
        let mut contexts: [PdpContext; CONTEXTS] = Default::default();
        // Factory state: context 1 defined, IPv4, empty APN (the capture shows "IP").
        contexts[0] = PdpContext {
            defined: true,
            pdp_type: "IP",
            ..PdpContext::default()
        };
        Device {
            powered: true,
            boot_step: 0,
            cfun: 1,
            sim_ready: false,
            reg: RegStat::NotRegistered,
            reg_urc: [0; 3],
            cops_mode: 0,
            cops_format: 0,
            attach_wanted: true,
            contexts,
            clock_offset_ms: 0,
            clock_zone: 0,
            urcport: "usbat",
            baud: 115_200,
            cscs: "GSM",
            qcfg: Qcfg::factory(&profile.qcfg),
            manual_act: None,
            ctzu: profile.ctzu_default,
            ctzr: 0,
            psm: Psm::default(),
            edrx: Edrx::default(),
            ip_error: 0,
            ifc: (0, 0),
            cgerep: (0, 0),
            nitz_unix_ms: None,
            env: crate::fault::Environment::default(),
            bearer_at_attach: true,
        }
    }

    /// True when the module should be registered.
    pub(crate) fn wants_registration(&self) -> bool {
        self.cfun == 1 && self.sim_ready && self.cops_mode != 2 && !self.env.cut_off()
    }

    /// True when packet services are attached.
    pub(crate) fn attached(&self) -> bool {
        self.reg.registered() && self.attach_wanted
    }

    /// The defined contexts with their cid, in cid order.
    pub(crate) fn defined_contexts(&self) -> impl Iterator<Item = (u8, &PdpContext)> {
        (1u8..).zip(&self.contexts).filter(|(_, ctx)| ctx.defined)
    }

    pub(crate) fn context(&self, cid: u8) -> Option<&PdpContext> {
        self.contexts.get(usize::from(cid).checked_sub(1)?)
    }

    pub(crate) fn context_mut(&mut self, cid: u8) -> Option<&mut PdpContext> {
        self.contexts.get_mut(usize::from(cid).checked_sub(1)?)
    }

    /// The IPv4 address the network gives context `cid` of module `instance`.
    pub(crate) fn context_ip(instance: u32, cid: u8) -> String {
        let n = instance.wrapping_mul(16).wrapping_add(u32::from(cid));
        format!(
            "10.{}.{}.{}",
            64 + (n >> 16 & 0x3f),
            n >> 8 & 0xff,
            n & 0xff
        )
    }
}
