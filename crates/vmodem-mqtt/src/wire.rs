//! The data representations shared by all packets (MQTT 3.1.1 §1.5; MQTT 3.1
//! "Data representations"): big-endian two-byte integers, and strings and binary
//! data prefixed by a two-byte length.
//!
//! Reading goes through [`Reader`], a cursor over one packet's body that turns
//! every short read into [`DecodeError::Truncated`] instead of panicking.

use bytes::BufMut;

use crate::error::{DecodeError, EncodeError};
use crate::header::PacketType;

/// Longest string or binary field: its length prefix is a `u16`.
pub(crate) const MAX_FIELD_LEN: usize = u16::MAX as usize;

/// Cursor over the body (the bytes inside the remaining length) of one packet.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    packet_type: PacketType,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], packet_type: PacketType) -> Self {
        Reader { buf, packet_type }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated {
                packet_type: self.packet_type,
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A packet identifier, which is never 0 (§2.3.1; 3.1 "Message Identifier").
    pub(crate) fn pkid(&mut self) -> Result<u16, DecodeError> {
        match self.u16()? {
            0 => Err(DecodeError::ZeroPacketId {
                packet_type: self.packet_type,
            }),
            id => Ok(id),
        }
    }

    /// Length-prefixed binary data (§1.5.2 of 3.1.1 calls it "Binary Data").
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// Length-prefixed UTF-8 string without U+0000 (§1.5.3 [MQTT-1.5.3-1],
    /// [MQTT-1.5.3-2]). Rust's UTF-8 check also refuses the UTF-16 surrogates
    /// that §1.5.3 forbids.
    pub(crate) fn string(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.binary()?;
        let s = core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
        if s.contains('\0') {
            return Err(DecodeError::NulCharacter);
        }
        Ok(s)
    }

    /// Everything left (a PUBLISH payload).
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// Fails if bytes are left: the remaining length said more than the content.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                packet_type: self.packet_type,
                count: self.buf.len(),
            })
        }
    }
}

/// Checks a string field for the encoder and returns its encoded size.
pub(crate) fn string_len(field: &'static str, s: &str) -> Result<usize, EncodeError> {
    if s.contains('\0') {
        return Err(EncodeError::NulCharacter { field });
    }
    binary_len(field, s.as_bytes())
}

/// Checks a binary field for the encoder and returns its encoded size.
pub(crate) fn binary_len(field: &'static str, b: &[u8]) -> Result<usize, EncodeError> {
    if b.len() > MAX_FIELD_LEN {
        return Err(EncodeError::FieldTooLong {
            field,
            len: b.len(),
        });
    }
    Ok(2 + b.len())
}

/// Writes a length-prefixed field already checked by [`binary_len`] or [`string_len`].
pub(crate) fn put_binary<B: BufMut>(out: &mut B, b: &[u8]) {
    // Checked before writing; the cast cannot truncate.
    out.put_u16(b.len() as u16);
    out.put_slice(b);
}

/// Checks a packet identifier for the encoder.
pub(crate) fn check_pkid(pkid: u16, packet_type: PacketType) -> Result<(), EncodeError> {
    if pkid == 0 {
        Err(EncodeError::ZeroPacketId { packet_type })
    } else {
        Ok(())
    }
}
