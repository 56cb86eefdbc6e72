// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `spdm_wycheproof`: every test case of the shared Project Wycheproof files
//! (`../shared/vectors/wycheproof` next to the repository) through `kernel::crypto`, the
//! primitives the kernel's SPDM provider `tsm_spdm::KernelCrypto` uses: HMAC-SHA256/384,
//! HKDF-SHA256/384, AES-GCM, ECDH and ECDSA (raw `r || s`) on P-256/SHA-256 and P-384/SHA-384.
//! `rust/proto/tests/wycheproof.rs` runs the same files against RustCrypto on the host.
//!
//! The vectors are never copied into the repository or the kernel: `scripts/test` packs them
//! with `scripts/lib/wycheproof_pack.py` into one blob (its format is documented there and in
//! [`Blob`]) and puts it into the KUnit boot's initramfs as `/lib/firmware/tsm-rs/wycheproof.bin`,
//! which the cases load with the firmware loader. Without the blob each case reports `SKIP`.
//!
//! A case the kernel API cannot express is skipped with a counted reason (AES-GCM IVs other
//! than 96 bits, ECDH public keys that are not uncompressed points, ECDH private keys outside
//! the `[2, n - 3]` that `crypto/ecc.c` accepts). One kernel deviation is counted by name and
//! listed case by case: ECDH refuses a valid peer point with x = 0 (`EFAULT`), because
//! `ecc_point_mult()` recovers the final `1/Z` through a division by the point's x. Every other
//! case must give Wycheproof's result, and each file's counts are printed.

use kernel::{
    crypto::{
        aes_gcm::{AesGcmKey, NONCE_LEN, TAG_LEN},
        ct_eq,
        ecdh::EcdhKey,
        ecdsa::EcdsaVerifier,
        hkdf,
        hmac::{self, HmacSha256, HmacSha384},
        sha2::{Sha256, Sha384, SHA256_DIGEST_LEN, SHA384_DIGEST_LEN},
        Curve,
    },
    faux,
    firmware::Firmware,
    prelude::*,
};

/// The blob, as a firmware file name.
pub(crate) const BLOB_NAME: &CStr = c"tsm-rs/wycheproof.bin";

const MAGIC: &[u8; 8] = b"TSMWYCH1";
/// Most fields of a record (AES-GCM: key, iv, aad, msg, ct, tag).
const MAX_FIELDS: usize = 6;
/// Largest HKDF output a case may ask for; Wycheproof's largest is `255 * 48 + 1`.
const MAX_HKDF_SIZE: usize = 64 * 1024;

/// The kinds of record in the blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Starts the cases of one file.
    File = 0,
    HmacSha256 = 1,
    HmacSha384 = 2,
    HkdfSha256 = 3,
    HkdfSha384 = 4,
    AesGcm = 5,
    EcdhP256 = 6,
    EcdhP384 = 7,
    EcdsaP256Sha256 = 8,
    EcdsaP384Sha384 = 9,
}

impl Kind {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::File,
            1 => Self::HmacSha256,
            2 => Self::HmacSha384,
            3 => Self::HkdfSha256,
            4 => Self::HkdfSha384,
            5 => Self::AesGcm,
            6 => Self::EcdhP256,
            7 => Self::EcdhP384,
            8 => Self::EcdsaP256Sha256,
            9 => Self::EcdsaP384Sha384,
            _ => return None,
        })
    }

    /// The Wycheproof file of the cases of this kind.
    pub(crate) fn file(self) -> &'static str {
        match self {
            Self::File => "",
            Self::HmacSha256 => "hmac_sha256_test.json",
            Self::HmacSha384 => "hmac_sha384_test.json",
            Self::HkdfSha256 => "hkdf_sha256_test.json",
            Self::HkdfSha384 => "hkdf_sha384_test.json",
            Self::AesGcm => "aes_gcm_test.json",
            Self::EcdhP256 => "ecdh_secp256r1_ecpoint_test.json",
            Self::EcdhP384 => "ecdh_secp384r1_ecpoint_test.json",
            Self::EcdsaP256Sha256 => "ecdsa_secp256r1_sha256_p1363_test.json",
            Self::EcdsaP384Sha384 => "ecdsa_secp384r1_sha384_p1363_test.json",
        }
    }

    /// Number of fields of a record of this kind.
    fn fields(self) -> usize {
        match self {
            Self::File => 1,
            Self::HmacSha256 | Self::HmacSha384 => 3,
            Self::HkdfSha256 | Self::HkdfSha384 => 4,
            Self::AesGcm => 6,
            Self::EcdhP256 | Self::EcdhP384 => 3,
            Self::EcdsaP256Sha256 | Self::EcdsaP384Sha384 => 3,
        }
    }
}

