// SPDX-License-Identifier: GPL-2.0
//! The SPDM key schedule (DSP0274 1.2 and 1.3 "Key schedule" section).
//!
//! ```text
//! HandshakeSecret = HKDF-Extract(Salt_0 = 0^H, DHE shared secret)
//! {req,rsp}_hs    = HKDF-Expand(HandshakeSecret,
//!                               BinConcat(H, "req hs data"/"rsp hs data", TH1), H)
//! Salt_1          = HKDF-Expand(HandshakeSecret, BinConcat(H, "derived"), H)
//! MasterSecret    = HKDF-Extract(Salt_1, 0^H)
//! {req,rsp}_data  = HKDF-Expand(MasterSecret, BinConcat(H, "req app data"/"rsp app data", TH2), H)
//! finished_key    = HKDF-Expand(x_hs, BinConcat(H, "finished"), H)
//! key, iv         = HKDF-Expand(secret, BinConcat(32, "key") / BinConcat(12, "iv"))
//! BinConcat(L, label, ctx) = L as u16 little-endian || "spdm1.x " || label || ctx
//! ```
//!
//! The version label is that of the negotiated SPDMVersion: "spdm1.2 " or
//! "spdm1.3 "; nothing else in the schedule depends on the version.

use super::crypto::{CryptoError, Digest, SpdmCrypto};
use super::{AEAD_IV_LEN, AEAD_KEY_LEN, HASH_LEN};

/// Version prefix of every BinConcat label for SPDM 1.2.
pub const LABEL_PREFIX_12: &[u8; 8] = b"spdm1.2 ";
/// Version prefix of every BinConcat label for SPDM 1.3.
pub const LABEL_PREFIX_13: &[u8; 8] = b"spdm1.3 ";

/// The BinConcat version label for an SPDMVersion byte (1.3 for 1.3 and
/// later, 1.2 otherwise; the state machines negotiate nothing older).
fn label_prefix(version: u8) -> &'static [u8; 8] {
    if version >= super::VERSION_13 {
        LABEL_PREFIX_13
    } else {
        LABEL_PREFIX_12
    }
}

/// Longest BinConcat: length (2) + prefix (8) + longest label (12) + TH (48).
const BIN_CONCAT_MAX: usize = 2 + 8 + 12 + HASH_LEN;

/// Builds BinConcat(`length`, `label`, `context`) for SPDMVersion
/// `version` into `out`, returning its size.
pub fn bin_concat(
    version: u8,
    length: u16,
    label: &[u8],
    context: &[u8],
    out: &mut [u8; BIN_CONCAT_MAX],
) -> Result<usize, CryptoError> {
    let mut w = super::wire::Writer::new(out);
    w.u16(length)
        .and_then(|()| w.bytes(label_prefix(version)))
        .and_then(|()| w.bytes(label))
        .and_then(|()| w.bytes(context))
        .map_err(|_| CryptoError::Failed)?;
    Ok(w.len())
}

/// HKDF-Expand with a BinConcat info string.
fn expand_label<C: SpdmCrypto + ?Sized>(
    crypto: &C,
    version: u8,
    secret: &Digest,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let mut info = [0u8; BIN_CONCAT_MAX];
    let length = u16::try_from(out.len()).map_err(|_| CryptoError::Failed)?;
    let len = bin_concat(version, length, label, context, &mut info)?;
    crypto.hkdf_expand(secret, info.get(..len).ok_or(CryptoError::Failed)?, out)
}

/// HKDF-Expand of a full-length (H) secret.
fn expand_secret<C: SpdmCrypto + ?Sized>(
    crypto: &C,
    version: u8,
    secret: &Digest,
    label: &[u8],
    context: &[u8],
) -> Result<Digest, CryptoError> {
    let mut out = [0u8; HASH_LEN];
    expand_label(crypto, version, secret, label, context, &mut out)?;
    Ok(out)
}

/// AEAD key and IV of one direction, with its record sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectionKeys {
    /// AES-256-GCM key.
    pub key: [u8; AEAD_KEY_LEN],
    /// Base IV; the sequence number is mixed in per record.
    pub iv: [u8; AEAD_IV_LEN],
    /// Sequence number of the next record in this direction.
    pub sequence: u64,
}

