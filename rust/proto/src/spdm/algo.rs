// SPDX-License-Identifier: GPL-2.0
//! The algorithms the SPDM state machines can negotiate, as small `Copy`
//! enums with their sizes and DSP0274 bit values, and the sets both sides
//! intersect in NEGOTIATE_ALGORITHMS/ALGORITHMS.
//!
//! | field (DSP0274 1.3 Tables 15, 16, 21, 22) | values |
//! |---|---|
//! | BaseHashAlgo / BaseHashSel | SHA-256 (bit 0), SHA-384 (bit 1) |
//! | BaseAsymAlgo / BaseAsymSel | ECDSA P-256 (bit 4), ECDSA P-384 (bit 7) |
//! | DHE AlgStructure | secp256r1 (bit 3), secp384r1 (bit 4) |
//! | AEAD AlgStructure | AES-128-GCM (bit 0), AES-256-GCM (bit 1) |
//!
//! Each field is negotiated on its own: the requester offers bit masks,
//! the responder selects one bit of each from what both support.
//! DSP0274 attaches no order to the offered bits and lets the responder
//! pick any common one; both state machines here pick the strongest
//! ([`Supported::strongest`]).

use super::alg;

/// AES-GCM nonce (IV) size, the same for both key sizes.
pub const AEAD_IV_LEN: usize = 12;
/// AES-GCM tag size, the same for both key sizes.
pub const AEAD_TAG_LEN: usize = 16;
/// Capacity of a [`super::crypto::Digest`]: room for any supported hash
/// (and for SHA-512).
pub const MAX_HASH_LEN: usize = 64;
/// Largest supported signature (ECDSA P-384 `r || s`).
pub const MAX_SIGNATURE_LEN: usize = 96;
/// Largest supported DHE exchange data (secp384r1 `X || Y`).
pub const MAX_DHE_LEN: usize = 96;
/// Largest supported DHE shared secret (the secp384r1 X coordinate).
pub const MAX_SHARED_SECRET_LEN: usize = 48;
/// Largest supported AEAD key (AES-256-GCM).
pub const MAX_AEAD_KEY_LEN: usize = 32;

/// A base hash algorithm (BaseHashAlgo), also used for HMAC and HKDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgo {
    /// SHA-256 (TPM_ALG_SHA_256).
    Sha256,
    /// SHA-384 (TPM_ALG_SHA_384).
    Sha384,
}

impl HashAlgo {
    /// Every supported hash, strongest first.
    pub const ALL: [HashAlgo; 2] = [HashAlgo::Sha384, HashAlgo::Sha256];

    /// Digest size H in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            HashAlgo::Sha256 => 32,
            HashAlgo::Sha384 => 48,
        }
    }

    /// Its BaseHashAlgo/BaseHashSel bit.
    pub const fn bit(self) -> u32 {
        match self {
            HashAlgo::Sha256 => alg::HASH_SHA256,
            HashAlgo::Sha384 => alg::HASH_SHA384,
        }
    }

    /// Its MeasurementHashAlgo bit (a different encoding: bit 0 there is
    /// "raw bit stream only").
    pub const fn measurement_bit(self) -> u32 {
        match self {
            HashAlgo::Sha256 => alg::MEAS_HASH_SHA256,
            HashAlgo::Sha384 => alg::MEAS_HASH_SHA384,
        }
    }

    /// The hash a BaseHashSel value selects: exactly one known bit.
    pub const fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            alg::HASH_SHA256 => Some(HashAlgo::Sha256),
            alg::HASH_SHA384 => Some(HashAlgo::Sha384),
            _ => None,
        }
    }

    /// The hash a MeasurementHashAlgo value selects: exactly one known bit.
    pub const fn from_measurement_bits(bits: u32) -> Option<Self> {
        match bits {
            alg::MEAS_HASH_SHA256 => Some(HashAlgo::Sha256),
            alg::MEAS_HASH_SHA384 => Some(HashAlgo::Sha384),
            _ => None,
        }
    }
}

/// A base asymmetric (signature) algorithm (BaseAsymAlgo). Signatures are
/// raw `r || s`, each the size of the curve's field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AsymAlgo {
    /// ECDSA over NIST P-256 (TPM_ALG_ECDSA_ECC_NIST_P256).
    EcdsaP256,
    /// ECDSA over NIST P-384 (TPM_ALG_ECDSA_ECC_NIST_P384).
    EcdsaP384,
}

