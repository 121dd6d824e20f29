//! Model profiles: what differs between the modules we imitate.
//!
//! The application note covers EC2x, EG9x and EM05; BG96 and BG95 are here
//! because their dialect is common in the field (module-behaviour.md). Every
//! difference between models is a field of [`ModelProfile`], so command
//! handlers read the profile instead of asking which model they serve
//! (docs/decisions.md, "Model profiles", lists the sources of each value).

/// A module model the core can imitate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Model {
    /// Quectel EC25 (LTE Cat 4), the default.
    #[default]
    Ec25,
    /// Quectel EG95 (LTE Cat 4).
    Eg95,
    /// Quectel EM05 (LTE Cat 4, M.2).
    Em05,
    /// Quectel BG96 (LTE Cat M1/NB1, EGPRS).
    Bg96,
    /// Quectel BG95-M3 (LTE Cat M1/NB2, EGPRS).
    Bg95,
}

/// Which of the field's publish forms a model accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishDialects {
    /// `AT+QMTPUBEX=c,m,q,r,"topic",len` then exactly `len` bytes after `>`.
    pub pubex_fixed_length: bool,
    /// `AT+QMTPUB=c,m,q,r,"topic"` then data ended by Ctrl-Z (ESC cancels),
    /// and its fixed-length variant `AT+QMTPUB=…,len`.
    pub pub_ctrl_z: bool,
    /// `AT+QMTPUBEX=c,m,q,r,"topic","payload"` with the payload inline.
    pub pubex_inline: bool,
    /// The URC that reports an `AT+QMTPUBEX` publish's outcome: `+QMTPUBEX`
    /// on EC2x, `+QMTPUB` on BG95/BG96 (a BG95-M3 log answers the inline form
    /// with `+QMTPUB: 0,1,0`).
    pub pubex_urc: PublishUrc,
    /// What `AT+QMTPUBEX=?` prints after `+QMTPUBEX: `: the forms the write
    /// command accepts, and no other.
    pub pubex_test: &'static str,
}

/// The name of a publish result URC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishUrc {
    /// `+QMTPUBEX: c,m,result[,value]`.
    QmtPubEx,
    /// `+QMTPUB: c,m,result[,value]`.
    QmtPub,
}

/// One radio access technology a model can camp on, and what the simulated
/// cell looks like through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rat {
    /// `<AcT>` of `AT+COPS` and `+CREG/+CEREG` (27.007 §7.3): 7 E-UTRAN,
    /// 8 E-UTRAN Cat M1 (eMTC), 9 E-UTRAN Cat NB1 (NB-IoT).
    pub act: u8,
    /// `<Act>` of `AT+QNWINFO`.
    pub qnwinfo: &'static str,
    /// `<band>` of `AT+QNWINFO` for the simulated cell.
    pub band: &'static str,
    /// `<channel>` (EARFCN) of `AT+QNWINFO`.
    pub channel: u32,
    /// `AT+QCSQ` while camped: `<sysmode>,<rssi>,<rsrp>,<sinr>,<rsrq>`.
    pub qcsq: &'static str,
}

/// One URC of the power-up chain and how long after the previous one it
/// comes under realistic timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootUrc {
    /// The URC line, e.g. `RDY`.
    pub text: &'static str,
    /// Milliseconds after the previous URC (after power-up for the first).
    pub after_ms: u64,
}

/// How `AT+QCFG` looks on a model: which settings exist, their values and
/// factory defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QcfgProfile {
    /// `"nwscanseq"` factory value.
    pub nwscanseq_default: &'static str,
    /// The highest RAT code a `"nwscanseq"` may hold (EC2x: 01 GSM … 05;
    /// BG9x: 01 GSM, 02 eMTC, 03 NB-IoT).
    pub nwscanseq_max_code: u8,
    /// The range text of `AT+QCFG=?` for `"nwscanseq"`.
    pub nwscanseq_test: &'static str,
    /// `"nwscanmode"` values (EC2x 0 auto, 1 GSM, 2 UMTS, 3 LTE; BG9x 0, 1, 3).
    pub nwscanmodes: &'static [u8],
    /// `"servicedomain"` values (0 CS, 1 PS, 2 CS and PS).
    pub servicedomains: &'static [u8],
    /// `"servicedomain"` factory value.
    pub servicedomain_default: u8,
    /// `"iotopmode"` (0 eMTC, 1 NB-IoT, 2 both) exists.
    pub iotopmode: bool,
    /// `"band"`: the model's bands, one mask per RAT group in the model's
    /// order (EC2x: GSM/WCDMA, LTE, TD-SCDMA; BG9x: GSM, eMTC, NB-IoT). The
    /// factory setting is all of them; a write keeps only these bits.
    pub bands: &'static [u128],
    /// The range text of `AT+QCFG=?` for `"band"`.
    pub band_test: &'static str,
}

