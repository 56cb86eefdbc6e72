// SPDX-License-Identifier: GPL-2.0
//! Pieces both state machines share: DOE framing of plain and secured
//! messages, the 1.2/1.3 signing prefix, and the session transcript and keys.

use super::super::doe;
use super::crypto::{Algorithms, Digest, HashAlgo, SpdmCrypto, Supported};
use super::key_schedule::{DataSecrets, DirectionKeys, HandshakeSecrets, SessionKeys};
use super::wire::{self, Writer};
use super::{secured, Result, MAX_HASH_LEN};

/// Offset of a plain SPDM message inside a DOE object.
pub(crate) const PLAIN_OFFSET: usize = doe::HEADER_LEN;
/// Offset of the application data inside a DOE object holding a record.
pub(crate) const SECURED_OFFSET: usize = doe::HEADER_LEN + secured::HEADER_LEN + 2;

/// Size of the combined signing prefix (1.2 and later).
const SIGNING_PREFIX_LEN: usize = 100;
/// One repetition of the version string in the prefix, per SPDMVersion.
const SIGNING_VERSION_12: &[u8; 16] = b"dmtf-spdm-v1.2.*";
/// The 1.3 version string.
const SIGNING_VERSION_13: &[u8; 16] = b"dmtf-spdm-v1.3.*";
/// Signing context strings (DSP0274 1.2/1.3 "signature generation").
pub const CONTEXT_CHALLENGE_AUTH: &[u8] = b"responder-challenge_auth signing";
/// Context of KEY_EXCHANGE_RSP signatures.
pub const CONTEXT_KEY_EXCHANGE_RSP: &[u8] = b"responder-key_exchange_rsp signing";
/// Context of MEASUREMENTS signatures.
pub const CONTEXT_MEASUREMENTS: &[u8] = b"responder-measurements signing";

/// The data an SPDM 1.2/1.3 signature covers.
pub struct SigningInput {
    bytes: [u8; SIGNING_PREFIX_LEN + MAX_HASH_LEN],
    len: usize,
}

impl SigningInput {
    /// The bytes to sign or verify.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// The data an SPDM 1.2/1.3 signature covers: "dmtf-spdm-v1.x.*" (x the
/// negotiated minor version) four times, zero padding, the context
/// right-aligned in 36 bytes, then Hash(M) (H bytes of the negotiated hash).
pub fn signing_input(version: u8, context: &[u8], digest: &Digest) -> SigningInput {
    let mut out = [0u8; SIGNING_PREFIX_LEN + MAX_HASH_LEN];
    let prefix = if version >= super::VERSION_13 {
        SIGNING_VERSION_13
    } else {
        SIGNING_VERSION_12
    };
    for chunk in out[..64].chunks_exact_mut(16) {
        chunk.copy_from_slice(prefix);
    }
    // Contexts are constants no longer than 36 bytes.
    let start = SIGNING_PREFIX_LEN.saturating_sub(context.len()).max(64);
    if let Some(dst) = out.get_mut(start..SIGNING_PREFIX_LEN) {
        dst.copy_from_slice(context.get(..SIGNING_PREFIX_LEN - start).unwrap_or(context));
    }
    let digest = digest.as_slice();
    let len = SIGNING_PREFIX_LEN + digest.len();
    if let Some(dst) = out.get_mut(SIGNING_PREFIX_LEN..len) {
        dst.copy_from_slice(digest);
    }
    SigningInput { bytes: out, len }
}

/// The transcript from GET_VERSION until ALGORITHMS names the hash: one
/// running hash per algorithm that may still be selected.
pub(crate) struct EarlyTranscript<C: SpdmCrypto> {
    hashes: [(HashAlgo, Option<C::Hash>); 2],
}

impl<C: SpdmCrypto> EarlyTranscript<C> {
    /// Starts a hash for each algorithm of `set.hash`.
    pub(crate) fn new(crypto: &C, set: Supported) -> Self {
        let start = |alg: HashAlgo| (set.hash & alg.bit() != 0).then(|| crypto.hash_new(alg));
        Self {
            hashes: [
                (HashAlgo::Sha256, start(HashAlgo::Sha256)),
                (HashAlgo::Sha384, start(HashAlgo::Sha384)),
            ],
        }
    }

