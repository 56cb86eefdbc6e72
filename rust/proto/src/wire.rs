// SPDX-License-Identifier: GPL-2.0
//! Bounds-checked little-endian reader and writer over byte slices.
//!
//! All protocols in this crate (DOE, SPDM, IDE_KM, TDISP and the firmware
//! command buffers) encode multi-byte integers little-endian. Every access
//! goes through [`Reader`] or [`Writer`], which never index out of bounds and
//! report short input or short output as an [`Error`].

use core::fmt;

/// Why a message could not be decoded or encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input ended before the layout did.
    Truncated,
    /// The input has bytes after the end of the layout.
    TrailingBytes,
    /// The output buffer cannot hold the encoded message.
    BufferTooSmall,
    /// A field holds a value the layout does not allow; names the field.
    InvalidField(&'static str),
    /// The message code (SPDM request/response code, TDISP message type,
    /// IDE_KM object id) is not the one being decoded.
    UnexpectedCode(u8),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("message truncated"),
            Error::TrailingBytes => f.write_str("trailing bytes after message"),
            Error::BufferTooSmall => f.write_str("output buffer too small"),
            Error::InvalidField(name) => write!(f, "invalid field {name}"),
            Error::UnexpectedCode(code) => write!(f, "unexpected message code {code:#04x}"),
        }
    }
}

/// Result of a codec operation.
pub type Result<T> = core::result::Result<T, Error>;

/// A cursor that consumes a byte slice from the front.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    consumed: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, consumed: 0 }
    }

    /// Takes the next `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8]> {
        let head = self.buf.get(..len).ok_or(Error::Truncated)?;
        self.buf = self.buf.get(len..).ok_or(Error::Truncated)?;
        self.consumed += len;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array reference.
    pub fn array<const N: usize>(&mut self) -> Result<&'a [u8; N]> {
        self.bytes(N)?.try_into().map_err(|_| Error::Truncated)
    }

    /// Skips `len` reserved bytes; receivers ignore reserved fields.
    pub fn skip(&mut self, len: usize) -> Result<()> {
        self.bytes(len).map(|_| ())
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a little-endian `u16`.
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(*self.array()?))
    }

    /// Reads a little-endian 24-bit integer.
    pub fn u24(&mut self) -> Result<u32> {
        let b = self.array::<3>()?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(*self.array()?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(*self.array()?))
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// Takes everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.buf;
        self.consumed += rest.len();
        self.buf = &[];
        rest
    }

    /// Succeeds only if the whole input was consumed.
    pub fn finish(&self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes)
        }
    }
}

/// A cursor that fills a caller-provided buffer from the front.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// Starts writing at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Reserves the next `len` bytes and returns them for the caller to fill.
    pub fn reserve(&mut self, len: usize) -> Result<&mut [u8]> {
        let end = self.len.checked_add(len).ok_or(Error::BufferTooSmall)?;
        let start = self.len;
        let out = self.buf.get_mut(start..end).ok_or(Error::BufferTooSmall)?;
        self.len = end;
        Ok(out)
    }

    /// Appends `data`.
    pub fn bytes(&mut self, data: &[u8]) -> Result<()> {
        self.reserve(data.len())?.copy_from_slice(data);
        Ok(())
    }

    /// Appends `len` zero bytes (reserved fields, padding).
    pub fn zeros(&mut self, len: usize) -> Result<()> {
        self.reserve(len)?.fill(0);
        Ok(())
    }

    /// Appends one byte.
    pub fn u8(&mut self, value: u8) -> Result<()> {
        self.bytes(&[value])
    }

    /// Appends a little-endian `u16`.
    pub fn u16(&mut self, value: u16) -> Result<()> {
        self.bytes(&value.to_le_bytes())
    }

    /// Appends a little-endian 24-bit integer; fails if `value` does not fit.
    pub fn u24(&mut self, value: u32) -> Result<()> {
        let b = value.to_le_bytes();
        if b[3] != 0 {
            return Err(Error::InvalidField("u24"));
        }
        self.bytes(&b[..3])
    }

    /// Appends a little-endian `u32`.
    pub fn u32(&mut self, value: u32) -> Result<()> {
        self.bytes(&value.to_le_bytes())
    }

    /// Appends a little-endian `u64`.
    pub fn u64(&mut self, value: u64) -> Result<()> {
        self.bytes(&value.to_le_bytes())
    }

    /// Appends a length as a little-endian `u16`; fails if it does not fit.
    pub fn len_u16(&mut self, len: usize) -> Result<()> {
        self.u16(u16::try_from(len).map_err(|_| Error::InvalidField("length"))?)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The bytes written so far, mutably (for in-place encryption).
    pub fn written_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or(&mut [])
    }
}

/// Runs `encode` on a fresh [`Writer`] over `out` and returns the length written.
pub fn encode_into(
    out: &mut [u8],
    encode: impl FnOnce(&mut Writer<'_>) -> Result<()>,
) -> Result<usize> {
    let mut w = Writer::new(out);
    encode(&mut w)?;
    Ok(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reads_little_endian_and_detects_truncation() {
        let mut r = Reader::new(&[0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
        assert_eq!(r.u16(), Ok(0x0201));
        assert_eq!(r.u24(), Ok(0x050403));
        assert_eq!(r.finish(), Err(Error::TrailingBytes));
        assert_eq!(r.u16(), Err(Error::Truncated));
        assert_eq!(r.u8(), Ok(6));
        assert_eq!(r.finish(), Ok(()));
        assert_eq!(r.consumed(), 6);
    }

    #[test]
    fn writer_refuses_to_overflow() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.u16(0xBEEF), Ok(()));
        assert_eq!(w.u16(1), Err(Error::BufferTooSmall));
        assert_eq!(w.u24(0x0100_0000), Err(Error::InvalidField("u24")));
        assert_eq!(w.written(), &[0xEF, 0xBE]);
    }
}