/// The identity strings and dialect of one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelProfile {
    /// Name as `--model` takes it.
    pub cli_name: &'static str,
    /// `AT+CGMI` / `AT+GMI` and the first line of `ATI`.
    pub manufacturer: &'static str,
    /// `AT+CGMM` / `AT+GMM` and the second line of `ATI`.
    pub model: &'static str,
    /// `AT+CGMR` / `AT+GMR` and the `Revision:` line of `ATI`.
    pub revision: &'static str,
    /// What `AT+QGMR` adds to the revision: `_<application version>`.
    pub qgmr_suffix: &'static str,
    /// First eight IMEI digits (the type allocation code).
    pub imei_tac: &'static str,
    /// Publish forms accepted.
    pub publish: PublishDialects,
    /// The power-up URC chain, `RDY` first. The SIM is ready at `+CPIN: READY`;
    /// the entries from there on come again when `AT+CFUN=1` powers the SIM up.
    pub boot: &'static [BootUrc],
    /// The RATs the simulated network offers this model, the preferred first.
    pub rats: &'static [Rat],
    /// `<AcT>` values `AT+COPS=1,…,<AcT>` takes; one in this list but not in
    /// `rats` is a RAT the network lacks (`+CME ERROR: 30`), one outside it
    /// a parameter the model does not know (`ERROR`).
    pub cops_acts: &'static [u8],
    /// `+CGREG` shows the EPS registration too. False on BG9x, where GPRS
    /// registration stays 0 while camped on eMTC/NB-IoT (a BG96 log:
    /// `+CEREG: 2,1,…,8` with `+CGREG: 2,0`).
    pub cgreg_follows_eps: bool,
    /// Factory value of `AT+CTZU`.
    pub ctzu_default: u8,
    /// `<AcT-type>`s of `AT+CEDRXS` (4 E-UTRAN WB-S1, 5 NB-S1).
    pub edrx_act_types: &'static [u8],
    /// `AT+QCFG` settings.
    pub qcfg: QcfgProfile,
}

const EC2X_DIALECTS: PublishDialects = PublishDialects {
    pubex_fixed_length: true,
    pub_ctrl_z: true,
    pubex_inline: false,
    pubex_urc: PublishUrc::QmtPubEx,
    // The note's chapter 5 text, verbatim.
    pubex_test: "(0-5),<msgid>,(0-2),(0,1),\"topic\",\"length\"",
};

const BG9X_DIALECTS: PublishDialects = PublishDialects {
    pubex_fixed_length: false,
    pub_ctrl_z: true,
    pubex_inline: true,
    pubex_urc: PublishUrc::QmtPub,
    pubex_test: "(0-5),<msgid>,(0-2),(0,1),\"topic\",\"msg\"",
};

/// EC2x power-up (module-behaviour.md, "Framing").
const EC2X_BOOT: &[BootUrc] = &[
    BootUrc {
        text: "RDY",
        after_ms: 2_500,
    },
    BootUrc {
        text: "+CFUN: 1",
        after_ms: 200,
    },
    BootUrc {
        text: "+CPIN: READY",
        after_ms: 300,
    },
    BootUrc {
        text: "+QUSIM: 1",
        after_ms: 100,
    },
    BootUrc {
        text: "+QIND: SMS DONE",
        after_ms: 1_500,
    },
    BootUrc {
        text: "+QIND: PB DONE",
        after_ms: 2_000,
    },
];

/// BG96/BG95 power-up: `APP RDY` after `+CFUN: 1`, no `+QIND: PB DONE` (a
/// BG96 activation log: `RDY`, `+CFUN: 1`, `APP RDY`, `+CPIN: READY`,
/// `+QUSIM: 1`, `+QIND: SMS DONE`).
const BG9X_BOOT: &[BootUrc] = &[
    BootUrc {
        text: "RDY",
        after_ms: 2_500,
    },
    BootUrc {
        text: "+CFUN: 1",
        after_ms: 200,
    },
    BootUrc {
        text: "APP RDY",
        after_ms: 300,
    },
    BootUrc {
        text: "+CPIN: READY",
        after_ms: 300,
    },
    BootUrc {
        text: "+QUSIM: 1",
        after_ms: 100,
    },
    BootUrc {
        text: "+QIND: SMS DONE",
        after_ms: 1_500,
    },
];