impl AsymAlgo {
    /// Every supported signature algorithm, strongest first.
    pub const ALL: [AsymAlgo; 2] = [AsymAlgo::EcdsaP384, AsymAlgo::EcdsaP256];

    /// Signature size S in bytes (`r || s`).
    pub const fn signature_len(self) -> usize {
        match self {
            AsymAlgo::EcdsaP256 => 64,
            AsymAlgo::EcdsaP384 => 96,
        }
    }

    /// Its BaseAsymAlgo/BaseAsymSel bit.
    pub const fn bit(self) -> u32 {
        match self {
            AsymAlgo::EcdsaP256 => alg::ASYM_ECDSA_P256,
            AsymAlgo::EcdsaP384 => alg::ASYM_ECDSA_P384,
        }
    }

    /// The algorithm a BaseAsymSel value selects: exactly one known bit.
    pub const fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            alg::ASYM_ECDSA_P256 => Some(AsymAlgo::EcdsaP256),
            alg::ASYM_ECDSA_P384 => Some(AsymAlgo::EcdsaP384),
            _ => None,
        }
    }
}

/// A DHE group (the DHE AlgStructure). Exchange data is `X || Y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DheGroup {
    /// ECDHE over secp256r1.
    Secp256r1,
    /// ECDHE over secp384r1.
    Secp384r1,
}

impl DheGroup {
    /// Every supported group, strongest first.
    pub const ALL: [DheGroup; 2] = [DheGroup::Secp384r1, DheGroup::Secp256r1];

    /// Exchange data size D in bytes (`X || Y`).
    pub const fn public_len(self) -> usize {
        match self {
            DheGroup::Secp256r1 => 64,
            DheGroup::Secp384r1 => 96,
        }
    }

    /// Shared secret size in bytes (the X coordinate).
    pub const fn shared_secret_len(self) -> usize {
        match self {
            DheGroup::Secp256r1 => 32,
            DheGroup::Secp384r1 => 48,
        }
    }

    /// Its DHE AlgSupported bit.
    pub const fn bit(self) -> u16 {
        match self {
            DheGroup::Secp256r1 => alg::DHE_SECP256R1,
            DheGroup::Secp384r1 => alg::DHE_SECP384R1,
        }
    }

    /// The group a DHE AlgSupported selection names: exactly one known bit.
    pub const fn from_bits(bits: u16) -> Option<Self> {
        match bits {
            alg::DHE_SECP256R1 => Some(DheGroup::Secp256r1),
            alg::DHE_SECP384R1 => Some(DheGroup::Secp384r1),
            _ => None,
        }
    }
}

/// An AEAD cipher suite (the AEAD AlgStructure): 12-byte IV, 16-byte tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AeadAlgo {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
}

impl AeadAlgo {
    /// Every supported AEAD, strongest first.
    pub const ALL: [AeadAlgo; 2] = [AeadAlgo::Aes256Gcm, AeadAlgo::Aes128Gcm];

    /// Key size in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            AeadAlgo::Aes128Gcm => 16,
            AeadAlgo::Aes256Gcm => 32,
        }
    }

    /// IV size in bytes.
    pub const fn iv_len(self) -> usize {
        AEAD_IV_LEN
    }

    /// Tag size in bytes.
    pub const fn tag_len(self) -> usize {
        AEAD_TAG_LEN
    }

    /// Its AEAD AlgSupported bit.
    pub const fn bit(self) -> u16 {
        match self {
            AeadAlgo::Aes128Gcm => alg::AEAD_AES_128_GCM,
            AeadAlgo::Aes256Gcm => alg::AEAD_AES_256_GCM,
        }
    }

    /// The suite an AEAD AlgSupported selection names: exactly one known bit.
    pub const fn from_bits(bits: u16) -> Option<Self> {
        match bits {
            alg::AEAD_AES_128_GCM => Some(AeadAlgo::Aes128Gcm),
            alg::AEAD_AES_256_GCM => Some(AeadAlgo::Aes256Gcm),
            _ => None,
        }
    }
}

/// What ALGORITHMS settled: one algorithm of each kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Algorithms {
    /// Base hash: transcripts, HMAC, HKDF, certificate chain digests.
    pub hash: HashAlgo,
    /// Base asymmetric algorithm: the responder's signatures.
    pub asym: AsymAlgo,
    /// DHE group of KEY_EXCHANGE.
    pub dhe: DheGroup,
    /// AEAD of secured messages.
    pub aead: AeadAlgo,
}