/// Wycheproof's expected result of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    Valid,
    Invalid,
    /// Either result is allowed (e.g. a compressed ECDH public key).
    Acceptable,
}

/// One record of the blob.
pub(crate) struct Record<'a> {
    pub(crate) kind: Kind,
    /// The expected result of a case; for a file record, the kind of its cases.
    result: u8,
    pub(crate) tc_id: u32,
    pub(crate) param: u32,
    fields: [&'a [u8]; MAX_FIELDS],
}

impl<'a> Record<'a> {
    fn expect(&self) -> Result<Expect> {
        match self.result {
            0 => Ok(Expect::Valid),
            1 => Ok(Expect::Invalid),
            2 => Ok(Expect::Acceptable),
            _ => Err(EBADMSG),
        }
    }

    fn field(&self, i: usize) -> &'a [u8] {
        self.fields[i]
    }
}

/// A bounds-checked reader over the blob: every read that would run past the end is an error.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(EBADMSG);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The blob `scripts/lib/wycheproof_pack.py` writes (integers little endian):
///
/// ```text
/// blob   := "TSMWYCH1", u32 record count, record * count
/// record := u8 kind, u8 result, u8 field count, u8 0, u32 tcId, u32 param, field * field count
/// field  := u32 length, bytes
/// ```
///
/// A file record (kind 0) names a JSON file and gives the kind of its cases (in `result`) and
/// their number (`param`); its cases follow it. A case's result is 0 (valid), 1 (invalid) or 2
/// (acceptable). Parsing never reads out of bounds: a damaged blob gives [`EBADMSG`].
pub(crate) struct Blob<'a> {
    rest: Reader<'a>,
    left: u32,
}

impl<'a> Blob<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Result<Self> {
        let mut r = Reader(data);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(EBADMSG);
        }
        let left = r.u32()?;
        Ok(Self { rest: r, left })
    }

    /// The next record, or `None` after the last one (the blob must end there).
    pub(crate) fn next_record(&mut self) -> Result<Option<Record<'a>>> {
        if self.left == 0 {
            return if self.rest.0.is_empty() {
                Ok(None)
            } else {
                Err(EBADMSG)
            };
        }
        self.left -= 1;
        let r = &mut self.rest;
        let kind = Kind::from_u8(r.u8()?).ok_or(EBADMSG)?;
        let result = r.u8()?;
        let nfields = usize::from(r.u8()?);
        if r.u8()? != 0 || nfields != kind.fields() {
            return Err(EBADMSG);
        }
        let tc_id = r.u32()?;
        let param = r.u32()?;
        let mut fields: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
        for f in fields.iter_mut().take(nfields) {
            let len = usize::try_from(r.u32()?).map_err(|_| EBADMSG)?;
            *f = r.take(len)?;
        }
        Ok(Some(Record {
            kind,
            result,
            tc_id,
            param,
            fields,
        }))
    }
}

/// Why a case was not run, or why its result differs in a way that is known and counted.
#[derive(Clone, Copy)]
enum Skip {
    GcmIv,
    GcmTag,
    EcdhEncoding,
    EcdhPrivateRange,
    EcdhZeroX,
}