/// The EC2x cell: FDD LTE band 3, EARFCN 1300; `+CSQ: 24` is −65 dBm.
const LTE_CELL: &[Rat] = &[Rat {
    act: 7,
    qnwinfo: "FDD LTE",
    band: "LTE BAND 3",
    channel: 1300,
    qcsq: "\"LTE\",-65,-95,150,-10",
}];

/// BG96 names its RATs `CAT-M1`/`CAT-NB1` in `AT+QNWINFO` and `AT+QCSQ`
/// (BG96 logs: `+QNWINFO: "CAT-M1","23203","LTE BAND 20",6400`,
/// `+QCSQ: "CAT-M1",-62,-101,71,-20`).
const BG96_CELLS: &[Rat] = &[
    Rat {
        act: 8,
        qnwinfo: "CAT-M1",
        band: "LTE BAND 20",
        channel: 6300,
        qcsq: "\"CAT-M1\",-65,-95,150,-10",
    },
    Rat {
        act: 9,
        qnwinfo: "CAT-NB1",
        band: "LTE BAND 8",
        channel: 3688,
        qcsq: "\"CAT-NB1\",-65,-95,150,-10",
    },
];

/// BG95 names them `eMTC`/`NBIoT` (BG95 and BG770A logs:
/// `+QNWINFO: "eMTC","50501","LTE BAND 28",9410`, `+QCSQ: "eMTC",-56,-78,210,-9`).
const BG95_CELLS: &[Rat] = &[
    Rat {
        act: 8,
        qnwinfo: "eMTC",
        band: "LTE BAND 20",
        channel: 6300,
        qcsq: "\"eMTC\",-65,-95,150,-10",
    },
    Rat {
        act: 9,
        qnwinfo: "NBIoT",
        band: "LTE BAND 8",
        channel: 3688,
        qcsq: "\"NBIoT\",-65,-95,150,-10",
    },
];

const EC2X_QCFG: QcfgProfile = QcfgProfile {
    nwscanseq_default: "00",
    nwscanseq_max_code: 5,
    nwscanseq_test: "(00-0403)",
    nwscanmodes: &[0, 1, 2, 3],
    servicedomains: &[0, 1, 2],
    servicedomain_default: 2,
    iotopmode: false,
    // EC25-E: GSM 900/1800, WCDMA B1/B5/B8; LTE B1/3/5/7/8/20/38/40/41.
    bands: &[0xd3, 0x1a0_0008_00d5, 0],
    band_test: "(0-0xFFFFFFFF),(0-0x7FFFFFFFFFFFFFFF),(0-0x7FFFFFFFFFFFFFFF),(0,1)",
};

const BG96_QCFG: QcfgProfile = QcfgProfile {
    nwscanseq_default: "020301",
    nwscanseq_max_code: 3,
    nwscanseq_test: "(00-010203)",
    nwscanmodes: &[0, 1, 3],
    servicedomains: &[1, 2],
    servicedomain_default: 2,
    iotopmode: true,
    // "Any band" of the BG96 manual: GSM 0xF, Cat M1 0x400A0E189F, NB1 0xA0E189F.
    bands: &[0xf, 0x40_0a0e_189f, 0xa0e_189f],
    band_test: "(0-F),(0-7FFFFFFFFFFFFFFF),(0-7FFFFFFFFFFFFFFF),(0,1)",
};

impl Model {
    /// Every model, in `--help` order.
    pub const ALL: [Model; 5] = [
        Model::Ec25,
        Model::Eg95,
        Model::Em05,
        Model::Bg96,
        Model::Bg95,
    ];

