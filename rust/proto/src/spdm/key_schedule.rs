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
//! key, iv         = HKDF-Expand(secret, BinConcat(K, "key") / BinConcat(12, "iv"))
//! {req,rsp}_data' = HKDF-Expand({req,rsp}_data, BinConcat(H, "traffic upd"), H)   (KEY_UPDATE)
//! BinConcat(L, label, ctx) = L as u16 little-endian || "spdm1.x " || label || ctx
//! ```
//!
//! H is the digest size of the negotiated hash, which HKDF and HMAC use
//! (32 for SHA-256, 48 for SHA-384); K is the key size of the negotiated
//! AEAD (16 for AES-128-GCM, 32 for AES-256-GCM). The version label is
//! that of the negotiated SPDMVersion: "spdm1.2 " or "spdm1.3 "; nothing
//! else in the schedule depends on the version. A key update (DSP0277
//! "Session key update") replaces a direction's data secret with the next
//! one and derives its key and IV from it as above, the sequence number
//! starting again at 0.

use super::crypto::{AeadAlgo, CryptoError, Digest, HashAlgo, SpdmCrypto};
use super::{AEAD_IV_LEN, MAX_AEAD_KEY_LEN, MAX_HASH_LEN};

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

/// Longest BinConcat: length (2) + prefix (8) + longest label (12) + TH (H).
const BIN_CONCAT_MAX: usize = 2 + 8 + 12 + MAX_HASH_LEN;

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
    alg: HashAlgo,
    version: u8,
    secret: &Digest,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let mut info = [0u8; BIN_CONCAT_MAX];
    let length = u16::try_from(out.len()).map_err(|_| CryptoError::Failed)?;
    let len = bin_concat(version, length, label, context, &mut info)?;
    let info = info.get(..len).ok_or(CryptoError::Failed)?;
    crypto.hkdf_expand(alg, secret.as_slice(), info, out)
}

/// HKDF-Expand of a full-length (H) secret.
fn expand_secret<C: SpdmCrypto + ?Sized>(
    crypto: &C,
    alg: HashAlgo,
    version: u8,
    secret: &Digest,
    label: &[u8],
    context: &[u8],
) -> Result<Digest, CryptoError> {
    let mut out = Digest::zeroed(alg.digest_len())?;
    expand_label(
        crypto,
        alg,
        version,
        secret,
        label,
        context,
        out.as_mut_slice(),
    )?;
    Ok(out)
}

/// AEAD key and IV of one direction, with its record sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectionKeys {
    /// The AEAD the key is for.
    pub aead: AeadAlgo,
    /// Key storage: the first `aead.key_len()` bytes are the key, the rest
    /// zero (see [`Self::key`]).
    pub key: [u8; MAX_AEAD_KEY_LEN],
    /// Base IV; the sequence number is mixed in per record.
    pub iv: [u8; AEAD_IV_LEN],
    /// Sequence number of the next record in this direction.
    pub sequence: u64,
}

impl DirectionKeys {
    /// Derives the `aead` key and the IV from a handshake or data secret
    /// of hash `alg`.
    pub fn derive<C: SpdmCrypto + ?Sized>(
        crypto: &C,
        alg: HashAlgo,
        aead: AeadAlgo,
        version: u8,
        secret: &Digest,
    ) -> Result<Self, CryptoError> {
        let mut keys = Self {
            aead,
            key: [0; MAX_AEAD_KEY_LEN],
            iv: [0; AEAD_IV_LEN],
            sequence: 0,
        };
        let key = keys
            .key
            .get_mut(..aead.key_len())
            .ok_or(CryptoError::Failed)?;
        expand_label(crypto, alg, version, secret, b"key", &[], key)?;
        expand_label(crypto, alg, version, secret, b"iv", &[], &mut keys.iv)?;
        Ok(keys)
    }