const SKIPS: [Skip; 5] = [
    Skip::GcmIv,
    Skip::GcmTag,
    Skip::EcdhEncoding,
    Skip::EcdhPrivateRange,
    Skip::EcdhZeroX,
];

impl Skip {
    fn reason(self) -> &'static str {
        match self {
            Self::GcmIv => "IV not 96 bits: aes_gcm_* takes 12-byte nonces only",
            Self::GcmTag => "tag not 128 bits: the kernel API uses 16-byte tags only",
            Self::EcdhEncoding => {
                "public key not an uncompressed point: the kernel API takes raw X || Y only"
            }
            Self::EcdhPrivateRange => {
                "private key outside [2, n - 3], which crypto/ecc.c refuses (valid for SEC 1)"
            }
            Self::EcdhZeroX => {
                "KERNEL DEVIATION: valid public point with x = 0 refused with EFAULT \
                 (ecc_point_mult() in crypto/ecc.c divides by x)"
            }
        }
    }
}

/// What one case gave.
enum Outcome {
    /// The kernel agreed with Wycheproof.
    Pass,
    /// The case cannot be expressed with the kernel API, or shows a known kernel deviation.
    Skip(Skip),
    /// The kernel disagreed with Wycheproof: how, and the error it returned if any.
    Mismatch(&'static str, Option<Error>),
}

/// Compares the kernel's result `got` with Wycheproof's `expect`; `right` tells whether the
/// output that came with a success is the expected one. An invalid case must be refused; an
/// acceptable one may be refused or give the right output.
fn judge(expect: Expect, got: Result, right: bool) -> Outcome {
    match (expect, got) {
        (Expect::Valid, Ok(())) if right => Outcome::Pass,
        (Expect::Valid, Ok(())) => Outcome::Mismatch("wrong output", None),
        (Expect::Valid, Err(e)) => Outcome::Mismatch("refused a valid case", Some(e)),
        (_, Err(_)) => Outcome::Pass,
        (Expect::Acceptable, Ok(())) if right => Outcome::Pass,
        (_, Ok(())) => Outcome::Mismatch("accepted an invalid case", None),
    }
}

/// The expected result as the host test takes it for MACs, HKDF, AES-GCM and ECDSA: only
/// "valid" may succeed (these files have no "acceptable" cases).
fn strict(expect: Expect) -> Expect {
    match expect {
        Expect::Acceptable => Expect::Invalid,
        e => e,
    }
}

fn curve_of(kind: Kind) -> Curve {
    match kind {
        Kind::EcdhP256 | Kind::EcdsaP256Sha256 => Curve::P256,
        _ => Curve::P384,
    }
}

fn hmac_case(c: &Record<'_>) -> Result<Outcome> {
    let (key, msg, tag) = (c.field(0), c.field(1), c.field(2));
    let tag_len = usize::try_from(c.param).map_err(|_| EBADMSG)?;
    let mut full = [0u8; SHA384_DIGEST_LEN];
    let (a, b) = msg.split_at(msg.len() / 2);
    let len = if c.kind == Kind::HmacSha256 {
        let mac = hmac::hmac_sha256(key, msg);
        // The incremental context must give the same MAC.
        let mut ctx = HmacSha256::new(key)?;
        ctx.update(a);
        ctx.update(b);
        if ctx.finish() != mac {
            return Ok(Outcome::Mismatch("incremental MAC differs", None));
        }
        full[..SHA256_DIGEST_LEN].copy_from_slice(&mac);
        SHA256_DIGEST_LEN
    } else {
        let mac = hmac::hmac_sha384(key, msg);
        let mut ctx = HmacSha384::new(key)?;
        ctx.update(a);
        ctx.update(b);
        if ctx.finish() != mac {
            return Ok(Outcome::Mismatch("incremental MAC differs", None));
        }
        full = mac;
        SHA384_DIGEST_LEN
    };
    // As the host test: the tag is the MAC truncated to the group's tag size.
    let equal = tag_len <= len && ct_eq(&full[..tag_len], tag);
    let got = if equal { Ok(()) } else { Err(EBADMSG) };
    Ok(judge(strict(c.expect()?), got, true))
}

fn hkdf_case(c: &Record<'_>) -> Result<Outcome> {
    let (ikm, salt, info, want) = (c.field(0), c.field(1), c.field(2), c.field(3));
    let size = usize::try_from(c.param).map_err(|_| EBADMSG)?;
    if size > MAX_HKDF_SIZE {
        return Err(EBADMSG);
    }
    let mut okm = KVec::from_elem(0u8, size, GFP_KERNEL)?;
    let (got, limit) = if c.kind == Kind::HkdfSha256 {
        let prk = hkdf::sha256_extract(salt, ikm);
        (
            hkdf::sha256_expand(&prk, info, &mut okm),
            255 * SHA256_DIGEST_LEN,
        )
    } else {
        let prk = hkdf::sha384_extract(salt, ikm);
        (
            hkdf::sha384_expand(&prk, info, &mut okm),
            255 * SHA384_DIGEST_LEN,
        )
    };
    // Longer than 255 blocks must be refused as such.
    if size > limit {
        if let Err(e) = got {
            if e != EINVAL {
                return Ok(Outcome::Mismatch(
                    "refused too long an output with",
                    Some(e),
                ));
            }
        }
    }
    Ok(judge(strict(c.expect()?), got, okm[..] == *want))
}

fn aes_gcm_case(c: &Record<'_>) -> Result<Outcome> {
    let (key, iv, aad, msg, ct, tag) = (
        c.field(0),
        c.field(1),
        c.field(2),
        c.field(3),
        c.field(4),
        c.field(5),
    );
    let Ok(nonce) = <&[u8; NONCE_LEN]>::try_from(iv) else {
        return Ok(Outcome::Skip(Skip::GcmIv));
    };
    let Ok(tag) = <&[u8; TAG_LEN]>::try_from(tag) else {
        return Ok(Outcome::Skip(Skip::GcmTag));
    };
    let expect = strict(c.expect()?);
    let key = match AesGcmKey::new(key) {
        Ok(key) => key,
        Err(e) => return Ok(judge(expect, Err(e), false)),
    };
    let mut buf = KVec::with_capacity(ct.len(), GFP_KERNEL)?;
    buf.extend_from_slice(ct, GFP_KERNEL)?;
    let got = key.decrypt(nonce, aad, &mut buf, tag);
    if got.is_err() {
        // Refused: nothing of the plaintext is left behind, and the error is the documented one.
        if got != Err(EBADMSG) || buf.iter().any(|&b| b != 0) {
            return Ok(Outcome::Mismatch(
                "refused, but not as documented",
                got.err(),
            ));
        }
        return Ok(judge(expect, got, false));
    }
    // Encryption gives the ciphertext and tag back.
    let mut sealed = KVec::with_capacity(msg.len(), GFP_KERNEL)?;
    sealed.extend_from_slice(msg, GFP_KERNEL)?;
    let tag2 = key.encrypt(nonce, aad, &mut sealed);
    let right = buf[..] == *msg && sealed[..] == *ct && tag2 == *tag;
    Ok(judge(expect, got, right))
}

/// The order `n` of P-256 and P-384, big endian.
const N_P256: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
const N_P384: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

/// Whether the private key `d` (big endian, the curve's length) is in `[1, n - 1]` but not in
/// the `[2, n - 3]` that `crypto/ecc.c` accepts: 1, `n - 2` or `n - 1`.
fn in_sec1_range_only(curve: Curve, d: &[u8]) -> bool {
    let n: &[u8] = match curve {
        Curve::P256 => &N_P256,
        Curve::P384 => &N_P384,
    };
    let last = d.len() - 1;
    let one = d[..last].iter().all(|&b| b == 0) && d[last] == 1;
    // n ends in 0x51 (P-256) and 0x73 (P-384): n - 1 and n - 2 differ in the last byte only.
    let high = d[..last] == n[..last] && (d[last] == n[last] - 1 || d[last] == n[last] - 2);
    one || high
}

fn ecdh_case(c: &Record<'_>) -> Result<Outcome> {
    let (public, private, want) = (c.field(0), c.field(1), c.field(2));
    let curve = curve_of(c.kind);
    let len = curve.coordinate_len();
    let expect = c.expect()?;
    // The kernel API (like SPDM's exchange data) takes raw X || Y: only SEC 1 uncompressed
    // points (0x04 || X || Y) can be given to it.
    let xy = match public.split_first() {
        Some((0x04, xy)) if xy.len() == curve.point_len() => xy,
        _ => return Ok(Outcome::Skip(Skip::EcdhEncoding)),
    };
    // Wycheproof's private keys are integers: drop leading zeros, pad to the curve's length.
    let mut d = private;
    while d.len() > len && d[0] == 0 {
        d = &d[1..];
    }
    if d.len() > len {
        return Err(EBADMSG);
    }
    let mut scalar = [0u8; 48];
    scalar[len - d.len()..len].copy_from_slice(d);
    let scalar = &scalar[..len];
    let key = match EcdhKey::from_private(curve, scalar) {
        Ok(key) => key,
        Err(_) if in_sec1_range_only(curve, scalar) => {
            return Ok(Outcome::Skip(Skip::EcdhPrivateRange))
        }
        Err(e) => return Ok(Outcome::Mismatch("refused the private key", Some(e))),
    };
    let mut shared = [0u8; 48];
    let got = key.shared_secret(xy, &mut shared[..len]);
    if expect == Expect::Valid && got == Err(EFAULT) && xy[..len].iter().all(|&b| b == 0) {
        return Ok(Outcome::Skip(Skip::EcdhZeroX));
    }
    // Invalid public points (not on the curve, ...) must be refused.
    Ok(judge(expect, got, shared[..len] == *want))
}

/// The verifier of the last ECDSA test group, reused while the cases are of the same group.
struct GroupKey {
    group: u32,
    key: Result<EcdsaVerifier>,
}

fn ecdsa_case(c: &Record<'_>, cache: &mut Option<GroupKey>) -> Result<Outcome> {
    let (public, msg, sig) = (c.field(0), c.field(1), c.field(2));
    let curve = curve_of(c.kind);
    if cache.as_ref().map(|g| g.group) != Some(c.param) {
        let key = match public.split_first() {
            Some((0x04, xy)) => EcdsaVerifier::new(curve, xy),
            _ => Err(EBADMSG),
        };
        *cache = Some(GroupKey {
            group: c.param,
            key,
        });
    }
    let key = match cache.as_ref().map(|g| &g.key) {
        Some(Ok(key)) => key,
        // Every group's key is a valid point: refusing it is a mismatch for every case.
        Some(Err(e)) => return Ok(Outcome::Mismatch("refused the public key", Some(*e))),
        None => return Err(EBADMSG),
    };
    let got = match curve {
        Curve::P256 => key.verify_digest(&Sha256::digest(msg), sig),
        Curve::P384 => key.verify_digest(&Sha384::digest(msg), sig),
    };
    Ok(judge(strict(c.expect()?), got, true))
}

/// Counts of one file's run.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) cases: u32,
    pub(crate) passed: u32,
    pub(crate) mismatched: u32,
    skipped: [u32; SKIPS.len()],
}