    /// Appends message bytes.
    pub(crate) fn update(&mut self, crypto: &C, bytes: &[u8]) {
        for hash in self.hashes.iter_mut().filter_map(|(_, h)| h.as_mut()) {
            crypto.hash_update(hash, bytes);
        }
    }

    /// The transcript hashed with `alg`, if it was started.
    pub(crate) fn take(&mut self, alg: HashAlgo) -> Option<C::Hash> {
        self.hashes
            .iter_mut()
            .find(|(a, _)| *a == alg)
            .and_then(|(_, h)| h.take())
    }
}

/// Wraps the message already written at [`PLAIN_OFFSET`] or
/// [`SECURED_OFFSET`] of `out` into a DOE object; seals it when `seal`
/// is given. Returns the object length.
pub(crate) fn frame<C: SpdmCrypto + ?Sized>(
    out: &mut [u8],
    msg_len: usize,
    seal: Option<(&C, &mut DirectionKeys, u32)>,
) -> Result<usize> {
    let (object_type, payload_len) = match seal {
        None => (doe::TYPE_CMA, msg_len),
        Some((crypto, keys, session_id)) => {
            let record = out
                .get_mut(doe::HEADER_LEN..)
                .ok_or(wire::Error::BufferTooSmall)?;
            (
                doe::TYPE_SECURED_CMA,
                secured::seal_in_place(crypto, keys, session_id, record, msg_len)?,
            )
        }
    };
    Ok(doe::encode_object_with(
        doe::PCI_SIG_VENDOR_ID,
        object_type,
        out,
        |w: &mut Writer<'_>| w.reserve(payload_len).map(|_| ()),
    )?)
}

/// An SPDM session's transcript and keys, the same on both sides.
pub(crate) struct Session<C: SpdmCrypto> {
    /// SessionID: RspSessionID << 16 | ReqSessionID.
    pub(crate) id: u32,
    /// The negotiated algorithms.
    hash: HashAlgo,
    /// Running transcript VCA || Ct || KEY_EXCHANGE || KEY_EXCHANGE_RSP || FINISH...
    th: C::Hash,
    th1: Digest,
    secrets: HandshakeSecrets,
    /// Keys in use: handshake keys until FINISH_RSP, then data keys.
    pub(crate) keys: SessionKeys,
    /// Whether FINISH completed and application data keys are in use.
    pub(crate) established: bool,
    /// The data secrets behind `keys` once established (KEY_UPDATE advances them).
    pub(crate) data: Option<DataSecrets>,
    /// A KEY_UPDATE (UpdateKey or UpdateAllKeys) was acknowledged and
    /// VerifyNewKey has not confirmed it yet.
    pub(crate) unverified_update: bool,
    /// Secured-message version selected in KEY_EXCHANGE_RSP.
    pub(crate) secured_version: u16,
    /// HeartbeatPeriod of KEY_EXCHANGE_RSP in seconds (0: no heartbeat).
    pub(crate) heartbeat_period: u8,
    /// L1 of GET_MEASUREMENTS sent in this session: VCA || requests and
    /// responses since the last signed one (kept apart from the
    /// connection's L1).
    pub(crate) l1: C::Hash,
}

/// What KEY_EXCHANGE(_RSP) settled, besides the transcript and the secret.
pub(crate) struct SessionParams<'v, C: SpdmCrypto> {
    /// SessionID: RspSessionID << 16 | ReqSessionID.
    pub(crate) id: u32,
    /// Negotiated SPDMVersion (selects the key schedule labels).
    pub(crate) version: u8,
    /// Negotiated algorithms (hash and AEAD of the key schedule).
    pub(crate) algorithms: Algorithms,
    /// Selected secured-message version.
    pub(crate) secured_version: u16,
    /// HeartbeatPeriod in seconds.
    pub(crate) heartbeat_period: u8,
    /// VCA, the start of the session's measurement transcript.
    pub(crate) vca: &'v C::Hash,
}