    /// The key, `aead.key_len()` bytes.
    pub fn key(&self) -> &[u8] {
        self.key.get(..self.aead.key_len()).unwrap_or(&[])
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
    /// The negotiated hash (HKDF, HMAC, secret sizes).
    pub hash: HashAlgo,
    /// The negotiated AEAD (key sizes).
    pub aead: AeadAlgo,
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
    /// Derives the handshake secrets of SPDMVersion `version` with hash
    /// `hash` from the DHE shared secret and TH1; the session keys will be
    /// for `aead`.
    pub fn derive<C: SpdmCrypto + ?Sized>(
        crypto: &C,
        version: u8,
        hash: HashAlgo,
        aead: AeadAlgo,
        shared: &[u8],
        th1: &Digest,
    ) -> Result<Self, CryptoError> {
        let zeros = [0u8; MAX_HASH_LEN];
        let salt0 = zeros.get(..hash.digest_len()).ok_or(CryptoError::Failed)?;
        let handshake_secret = crypto.hkdf_extract(hash, salt0, shared)?;
        let th1 = th1.as_slice();
        let hs = &handshake_secret;
        let request = expand_secret(crypto, hash, version, hs, b"req hs data", th1)?;
        let response = expand_secret(crypto, hash, version, hs, b"rsp hs data", th1)?;
        Ok(Self {
            version,
            hash,
            aead,
            request_finished: expand_secret(crypto, hash, version, &request, b"finished", &[])?,
            response_finished: expand_secret(crypto, hash, version, &response, b"finished", &[])?,
            handshake_secret,
            request,
            response,
        })
    }

    /// AEAD keys protecting FINISH and FINISH_RSP.
    pub fn keys<C: SpdmCrypto + ?Sized>(&self, crypto: &C) -> Result<SessionKeys, CryptoError> {
        let (hash, aead, version) = (self.hash, self.aead, self.version);
        Ok(SessionKeys {
            request: DirectionKeys::derive(crypto, hash, aead, version, &self.request)?,
            response: DirectionKeys::derive(crypto, hash, aead, version, &self.response)?,
        })
    }

    /// Application data keys once TH2 is known.
    pub fn data_keys<C: SpdmCrypto + ?Sized>(
        &self,
        crypto: &C,
        th2: &Digest,
    ) -> Result<SessionKeys, CryptoError> {
        self.data_secrets(crypto, th2)?.keys(crypto)
    }

    /// Application data secrets once TH2 is known.
    pub fn data_secrets<C: SpdmCrypto + ?Sized>(
        &self,
        crypto: &C,
        th2: &Digest,
    ) -> Result<DataSecrets, CryptoError> {
        let (hash, aead, version) = (self.hash, self.aead, self.version);
        let salt1 = expand_secret(
            crypto,
            hash,
            version,
            &self.handshake_secret,
            b"derived",
            &[],
        )?;
        let zeros = [0u8; MAX_HASH_LEN];
        let ikm = zeros.get(..hash.digest_len()).ok_or(CryptoError::Failed)?;
        let master = crypto.hkdf_extract(hash, salt1.as_slice(), ikm)?;
        let th2 = th2.as_slice();
        Ok(DataSecrets {
            version,
            hash,
            aead,
            request: expand_secret(crypto, hash, version, &master, b"req app data", th2)?,
            response: expand_secret(crypto, hash, version, &master, b"rsp app data", th2)?,
        })
    }
}

/// One direction of a session's traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Requester to responder.
    Request,
    /// Responder to requester.
    Response,
}

/// The application data secrets of both directions, which KEY_UPDATE advances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSecrets {
    /// SPDMVersion whose label prefix every derivation uses.
    pub version: u8,
    /// The negotiated hash.
    pub hash: HashAlgo,
    /// The negotiated AEAD.
    pub aead: AeadAlgo,
    /// Requester data secret.
    pub request: Digest,
    /// Responder data secret.
    pub response: Digest,
}

impl DataSecrets {
    /// AEAD keys of both directions.
    pub fn keys<C: SpdmCrypto + ?Sized>(&self, crypto: &C) -> Result<SessionKeys, CryptoError> {
        Ok(SessionKeys {
            request: self.direction_keys(crypto, &self.request)?,
            response: self.direction_keys(crypto, &self.response)?,
        })
    }

    fn direction_keys<C: SpdmCrypto + ?Sized>(
        &self,
        crypto: &C,
        secret: &Digest,
    ) -> Result<DirectionKeys, CryptoError> {
        DirectionKeys::derive(crypto, self.hash, self.aead, self.version, secret)
    }

    /// The secrets after a key update of `direction` ("traffic upd"), and the
    /// new keys of that direction (sequence number 0); `self` is unchanged,
    /// so the caller decides when the update takes effect.
    pub fn updated<C: SpdmCrypto + ?Sized>(
        &self,
        crypto: &C,
        direction: Direction,
    ) -> Result<(Self, DirectionKeys), CryptoError> {
        let mut next = self.clone();
        let secret = match direction {
            Direction::Request => &mut next.request,
            Direction::Response => &mut next.response,
        };
        *secret = expand_secret(crypto, self.hash, self.version, secret, b"traffic upd", &[])?;
        let keys = self.direction_keys(crypto, secret)?;
        Ok((next, keys))
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
        // SHA-256: L = 32 for secrets, an AES-128-GCM key has L = 16.
        let len = bin_concat(0x12, 32, b"finished", &[], &mut out).unwrap();
        assert_eq!(&out[..len], b"\x20\x00spdm1.2 finished");
        let len = bin_concat(0x13, 16, b"key", &[], &mut out).unwrap();
        assert_eq!(&out[..len], b"\x10\x00spdm1.3 key");
        let len = bin_concat(0x12, 32, b"req hs data", &[0xCD; 32], &mut out).unwrap();
        assert_eq!(len, 2 + 8 + 11 + 32);
    }
}
