// SPDX-License-Identifier: GPL-2.0

//! Parsing of what user space writes to `tsm/connect`.

use kernel::prelude::*;

/// Parses a TSM device name, `tsmN`, into `N`.
///
/// Stricter than 7.3's `sscanf(buf, "tsm%d\n")`, which also accepts `tsm 1`, `tsm+1` and
/// trailing garbage such as `tsm1garbage`: here the name must be exactly `tsm` followed by
/// decimal digits (the sysfs layer has already removed one trailing newline). Anything else is
/// `EINVAL`, like an unparsable name in 7.3.
pub(crate) fn parse_tsm_name(input: &[u8]) -> Result<u32> {
    let digits = input.strip_prefix(b"tsm").ok_or(EINVAL)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(EINVAL);
    }
    digits.iter().try_fold(0u32, |n, d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u32::from(d - b'0')))
            .filter(|&n| i32::try_from(n).is_ok())
            .ok_or(EINVAL)
    })
}

#[kunit_tests(pci_tsm_input)]
mod tests {
    use super::parse_tsm_name;
    use kernel::prelude::*;

    #[test]
    fn accepts_tsm_names() {
        assert_eq!(parse_tsm_name(b"tsm0"), Ok(0));
        assert_eq!(parse_tsm_name(b"tsm17"), Ok(17));
        assert_eq!(parse_tsm_name(b"tsm007"), Ok(7));
        assert_eq!(parse_tsm_name(b"tsm2147483647"), Ok(i32::MAX as u32));
    }

    #[test]
    fn refuses_what_7_3_sscanf_lets_through() {
        for bad in [&b"tsm1garbage"[..], b"tsm 1", b"tsm+1", b"tsm-1", b"tsm1\n"] {
            assert_eq!(parse_tsm_name(bad), Err(EINVAL));
        }
    }

    #[test]
    fn refuses_malformed_names() {
        for bad in [
            &b""[..],
            b"tsm",
            b"TSM0",
            b"0",
            b" tsm0",
            b"tsm2147483648",
            b"tsm\xff",
        ] {
            assert_eq!(parse_tsm_name(bad), Err(EINVAL));
        }
    }
}