impl DirectionKeys {
    /// Derives the key and IV from a handshake or data secret.
    pub fn derive<C: SpdmCrypto + ?Sized>(
        crypto: &C,
        version: u8,
        secret: &Digest,
    ) -> Result<Self, CryptoError> {
        let mut keys = Self {
            key: [0; AEAD_KEY_LEN],
            iv: [0; AEAD_IV_LEN],
            sequence: 0,
        };
        expand_label(crypto, version, secret, b"key", &[], &mut keys.key)?;
        expand_label(crypto, version, secret, b"iv", &[], &mut keys.iv)?;
        Ok(keys)
    }
}

/// Keys of both directions for one phase (handshake or application data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionKeys {
    /// Requester-to-responder keys.
    pub request: DirectionKeys,
    /// Responder-to-requester keys.
    pub response: DirectionKeys,
}

/// Handshake-phase secrets derived once TH1 is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeSecrets {
    /// SPDMVersion whose label prefix every derivation uses.
    pub version: u8,
    /// HandshakeSecret, input to the master secret.
    pub handshake_secret: Digest,
    /// Requester handshake secret.
    pub request: Digest,
    /// Responder handshake secret.
    pub response: Digest,
    /// Requester finished key (RequesterVerifyData HMAC key).
    pub request_finished: Digest,
    /// Responder finished key (ResponderVerifyData HMAC key).
    pub response_finished: Digest,
}

impl HandshakeSecrets {
    /// Derives the handshake secrets of SPDMVersion `version` from the DHE
    /// shared secret and TH1.
    pub fn derive<C: SpdmCrypto + ?Sized>(
        crypto: &C,
        version: u8,
        shared: &[u8],
        th1: &Digest,
    ) -> Result<Self, CryptoError> {
        let handshake_secret = crypto.hkdf_extract(&[0u8; HASH_LEN], shared);
        let request = expand_secret(crypto, version, &handshake_secret, b"req hs data", th1)?;
        let response = expand_secret(crypto, version, &handshake_secret, b"rsp hs data", th1)?;
        Ok(Self {
            version,
            request_finished: expand_secret(crypto, version, &request, b"finished", &[])?,
            response_finished: expand_secret(crypto, version, &response, b"finished", &[])?,
            handshake_secret,
            request,
            response,
        })
    }

    /// AEAD keys protecting FINISH and FINISH_RSP.
    pub fn keys<C: SpdmCrypto + ?Sized>(&self, crypto: &C) -> Result<SessionKeys, CryptoError> {
        Ok(SessionKeys {
            request: DirectionKeys::derive(crypto, self.version, &self.request)?,
            response: DirectionKeys::derive(crypto, self.version, &self.response)?,
        })
    }

    /// Application data keys once TH2 is known.
    pub fn data_keys<C: SpdmCrypto + ?Sized>(
        &self,
        crypto: &C,
        th2: &Digest,
    ) -> Result<SessionKeys, CryptoError> {
        let version = self.version;
        let salt1 = expand_secret(crypto, version, &self.handshake_secret, b"derived", &[])?;
        let master = crypto.hkdf_extract(&salt1, &[0u8; HASH_LEN]);
        let request = expand_secret(crypto, version, &master, b"req app data", th2)?;
        let response = expand_secret(crypto, version, &master, b"rsp app data", th2)?;
        Ok(SessionKeys {
            request: DirectionKeys::derive(crypto, version, &request)?,
            response: DirectionKeys::derive(crypto, version, &response)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BinConcat("finished") for SHA-384: 0x0030 || "spdm1.2 " || "finished";
    /// SPDM 1.3 changes only the version label.
    #[test]
    fn golden_bin_concat() {
        let mut out = [0u8; BIN_CONCAT_MAX];
        let len = bin_concat(0x12, 48, b"finished", &[], &mut out).unwrap();
        assert_eq!(&out[..len], b"\x30\x00spdm1.2 finished");
        let len = bin_concat(0x12, 12, b"iv", &[0xAB; 48], &mut out).unwrap();
        assert_eq!(len, 2 + 8 + 2 + 48);
        assert_eq!(&out[..12], b"\x0c\x00spdm1.2 iv");
        let len = bin_concat(0x13, 32, b"key", &[], &mut out).unwrap();
        assert_eq!(&out[..len], b"\x20\x00spdm1.3 key");
    }
}
