// SPDX-License-Identifier: GPL-2.0
//! DSP0277 secured-message records as carried in DOE type 2 objects.
//!
//! ```text
//! SessionID(4) Length(2) | AEAD( ApplicationDataLength(2) ApplicationData ) | MAC(16)
//! \____ AAD ____________/
//! ```
//!
//! The PCIe DOE binding (PCIe CMA) carries no explicit sequence number and
//! no random padding; Length counts everything after itself, MAC included.
//! Each direction keeps an implicit 64-bit sequence number, starting at 0
//! for each key set, XORed into the low-order bytes of the IV in
//! little-endian byte order, as DSP0277 1.2 specifies (1.0 and 1.1 left
//! the order open; this code uses the 1.2 order for both 1.1 and 1.2
//! sessions). The record layout is the same for secured-message
//! versions 1.1 and 1.2, and for both AEADs (AES-128-GCM and
//! AES-256-GCM: 12-byte IV, 16-byte MAC).

use super::crypto::{CryptoError, SpdmCrypto};
use super::key_schedule::DirectionKeys;
use super::wire::{self, Reader};
use super::{Error, Result, AEAD_IV_LEN, AEAD_TAG_LEN};

/// SessionID + Length: the associated data.
pub const HEADER_LEN: usize = 6;
/// ApplicationDataLength field size.
const APP_LEN_FIELD: usize = 2;
/// Bytes a record adds around its application data.
pub const OVERHEAD: usize = HEADER_LEN + APP_LEN_FIELD + AEAD_TAG_LEN;
/// Offset of the application data inside a record.
pub const APP_DATA_OFFSET: usize = HEADER_LEN + APP_LEN_FIELD;

/// The per-record nonce: the base IV with the sequence number mixed in.
fn record_iv(keys: &DirectionKeys) -> [u8; AEAD_IV_LEN] {
    let mut iv = keys.iv;
    for (b, s) in iv.iter_mut().zip(keys.sequence.to_le_bytes()) {
        *b ^= s;
    }
    iv
}

/// Advances the sequence number; a wrap would reuse a nonce, so it is refused.
fn advance(keys: &mut DirectionKeys) -> Result<()> {
    keys.sequence = keys
        .sequence
        .checked_add(1)
        .ok_or(Error::Session("sequence number exhausted"))?;
    Ok(())
}

/// The SessionID of a record, without decrypting it.
pub fn session_id(record: &[u8]) -> Result<u32> {
    Ok(Reader::new(record).u32()?)
}

/// Seals a record in place: `record[8..8 + app_len]` already holds the
/// application data; the header, length field and MAC are filled in.
/// Returns the record length.
pub fn seal_in_place<C: SpdmCrypto + ?Sized>(
    crypto: &C,
    keys: &mut DirectionKeys,
    session_id: u32,
    record: &mut [u8],
    app_len: usize,
) -> Result<usize> {
    let too_long = wire::Error::InvalidField("Length");
    let cipher_len = app_len.checked_add(APP_LEN_FIELD).ok_or(too_long)?;
    let length = u16::try_from(cipher_len.saturating_add(AEAD_TAG_LEN)).map_err(|_| too_long)?;
    let total = HEADER_LEN + cipher_len + AEAD_TAG_LEN;
    let record = record.get_mut(..total).ok_or(wire::Error::BufferTooSmall)?;
    let (aad, body) = record.split_at_mut(HEADER_LEN);
    aad[..4].copy_from_slice(&session_id.to_le_bytes());
    aad[4..].copy_from_slice(&length.to_le_bytes());
    let (plain, tag_out) = body.split_at_mut(cipher_len);
    // app_len < length, so it fits in u16 too.
    plain[..APP_LEN_FIELD].copy_from_slice(&(app_len as u16).to_le_bytes());
    let tag = crypto.aead_encrypt(keys.aead, keys.key(), &record_iv(keys), aad, plain)?;
    tag_out.copy_from_slice(&tag);
    advance(keys)?;
    Ok(total)
}