impl Tally {
    pub(crate) fn skipped(&self) -> u32 {
        self.skipped.iter().sum()
    }
}

/// Runs every case of `kind` in `blob` and returns the counts, with the file's name and its
/// `numberOfTests`. Fails with [`EBADMSG`] if the blob is damaged or has no such file.
pub(crate) fn run_kind(data: &[u8], kind: Kind) -> Result<(Tally, u32)> {
    let mut blob = Blob::new(data)?;
    let mut tally = Tally::default();
    let mut declared = None;
    let mut ecdsa_key = None;
    while let Some(c) = blob.next_record()? {
        if c.kind == Kind::File {
            if c.result == kind as u8 {
                // One file per kind, the one this kind's checks are written for.
                if declared.is_some() || c.field(0) != kind.file().as_bytes() {
                    return Err(EBADMSG);
                }
                declared = Some(c.param);
            }
            continue;
        }
        if c.kind != kind {
            continue;
        }
        // A case before its file record.
        if declared.is_none() {
            return Err(EBADMSG);
        }
        let out = match kind {
            Kind::HmacSha256 | Kind::HmacSha384 => hmac_case(&c)?,
            Kind::HkdfSha256 | Kind::HkdfSha384 => hkdf_case(&c)?,
            Kind::AesGcm => aes_gcm_case(&c)?,
            Kind::EcdhP256 | Kind::EcdhP384 => ecdh_case(&c)?,
            Kind::EcdsaP256Sha256 | Kind::EcdsaP384Sha384 => ecdsa_case(&c, &mut ecdsa_key)?,
            Kind::File => return Err(EBADMSG),
        };
        tally.cases += 1;
        match out {
            Outcome::Pass => tally.passed += 1,
            Outcome::Skip(s) => {
                tally.skipped[s as usize] += 1;
                // Kernel deviations are listed case by case.
                if matches!(s, Skip::EcdhZeroX) {
                    pr_info!(
                        "wycheproof: {} tcId {}: {}\n",
                        kind.file(),
                        c.tc_id,
                        s.reason()
                    );
                }
            }
            Outcome::Mismatch(how, err) => {
                tally.mismatched += 1;
                pr_err!(
                    "wycheproof: {} tcId {} ({:?}): the kernel disagrees: {} {:?}\n",
                    kind.file(),
                    c.tc_id,
                    c.expect()?,
                    how,
                    err
                );
            }
        }
    }
    Ok((tally, declared.ok_or(EBADMSG)?))
}

