//! Delivering received messages to the host: `+QMTRECV` URCs, or the five
//! storage slots of buffer mode (`AT+QMTCFG="recv/mode",c,1`).

use bytes::Bytes;

/// Slots per client in buffer mode (application note, AT+QMTRECV: "the
/// maximum quantity of message that can be stored in the buffer is 5").
pub(crate) const SLOTS: usize = 5;

/// One received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) msg_id: u16,
    pub(crate) topic: String,
    pub(crate) payload: Bytes,
}

impl Message {
    /// `+QMTRECV: c,msgid,"topic",[len,]"payload"` with the payload raw.
    pub(crate) fn line(&self, client: u8, with_length: bool) -> Vec<u8> {
        let mut line =
            format!("+QMTRECV: {client},{},\"{}\",", self.msg_id, self.topic).into_bytes();
        if with_length {
            line.extend_from_slice(format!("{},", self.payload.len()).as_bytes());
        }
        line.push(b'"');
        line.extend_from_slice(&self.payload);
        line.push(b'"');
        line
    }
}

/// The storage slots of one client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Slots {
    slots: [Option<Message>; SLOTS],
}

impl Slots {
    /// No message stored (`const` for the idle clients' `static`).
    pub(crate) const EMPTY: Slots = Slots {
        slots: [const { None }; SLOTS],
    };

    /// Stores a message; returns its `recv_id`, or `None` when all are full.
    pub(crate) fn store(&mut self, msg: Message) -> Option<usize> {
        let free = self.slots.iter().position(Option::is_none)?;
        self.slots[free] = Some(msg);
        Some(free)
    }

    pub(crate) fn has_room(&self) -> bool {
        self.slots.iter().any(Option::is_none)
    }

    /// `<store_status_0>`…`<store_status_4>` of `AT+QMTRECV?`.
    pub(crate) fn status(&self) -> String {
        self.slots
            .iter()
            .map(|s| if s.is_some() { "1" } else { "0" })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Takes the message in slot `recv_id`, or every stored message in slot order.
    pub(crate) fn take(&mut self, recv_id: Option<usize>) -> Vec<Message> {
        match recv_id {
            Some(i) => self
                .slots
                .get_mut(i)
                .and_then(Option::take)
                .into_iter()
                .collect(),
            None => self.slots.iter_mut().filter_map(Option::take).collect(),
        }
    }
}
