//! The simulated device behind the AT engine: power, SIM, radio, network
//! registration and PDP contexts.
//!
//! The network is simulated: once the radio is on (`AT+CFUN=1`), the SIM is
//! ready and the operator selection allows it, the module registers on a home
//! network shortly after, attaches, and — as on LTE, where the default bearer
//! comes up at attach — PDP context 1 becomes active (module-behaviour.md,
//! "PDP context").

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

/// The simulated home network.
pub(crate) mod network {
    /// `AT+COPS` long alphanumeric name.
    pub(crate) const LONG_NAME: &str = "VMODEM NET";
    /// `AT+COPS` short alphanumeric name.
    pub(crate) const SHORT_NAME: &str = "VMODEM";
    /// MCC+MNC: the 3GPP test network (TS 23.122), never a real operator.
    pub(crate) const PLMN: &str = "00101";
    /// Access technology: 7 = E-UTRAN.
    pub(crate) const ACT: u8 = 7;
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

/// What `AT+QCFG` stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Qcfg {
    pub(crate) nwscanseq: String,
    pub(crate) nwscanmode: String,
    pub(crate) iotopmode: String,
    pub(crate) band: String,
}

impl Default for Qcfg {
    fn default() -> Self {
        Qcfg {
            nwscanseq: "00".into(),
            nwscanmode: "0".into(),
            iotopmode: "2".into(),
            band: "0x260,0x42000000000000381a,0x0".into(),
        }
    }
}

/// Everything about the device that is not the AT engine.
#[derive(Debug)]
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
}

impl Device {
    pub(crate) fn new() -> Device {
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
            qcfg: Qcfg::default(),
        }
    }

    /// True when the module should be registered.
    pub(crate) fn wants_registration(&self) -> bool {
        self.cfun == 1 && self.sim_ready && self.cops_mode != 2
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