    /// The model's profile.
    pub const fn profile(self) -> &'static ModelProfile {
        match self {
            Model::Ec25 => &ModelProfile {
                cli_name: "ec25",
                manufacturer: "Quectel",
                model: "EC25",
                revision: "EC25EFAR06A06M4G",
                qgmr_suffix: "_01.001.01.001",
                imei_tac: "86669505",
                publish: EC2X_DIALECTS,
                boot: EC2X_BOOT,
                rats: LTE_CELL,
                cops_acts: &[0, 2, 7],
                cgreg_follows_eps: true,
                ctzu_default: 0,
                edrx_act_types: &[4],
                qcfg: EC2X_QCFG,
            },
            Model::Eg95 => &ModelProfile {
                cli_name: "eg95",
                manufacturer: "Quectel",
                model: "EG95",
                revision: "EG95EXGAR08A05M1G",
                qgmr_suffix: "_01.001.01.001",
                imei_tac: "86742504",
                publish: EC2X_DIALECTS,
                boot: EC2X_BOOT,
                rats: LTE_CELL,
                cops_acts: &[0, 2, 7],
                cgreg_follows_eps: true,
                ctzu_default: 0,
                edrx_act_types: &[4],
                qcfg: QcfgProfile {
                    // EG95-E: an EG95 answers `+QCFG: "band",0x93,0x80800c5,0x0`.
                    bands: &[0x93, 0x808_00c5, 0],
                    ..EC2X_QCFG
                },
            },
            Model::Em05 => &ModelProfile {
                cli_name: "em05",
                manufacturer: "Quectel",
                model: "EM05",
                revision: "EM05GFAR07A07M1G",
                qgmr_suffix: "_01.001.01.001",
                imei_tac: "86176005",
                publish: EC2X_DIALECTS,
                boot: EC2X_BOOT,
                rats: LTE_CELL,
                cops_acts: &[0, 2, 7],
                cgreg_follows_eps: true,
                ctzu_default: 0,
                edrx_act_types: &[4],
                qcfg: EC2X_QCFG,
            },
            Model::Bg96 => &ModelProfile {
                cli_name: "bg96",
                manufacturer: "Quectel",
                model: "BG96",
                revision: "BG96MAR02A07M1G",
                qgmr_suffix: "_01.016.01.016",
                imei_tac: "86642503",
                publish: BG9X_DIALECTS,
                boot: BG9X_BOOT,
                rats: BG96_CELLS,
                cops_acts: &[0, 8, 9],
                cgreg_follows_eps: false,
                ctzu_default: 1,
                edrx_act_types: &[4, 5],
                qcfg: BG96_QCFG,
            },
            Model::Bg95 => &ModelProfile {
                cli_name: "bg95",
                manufacturer: "Quectel",
                model: "BG95-M3",
                revision: "BG95M3LAR02A03",
                qgmr_suffix: "_01.012.01.012",
                imei_tac: "86434104",
                publish: BG9X_DIALECTS,
                boot: BG9X_BOOT,
                rats: BG95_CELLS,
                cops_acts: &[0, 8, 9],
                cgreg_follows_eps: false,
                ctzu_default: 1,
                edrx_act_types: &[4, 5],
                qcfg: QcfgProfile {
                    // A BG95 answers
                    // `+QCFG: "band",0xf,0x100002000000000f0e189f,0x10004200000000090e189f`.
                    bands: &[
                        0xf,
                        0x10_0002_0000_0000_0f0e_189f,
                        0x10_0042_0000_0000_090e_189f,
                    ],
                    band_test: "(0-F),(0-100002000000000F0E189F),(0-10004200000000090E189F),(0,1)",
                    ..BG96_QCFG
                },
            },
        }
    }

    /// Looks a model up by its `--model` name (any case).
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL
            .into_iter()
            .find(|m| m.profile().cli_name.eq_ignore_ascii_case(name))
    }
}

impl ModelProfile {
    /// The RAT with this `<AcT>`, if the simulated network offers it to this model.
    pub fn rat(&self, act: u8) -> Option<&'static Rat> {
        self.rats.iter().find(|r| r.act == act)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_consistent() {
        for m in Model::ALL {
            let p = m.profile();
            assert_eq!(Model::from_name(p.cli_name), Some(m));
            assert_eq!(p.boot[0].text, "RDY", "{}", p.model);
            assert!(p.boot.iter().any(|b| b.text == "+CPIN: READY"));
            assert!(!p.rats.is_empty());
            for r in p.rats {
                assert!(p.cops_acts.contains(&r.act), "{} AcT {}", p.model, r.act);
                assert!(r.qcsq.starts_with('"'));
            }
            assert_eq!(p.imei_tac.len(), 8);
            assert_eq!(p.qcfg.bands.len(), 3);
            assert!(p
                .qcfg
                .servicedomains
                .contains(&p.qcfg.servicedomain_default));
        }
    }
}
