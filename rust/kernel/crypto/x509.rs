// SPDX-License-Identifier: GPL-2.0

//! X.509 certificates, parsed by the kernel's certificate parser (`crypto/asymmetric_keys`).
//!
//! A device that authenticates itself (PCIe CMA, DMTF SPDM) presents a chain of DER
//! certificates. [`Certificate::parse`] decodes one of them; [`Certificate::verify_issued_by`]
//! checks its signature with the public key of the certificate above it, and
//! [`Certificate::ec_public_key`] gives the key a leaf certificate certifies, for the
//! verification of the device's signatures with [`super::ecdsa::EcdsaVerifier`].
//!
//! Nothing here decides whether a certificate is trusted: no keyring, no validity period, no
//! name constraints. Those decisions belong to whoever holds the trust anchors.
//!
//! C header: [`include/keys/x509-parser.h`](srctree/include/keys/x509-parser.h)
//!
//! # Examples
//!
//! ```
//! use kernel::crypto::x509::{der_len, Certificate};
//!
//! // Not a certificate: a SEQUENCE holding one INTEGER.
//! let junk = [0x30, 0x03, 0x02, 0x01, 0x00];
//! assert_eq!(der_len(&junk), Some(5));
//! assert!(Certificate::parse(&junk).is_err());
//! // Truncated input is refused before the parser sees it.
//! assert!(Certificate::parse(&junk[..4]).is_err());
//! ```

use super::Curve;
use crate::{
    bindings,
    error::{from_err_ptr, to_result},
    prelude::*,
};
use core::ptr::NonNull;

/// Length of the DER element that starts `der` (tag, length and contents), if `der` holds all
/// of it.
///
/// Only the definite length forms that DER allows are accepted (short form, and long forms of
/// one to four length bytes). A chain of certificates is a concatenation of such elements.
///
/// # Examples
///
/// ```
/// use kernel::crypto::x509::der_len;
///
/// assert_eq!(der_len(&[0x30, 0x00]), Some(2));
/// assert_eq!(der_len(&[0x30, 0x81, 0x01, 0xaa]), Some(4));
/// assert_eq!(der_len(&[0x30, 0x81, 0x02, 0xaa]), None); // Shorter than it claims.
/// assert_eq!(der_len(&[0x30, 0x80, 0x00, 0x00]), None); // Indefinite length.
/// ```
pub fn der_len(der: &[u8]) -> Option<usize> {
    let first = *der.get(1)?;
    let (header, contents) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = der.get(2..2 + count)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (2 + count, len)
    };
    let total = header.checked_add(contents)?;
    (total <= der.len()).then_some(total)
}

/// A parsed X.509 certificate (C `struct x509_certificate`).
///
/// # Invariants
///
/// `raw` was returned by a successful `x509_cert_parse()` and is owned by this object; its `pub`
/// and `sig` members are valid and never change.
pub struct Certificate {
    raw: NonNull<bindings::x509_certificate>,
}

// SAFETY: The parsed certificate is owned by this object and only read after parsing; the
// functions that read it may run on any thread.
unsafe impl Send for Certificate {}
// SAFETY: Every method takes `&self` and only reads the certificate.
unsafe impl Sync for Certificate {}

impl Certificate {
    /// Parses the DER certificate `der`, which must be exactly one certificate.
    ///
    /// Returns [`EBADMSG`] if `der` is not one complete DER element, or the parser's error
    /// (`EBADMSG` for a malformed certificate, `ENOPKG` for an algorithm the kernel does not
    /// know, [`ENOMEM`]).
    pub fn parse(der: &[u8]) -> Result<Self> {
        if der_len(der) != Some(der.len()) {
            return Err(EBADMSG);
        }
        // SAFETY: `der` is valid for reads of `der.len()` bytes; the parser copies what it
        // keeps.
        let raw = unsafe { bindings::x509_cert_parse(der.as_ptr().cast(), der.len()) };
        let raw = from_err_ptr(raw)?;
        // INVARIANT: a successful parse, owned from here on.
        Ok(Self {
            raw: NonNull::new(raw).ok_or(ENOMEM)?,
        })
    }

    fn cert(&self) -> &bindings::x509_certificate {
        // SAFETY: By the type invariant `raw` is a live certificate that nothing changes.
        unsafe { self.raw.as_ref() }
    }

    fn public_key(&self) -> &bindings::public_key {
        // SAFETY: By the type invariant `pub` is valid as long as the certificate.
        unsafe { &*self.cert().pub_ }
    }

    /// Checks that `issuer`'s public key verifies this certificate's signature.
    ///
    /// Returns [`EKEYREJECTED`] if it does not, and `ENOPKG` if the signature algorithm is not
    /// available. Names and key identifiers are not compared: the signature is what binds a
    /// certificate to its issuer.
    pub fn verify_issued_by(&self, issuer: &Certificate) -> Result {
        if self.cert().unsupported_sig {
            return Err(ENOPKG);
        }
        let (key, sig) = (issuer.cert().pub_, self.cert().sig);
        // SAFETY: Both certificates are live (type invariant); the function only reads them.
        let ret = unsafe { bindings::public_key_verify_signature(key, sig) };
        match to_result(ret) {
            Err(e) if e == EBADMSG => Err(EKEYREJECTED),
            other => other,
        }
    }

    /// Whether the certificate is signed by its own key.
    pub fn is_self_signed(&self) -> bool {
        self.cert().self_signed
    }

    /// Whether the certificate's basic constraints say it is a CA.
    pub fn is_ca(&self) -> bool {
        self.public_key().key_eflags & (1 << bindings::KEY_EFLAG_CA) != 0
    }

    /// The subject's name as the parser renders it: the common name, "O: CN" when the common
    /// name does not start with the organization, or another attribute without a common name.
    pub fn subject(&self) -> &CStr {
        // SAFETY: The parser always sets `subject` to a NUL-terminated string owned by the
        // certificate.
        unsafe { CStr::from_char_ptr(self.cert().subject) }
    }

    /// The curve and raw public key `X || Y` of an ECDSA P-256 or P-384 key, or [`ENOPKG`] for
    /// any other kind of key.
    pub fn ec_public_key(&self) -> Result<(Curve, &[u8])> {
        let key = self.public_key();
        if key.pkey_algo.is_null() {
            return Err(ENOPKG);
        }
        // SAFETY: `pkey_algo` points to one of the parser's static strings.
        let algo = unsafe { CStr::from_char_ptr(key.pkey_algo) };
        let curve = if algo == c"ecdsa-nist-p256" {
            Curve::P256
        } else if algo == c"ecdsa-nist-p384" {
            Curve::P384
        } else {
            return Err(ENOPKG);
        };
        let len = key.keylen as usize;
        // SAFETY: `key` points to `keylen` bytes owned by the certificate.
        let sec1 = unsafe { core::slice::from_raw_parts(key.key.cast::<u8>(), len) };
        // An uncompressed point (SEC 1 section 2.3.3); the parser does not check the form.
        match sec1.split_first() {
            Some((0x04, point)) if point.len() == curve.point_len() => Ok((curve, point)),
            _ => Err(EBADMSG),
        }
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the certificate is owned by `self` and not used again.
        unsafe { bindings::x509_free_certificate(self.raw.as_ptr()) }
    }
}
