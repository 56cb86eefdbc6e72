// SPDX-License-Identifier: GPL-2.0
//! tsm: the operator's tool for PCI device security (PCIe TDISP "TEE
//! Security Manager").
//!
//! | module | contents |
//! |---|---|
//! | [`sysfs`] | TSMs under `/sys/class/tsm`, devices with `tsm/`, connect and disconnect |
//! | [`evidence`] | the evidence objects of the `pci-tsm` netlink family, their files, reassembly of dumped chunks |
//! | [`nl`] | the `pci-tsm` generic netlink client (`evidence-read`) |
//! | [`verify`] | the verifier: certificate chain to the operator's root, measurement signature over the SPDM transcript, nonce |
//!
//! The library is what the `tsm` binary runs; it is a library so the
//! tests can drive the verifier on evidence recorded in process.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod evidence;
pub mod nl;
pub mod sysfs;
pub mod verify;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex (upper or lower case, an optional `0x`, no separators).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if s.is_empty() || s.len() % 2 != 0 {
        return Err(format!(
            "{s:?}: expected an even number of hex digits, at least two"
        ));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("{s:?}: not hex"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 0xAB, 0x10]), "00ab10");
        assert_eq!(parse_hex("00AB10"), Ok(vec![0, 0xAB, 0x10]));
        assert_eq!(parse_hex("0x0a"), Ok(vec![0x0A]));
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