/// Prints a file's counts: how many cases ran, passed and were skipped, and why.
pub(crate) fn report(kind: Kind, t: &Tally) {
    pr_info!(
        "wycheproof: {}: {} cases, {} passed, {} skipped, {} mismatched\n",
        kind.file(),
        t.cases,
        t.passed,
        t.skipped(),
        t.mismatched
    );
    for (s, n) in SKIPS.iter().zip(t.skipped) {
        if n > 0 {
            pr_info!(
                "wycheproof: {}: {} skipped: {}\n",
                kind.file(),
                n,
                s.reason()
            );
        }
    }
}

/// Loads the blob with the firmware loader, for a faux device of the test.
///
/// Returns `None` if the file is not there (the vectors were absent when the boot was made).
pub(crate) fn load() -> Result<Option<(faux::Registration, Firmware)>> {
    let dev = faux::Registration::new(c"tsm_wycheproof", None)?;
    let fw = match Firmware::request_nowarn(BLOB_NAME, dev.as_ref().as_ref()) {
        Ok(fw) => fw,
        Err(e) if e == ENOENT => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some((dev, fw)))
}

#[kunit_tests(spdm_wycheproof)]
mod tests {
    use super::{load, report, run_kind, Blob, Kind};
    use kernel::{kunit::mark_skipped, prelude::*};

