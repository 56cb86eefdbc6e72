// SPDX-License-Identifier: GPL-2.0
//! Host-side helpers shared by the integration tests: the RustCrypto
//! [`SpdmCrypto`](tsm_proto::spdm::crypto::SpdmCrypto) provider of
//! `tools/spdm-rustcrypto`, a test certificate chain and a xorshift PRNG.
#![allow(dead_code)]

#[allow(unused_imports)] // codec.rs uses none of them
pub use tsm_spdm_rustcrypto::{
    raw_key_certificates as certificates, raw_key_chain, signing_key, signing_key_for,
};

/// The plain RustCrypto provider: SHA-256/384, HMAC/HKDF, AES-128/256-GCM,
/// ECDSA and ECDHE P-256/P-384, raw-key peer chains.
pub type HostCrypto = tsm_spdm_rustcrypto::RustCrypto;

/// xorshift64* PRNG for property tests.
pub struct Prng(u64);

impl Prng {
    /// Seeded generator (seed 0 is remapped).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    /// A random value below `bound` (bound > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// Up to `max - 1` random bytes.
    pub fn bytes_below(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max);
        self.bytes(len)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }
}