impl<C: SpdmCrypto> Session<C> {
    /// Starts a session from the transcript up to and including the
    /// KEY_EXCHANGE_RSP signature and the DHE shared secret.
    pub(crate) fn new(
        crypto: &C,
        params: SessionParams<'_, C>,
        th: C::Hash,
        shared: &[u8],
    ) -> Result<Self> {
        let th1 = crypto.hash_finish(th.clone());
        let algs = params.algorithms;
        let secrets =
            HandshakeSecrets::derive(crypto, params.version, algs.hash, algs.aead, shared, &th1)?;
        let keys = secrets.keys(crypto)?;
        Ok(Self {
            id: params.id,
            hash: algs.hash,
            th,
            th1,
            secrets,
            keys,
            established: false,
            data: None,
            unverified_update: false,
            secured_version: params.secured_version,
            heartbeat_period: params.heartbeat_period,
            l1: params.vca.clone(),
        })
    }

    /// ResponderVerifyData = HMAC(rsp finished key, TH1).
    pub(crate) fn responder_verify_data(&self, crypto: &C) -> Result<Digest> {
        let key = self.secrets.response_finished.as_slice();
        Ok(crypto.hmac(self.hash, key, self.th1.as_slice())?)
    }

    /// RequesterVerifyData = HMAC(req finished key, Hash(transcript so far)).
    pub(crate) fn requester_verify_data(&self, crypto: &C) -> Result<Digest> {
        let key = self.secrets.request_finished.as_slice();
        let th = crypto.hash_finish(self.th.clone());
        Ok(crypto.hmac(self.hash, key, th.as_slice())?)
    }

    /// Appends message bytes to the session transcript.
    pub(crate) fn append(&mut self, crypto: &C, bytes: &[u8]) {
        crypto.hash_update(&mut self.th, bytes);
    }

    /// Switches to application data keys derived from TH2 (the transcript
    /// through FINISH_RSP).
    pub(crate) fn establish(&mut self, crypto: &C) -> Result<()> {
        let th2 = crypto.hash_finish(self.th.clone());
        let data = self.secrets.data_secrets(crypto, &th2)?;
        self.keys = data.keys(crypto)?;
        self.data = Some(data);
        self.established = true;
        Ok(())
    }

    /// The data secrets, or a session error before FINISH completed.
    pub(crate) fn data(&self) -> Result<&DataSecrets> {
        self.data
            .as_ref()
            .ok_or(super::Error::Session("session not established"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signed data: the version string four times (64 bytes), zero
    /// padding, the context right-aligned to byte 100, then the digest.
    #[test]
    fn golden_signing_input() {
        for (version, prefix, len) in [
            (0x12, b"dmtf-spdm-v1.2.*", 48),
            (0x13, b"dmtf-spdm-v1.3.*", 48),
            (0x12, b"dmtf-spdm-v1.2.*", 32),
            (0x13, b"dmtf-spdm-v1.3.*", 32),
        ] {
            let digest = Digest::from_slice(&[0xAB; 48][..len]).unwrap();
            let input = signing_input(version, CONTEXT_CHALLENGE_AUTH, &digest);
            let input = input.as_slice();
            assert_eq!(input.len(), 100 + len);
            for chunk in input[..64].chunks_exact(16) {
                assert_eq!(chunk, prefix);
            }
            assert_eq!(&input[64..68], &[0; 4]);
            assert_eq!(&input[68..100], CONTEXT_CHALLENGE_AUTH);
            assert_eq!(&input[100..], digest.as_slice());
        }
    }
}