    #[test]
    fn hmac_sha256() -> Result {
        run(Kind::HmacSha256)
    }

    // Helpers come after the first test: the KUnit assertion macros are defined from there on.

    fn run(kind: Kind) -> Result {
        let Some((dev, fw)) = load()? else {
            mark_skipped(
                c"tsm-rs/wycheproof.bin not found: no ../shared/vectors/wycheproof at boot build",
            );
            return Ok(());
        };
        let counts = run_kind(fw.data(), kind);
        // A failed assertion ends the test's thread: release the device first.
        drop(fw);
        drop(dev);
        let (tally, declared) = counts?;
        report(kind, &tally);
        // Every case of the file ran (or was skipped with a reason), none disagreed.
        assert_eq!(tally.cases, declared);
        assert_eq!(
            tally.passed + tally.skipped() + tally.mismatched,
            tally.cases
        );
        assert_eq!(tally.mismatched, 0);
        assert!(tally.passed > 0);
        Ok(())
    }

    #[test]
    fn hmac_sha384() -> Result {
        run(Kind::HmacSha384)
    }

    #[test]
    fn hkdf_sha256() -> Result {
        run(Kind::HkdfSha256)
    }

    #[test]
    fn hkdf_sha384() -> Result {
        run(Kind::HkdfSha384)
    }