impl Algorithms {
    /// ECDSA P-384, SHA-384, secp384r1, AES-256-GCM.
    pub const P384: Algorithms = Algorithms {
        hash: HashAlgo::Sha384,
        asym: AsymAlgo::EcdsaP384,
        dhe: DheGroup::Secp384r1,
        aead: AeadAlgo::Aes256Gcm,
    };

    /// ECDSA P-256, SHA-256, secp256r1, AES-128-GCM.
    pub const P256: Algorithms = Algorithms {
        hash: HashAlgo::Sha256,
        asym: AsymAlgo::EcdsaP256,
        dhe: DheGroup::Secp256r1,
        aead: AeadAlgo::Aes128Gcm,
    };

    /// The message field sizes these algorithms give.
    pub const fn sizes(&self) -> super::AlgSizes {
        super::AlgSizes {
            hash: self.hash.digest_len(),
            signature: self.asym.signature_len(),
            dhe: self.dhe.public_len(),
        }
    }

    /// This selection as a one-bit-per-field set.
    pub const fn as_set(&self) -> Supported {
        Supported {
            hash: self.hash.bit(),
            asym: self.asym.bit(),
            dhe: self.dhe.bit(),
            aead: self.aead.bit(),
        }
    }
}

/// A set of algorithms in DSP0274 bit encoding: what a provider can do,
/// what a side is configured to offer, or their intersection.
///
/// `hash` uses the BaseHashAlgo bits, `asym` the BaseAsymAlgo bits, `dhe`
/// and `aead` the AlgSupported bits of their AlgStructures ([`alg`]).
/// Bits the state machines do not know are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Supported {
    /// BaseHashAlgo bits.
    pub hash: u32,
    /// BaseAsymAlgo bits.
    pub asym: u32,
    /// DHE group bits.
    pub dhe: u16,
    /// AEAD bits.
    pub aead: u16,
}

impl Supported {
    /// Every algorithm the state machines know.
    pub const ALL: Supported = Supported {
        hash: alg::HASH_SHA256 | alg::HASH_SHA384,
        asym: alg::ASYM_ECDSA_P256 | alg::ASYM_ECDSA_P384,
        dhe: alg::DHE_SECP256R1 | alg::DHE_SECP384R1,
        aead: alg::AEAD_AES_128_GCM | alg::AEAD_AES_256_GCM,
    };

    /// The P-384 suite only: ECDSA P-384, SHA-384, secp384r1, AES-256-GCM.
    pub const P384: Supported = Algorithms::P384.as_set();

    /// The P-256 suite only: ECDSA P-256, SHA-256, secp256r1, AES-128-GCM
    /// or AES-256-GCM.
    pub const P256: Supported = Supported {
        hash: alg::HASH_SHA256,
        asym: alg::ASYM_ECDSA_P256,
        dhe: alg::DHE_SECP256R1,
        aead: alg::AEAD_AES_128_GCM | alg::AEAD_AES_256_GCM,
    };

    /// Nothing.
    pub const NONE: Supported = Supported {
        hash: 0,
        asym: 0,
        dhe: 0,
        aead: 0,
    };

    /// The algorithms in both sets.
    pub const fn intersect(self, other: Supported) -> Supported {
        Supported {
            hash: self.hash & other.hash,
            asym: self.asym & other.asym,
            dhe: self.dhe & other.dhe,
            aead: self.aead & other.aead,
        }
    }

    /// The algorithms in either set.
    pub const fn union(self, other: Supported) -> Supported {
        Supported {
            hash: self.hash | other.hash,
            asym: self.asym | other.asym,
            dhe: self.dhe | other.dhe,
            aead: self.aead | other.aead,
        }
    }

    /// Only the bits the state machines know.
    pub const fn known(self) -> Supported {
        self.intersect(Supported::ALL)
    }

    /// Whether every algorithm of `algs` is in the set.
    pub const fn contains(&self, algs: &Algorithms) -> bool {
        self.hash & algs.hash.bit() != 0
            && self.asym & algs.asym.bit() != 0
            && self.dhe & algs.dhe.bit() != 0
            && self.aead & algs.aead.bit() != 0
    }

