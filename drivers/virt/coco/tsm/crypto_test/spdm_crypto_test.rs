// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `spdm_crypto`: known-answer tests of `kernel::crypto`, the primitives an SPDM
//! requester needs, with published test vectors.

use kernel::prelude::*;

module! {
    type: SpdmCryptoTest,
    name: "spdm_crypto_test",
    authors: ["tsm-rs developers"],
    description: "KUnit known-answer tests of kernel::crypto",
    license: "GPL",
}

struct SpdmCryptoTest;

impl kernel::Module for SpdmCryptoTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(spdm_crypto)]
mod tests {
    use kernel::crypto::sha2::Sha256;

    #[test]
    fn sha256_abc() {
        assert_eq!(Sha256::digest(b"abc")[..2], [0xba, 0x78]);
    }
}