    #[test]
    fn aes_gcm() -> Result {
        run(Kind::AesGcm)
    }

    #[test]
    fn ecdh_secp256r1_ecpoint() -> Result {
        run(Kind::EcdhP256)
    }

    #[test]
    fn ecdh_secp384r1_ecpoint() -> Result {
        run(Kind::EcdhP384)
    }

    #[test]
    fn ecdsa_secp256r1_sha256_p1363() -> Result {
        run(Kind::EcdsaP256Sha256)
    }

    #[test]
    fn ecdsa_secp384r1_sha384_p1363() -> Result {
        run(Kind::EcdsaP384Sha384)
    }

    /// Walks a blob to its end.
    fn walk(data: &[u8]) -> Result<u32> {
        let mut blob = Blob::new(data)?;
        let mut n = 0;
        while blob.next_record()?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    /// The parser refuses damaged blobs with `EBADMSG` and never reads out of bounds; it needs
    /// no vectors.
    #[test]
    fn blob_parser_refuses_damage() -> Result {
        // A file record (one HMAC-SHA256 case) and its case: key "k", msg "", tag "t".
        let name = Kind::HmacSha256.file().as_bytes();
        let mut good = KVec::new();
        good.extend_from_slice(b"TSMWYCH1\x02\0\0\0", GFP_KERNEL)?; // 2 records
        good.extend_from_slice(&[0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0], GFP_KERNEL)?;
        // CAST: a short name.
        good.extend_from_slice(&[name.len() as u8, 0, 0, 0], GFP_KERNEL)?;
        good.extend_from_slice(name, GFP_KERNEL)?;
        let case = good.len();
        // Invalid, tcId 7, tag size 32; key, msg and tag.
        good.extend_from_slice(&[1, 1, 3, 0, 7, 0, 0, 0, 32, 0, 0, 0], GFP_KERNEL)?;
        good.extend_from_slice(
            &[1, 0, 0, 0, b'k', 0, 0, 0, 0, 1, 0, 0, 0, b't'],
            GFP_KERNEL,
        )?;
        assert_eq!(walk(&good), Ok(2));
        let (tally, declared) = run_kind(&good, Kind::HmacSha256)?;
        assert_eq!((declared, tally.cases, tally.passed), (1, 1, 1));
        // The blob has no file of another kind.
        assert_eq!(run_kind(&good, Kind::AesGcm).err(), Some(EBADMSG));
        // Every truncation fails, as does a trailing byte.
        for n in 0..good.len() {
            assert_eq!(walk(&good[..n]), Err(EBADMSG));
        }
        let mut longer = KVec::new();
        longer.extend_from_slice(&good, GFP_KERNEL)?;
        longer.push(0, GFP_KERNEL)?;
        assert_eq!(walk(&longer), Err(EBADMSG));
        // Bad magic, one record too many, a file record with two fields, an unknown kind, a
        // result that is none, a nonzero padding byte, a key longer than the blob.
        for (at, value) in [
            (0, b'X'),
            (8, 3),
            (14, 2),
            (case, 10),
            (case + 1, 3),
            (case + 3, 1),
            (case + 15, 0xff),
        ] {
            let mut bad = KVec::new();
            bad.extend_from_slice(&good, GFP_KERNEL)?;
            bad[at] = value;
            let walked = walk(&bad).and_then(|_| run_kind(&bad, Kind::HmacSha256).map(|_| 0));
            assert_eq!(walked, Err(EBADMSG));
        }
        Ok(())
    }
}