    /// The strongest hash in the set.
    pub fn strongest_hash(&self) -> Option<HashAlgo> {
        HashAlgo::ALL.into_iter().find(|a| self.hash & a.bit() != 0)
    }

    /// The strongest signature algorithm in the set.
    pub fn strongest_asym(&self) -> Option<AsymAlgo> {
        AsymAlgo::ALL.into_iter().find(|a| self.asym & a.bit() != 0)
    }

    /// The strongest DHE group in the set.
    pub fn strongest_dhe(&self) -> Option<DheGroup> {
        DheGroup::ALL.into_iter().find(|a| self.dhe & a.bit() != 0)
    }

    /// The strongest AEAD in the set.
    pub fn strongest_aead(&self) -> Option<AeadAlgo> {
        AeadAlgo::ALL.into_iter().find(|a| self.aead & a.bit() != 0)
    }

    /// The strongest algorithm of each kind, if the set has one of each:
    /// P-384 over P-256, SHA-384 over SHA-256, secp384r1 over secp256r1,
    /// AES-256-GCM over AES-128-GCM.
    pub fn strongest(&self) -> Option<Algorithms> {
        Some(Algorithms {
            hash: self.strongest_hash()?,
            asym: self.strongest_asym()?,
            dhe: self.strongest_dhe()?,
            aead: self.strongest_aead()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit values of DSP0274 1.3 Table 15 (BaseAsymAlgo, BaseHashAlgo),
    /// Table 16 (DHE, AEAD AlgSupported) and Table 21
    /// (MeasurementHashAlgo), and the sizes they imply.
    #[test]
    fn golden_bits_and_sizes() {
        assert_eq!(HashAlgo::Sha256.bit(), 0x01);
        assert_eq!(HashAlgo::Sha384.bit(), 0x02);
        assert_eq!(HashAlgo::Sha256.measurement_bit(), 0x02);
        assert_eq!(HashAlgo::Sha384.measurement_bit(), 0x04);
        assert_eq!(AsymAlgo::EcdsaP256.bit(), 0x10);
        assert_eq!(AsymAlgo::EcdsaP384.bit(), 0x80);
        assert_eq!(DheGroup::Secp256r1.bit(), 0x08);
        assert_eq!(DheGroup::Secp384r1.bit(), 0x10);
        assert_eq!(AeadAlgo::Aes128Gcm.bit(), 0x01);
        assert_eq!(AeadAlgo::Aes256Gcm.bit(), 0x02);
        assert_eq!(
            Algorithms::P256.sizes(),
            super::super::AlgSizes::P256_SHA256
        );
        assert_eq!(
            Algorithms::P384.sizes(),
            super::super::AlgSizes::P384_SHA384
        );
        assert_eq!(AeadAlgo::Aes128Gcm.key_len(), 16);
        assert_eq!(DheGroup::Secp256r1.shared_secret_len(), 32);
        for h in HashAlgo::ALL {
            assert_eq!(HashAlgo::from_bits(h.bit()), Some(h));
            assert_eq!(
                HashAlgo::from_measurement_bits(h.measurement_bit()),
                Some(h)
            );
        }
        for a in AsymAlgo::ALL {
            assert_eq!(AsymAlgo::from_bits(a.bit()), Some(a));
        }
        for g in DheGroup::ALL {
            assert_eq!(DheGroup::from_bits(g.bit()), Some(g));
        }
        for a in AeadAlgo::ALL {
            assert_eq!(AeadAlgo::from_bits(a.bit()), Some(a));
        }
        // Two bits, or none, select nothing.
        assert_eq!(HashAlgo::from_bits(0x03), None);
        assert_eq!(AsymAlgo::from_bits(0), None);
    }

    #[test]
    fn strongest_common() {
        assert_eq!(Supported::ALL.strongest(), Some(Algorithms::P384));
        assert_eq!(Supported::P384.strongest(), Some(Algorithms::P384));
        let p256 = Supported::P256.strongest().unwrap();
        assert_eq!(p256.aead, AeadAlgo::Aes256Gcm);
        assert_eq!(p256.asym, AsymAlgo::EcdsaP256);
        assert_eq!(Supported::P256.intersect(Supported::P384).strongest(), None);
        assert!(Supported::ALL.contains(&Algorithms::P256));
        assert!(!Supported::P384.contains(&Algorithms::P256));
    }
}