/// Authenticates and decrypts a record in place and returns its SessionID
/// and application data. Up to three bytes of DOE padding may follow the
/// record.
pub fn open<'b, C: SpdmCrypto + ?Sized>(
    crypto: &C,
    keys: &mut DirectionKeys,
    record: &'b mut [u8],
) -> Result<(u32, &'b [u8])> {
    let (session_id, length) = {
        let mut r = Reader::new(record);
        (r.u32()?, usize::from(r.u16()?))
    };
    if length < APP_LEN_FIELD + AEAD_TAG_LEN {
        return Err(wire::Error::InvalidField("Length").into());
    }
    let total = HEADER_LEN + length;
    let padding = record.get(total..).ok_or(wire::Error::Truncated)?;
    super::super::doe::check_padding(padding)?;
    let record = record.get_mut(..total).ok_or(wire::Error::Truncated)?;
    let (aad, body) = record.split_at_mut(HEADER_LEN);
    let (cipher, tag) = body.split_at_mut(length - AEAD_TAG_LEN);
    let tag: &[u8; AEAD_TAG_LEN] = (&*tag).try_into().map_err(|_| wire::Error::Truncated)?;
    match crypto.aead_decrypt(keys.aead, keys.key(), &record_iv(keys), aad, cipher, tag) {
        Ok(()) => {}
        // The provider could not try (e.g. out of memory): the record was received all the
        // same and used up its sequence number, which the next one must not reuse.
        Err(CryptoError::Failed) => {
            advance(keys)?;
            return Err(CryptoError::Failed.into());
        }
        Err(_) => return Err(Error::Session("record failed to authenticate")),
    }
    advance(keys)?;
    let cipher = &*cipher;
    let mut r = Reader::new(cipher);
    let app_len = usize::from(r.u16()?);
    // Anything after the application data is random padding.
    let app = r.bytes(app_len)?;
    Ok((session_id, app))
}

/// Largest record [`open_or`] can try a second time: one whose message is
/// a 4-byte header with up to 4 bytes of error data (KEY_UPDATE,
/// KEY_UPDATE_ACK, ERROR), plus DOE padding, with room to spare.
const RETRY_RECORD_MAX: usize = 64;

/// Like [`open`], but when `keys` fail to authenticate a small record and
/// `fallback` is given, tries `fallback` too (a record may be under either
/// side of a key update); AEAD failure may leave `record` changed, so it
/// is copied first. Returns whether `fallback` opened it, the SessionID
/// and the application data.
pub(crate) fn open_or<'b, C: SpdmCrypto + ?Sized>(
    crypto: &C,
    keys: &mut DirectionKeys,
    fallback: Option<&mut DirectionKeys>,
    record: &'b mut [u8],
) -> Result<(bool, u32, &'b [u8])> {
    let mut copy = [0u8; RETRY_RECORD_MAX];
    let saved = match (&fallback, copy.get_mut(..record.len())) {
        (Some(_), Some(copy)) => {
            copy.copy_from_slice(record);
            true
        }
        _ => false,
    };
    let first = open(crypto, keys, record).map(|(id, app)| (id, app.len()));
    let (used_fallback, (id, len)) = match (first, fallback) {
        (Ok(opened), _) => (false, opened),
        (Err(Error::Session(_)), Some(fallback)) if saved => {
            record.copy_from_slice(copy.get(..record.len()).unwrap_or(&[]));
            let opened = open(crypto, fallback, record).map(|(id, app)| (id, app.len()))?;
            (true, opened)
        }
        (Err(e), _) => return Err(e),
    };
    // `open` returns the application data at its fixed place in the record.
    let app = record
        .get(APP_DATA_OFFSET..APP_DATA_OFFSET + len)
        .ok_or(wire::Error::Truncated)?;
    Ok((used_fallback, id, app))
}
