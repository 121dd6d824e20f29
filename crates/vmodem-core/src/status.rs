//! A module's state as plain data, for the control API (`GET /v1/modules/{id}`)
//! and fleets: what a person debugging a device would read off the module.

use crate::fault::ActiveFault;

/// Whether the module has power.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    /// Powered and booted.
    On,
    /// Powered down (`AT+QPOWD`, a `power_loss` fault).
    Off,
    /// Powered, the boot URC chain still running.
    Booting,
}

impl PowerState {
    /// `on`, `off` or `booting`.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::On => "on",
            PowerState::Off => "off",
            PowerState::Booting => "booting",
        }
    }
}

/// Network registration (`AT+CREG?` / `AT+CEREG?`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationStatus {
    /// `<stat>`.
    pub stat: u8,
    /// `<AcT>` while registered.
    pub act: Option<u8>,
}

/// Signal quality as `AT+CSQ` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalStatus {
    /// `<rssi>` 0–31, 99 unknown.
    pub rssi: u8,
    /// `<ber>` 0–7, 99 unknown.
    pub ber: u8,
}

/// One PDP context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdpStatus {
    /// 1–16.
    pub cid: u8,
    /// Activated (`AT+QIACT?` lists it).
    pub active: bool,
    /// Its IPv4 address while active.
    pub address: Option<String>,
}

/// The MQTT state of a client, as `AT+QMTOPEN?` / `AT+QMTCONN?` tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// No link.
    Closed,
    /// `AT+QMTOPEN` waiting for the link.
    Opening,
    /// Link open, no MQTT session.
    Open,
    /// CONNECT sent, waiting for CONNACK.
    Connecting,
    /// Connected to the broker.
    Connected,
    /// DISCONNECT sent.
    Disconnecting,
}

impl ClientState {
    /// The lower-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ClientState::Closed => "closed",
            ClientState::Opening => "opening",
            ClientState::Open => "open",
            ClientState::Connecting => "connecting",
            ClientState::Connected => "connected",
            ClientState::Disconnecting => "disconnecting",
        }
    }
}

/// One MQTT client 0–5.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientStatus {
    /// `<client_idx>`.
    pub client: u8,
    /// Its state.
    pub state: ClientState,
    /// The broker, while a link is opening or open.
    pub host: Option<String>,
    /// The broker's port.
    pub port: Option<u16>,
    /// Packets waiting for their acknowledgement.
    pub in_flight: usize,
    /// Publishes sent since power-up.
    pub sent: u64,
    /// Publishes received since power-up.
    pub received: u64,
}

/// A module's state.
#[derive(Clone, Debug)]
pub struct ModuleStatus {
    /// `AT+CGMM`.
    pub model: &'static str,
    /// `AT+GSN`.
    pub imei: String,
    /// `AT+CIMI`.
    pub imsi: String,
    /// `AT+QCCID`.
    pub iccid: String,
    /// Power.
    pub power: PowerState,
    /// Registration.
    pub registration: RegistrationStatus,
    /// Signal quality.
    pub signal: SignalStatus,
    /// Contexts defined or active.
    pub pdp: Vec<PdpStatus>,
    /// Clients that are not closed.
    pub mqtt: Vec<ClientStatus>,
    /// The active faults.
    pub faults: Vec<ActiveFault>,
    /// Final error results written since the module was created, by code,
    /// sorted: `(None, n)` is plain `ERROR`, `(Some(c), n)` is
    /// `+CME ERROR: c` (also when `AT+CMEE=0` writes it as `ERROR`).
    pub errors: Vec<(Option<u16>, u64)>,
}
