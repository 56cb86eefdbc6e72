// SPDX-License-Identifier: GPL-2.0
//! Fault injection: `KIND[=VALUE][@REQUEST][*N]`.
//!
//! Without `@REQUEST` a fault applies to every response it can apply to;
//! with it, only to the answers to that SPDM request (a name such as
//! `key-exchange` or a request code such as `0xe4`; requests inside a
//! session are matched on their decrypted code).
//!
//! Without `*N` a fault lasts as long as the model runs; with it, only
//! during the first N SPDM connections. Connections are counted by the
//! GET_VERSION requests the model receives (every connect of a requester
//! starts with one; the count is kept per model process, across TCP
//! connections), so `corrupt-signature@challenge*1` fails the first
//! authentication and lets the second one through.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tsm_proto::spdm::{code, error_code};

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Signatures (CHALLENGE_AUTH, MEASUREMENTS, KEY_EXCHANGE_RSP) are
    /// damaged after signing.
    CorruptSignature,
    /// The device serves another device's valid chain (different root and
    /// leaf) while signing with its own key.
    ForeignChain,
    /// The SPDM message is cut in half; the DOE object around it stays
    /// well-formed.
    Truncate,
    /// The response object is padded with junk past the 4608-byte buffer
    /// of QEMU's spdm-socket (and past the SPDM message).
    Oversize,
    /// The DOE Length field claims one dword more than is sent.
    WrongLength,
    /// The request is answered with SPDM ERROR of this code (inside a
    /// session only vendor-defined requests can be failed this way).
    ErrorResponse(u8),
    /// Each answer is delayed.
    Slow(Duration),
    /// The device handles the request but sends no answer (an empty
    /// response: QEMU 10.0's DOE mailbox then never becomes ready, so
    /// Linux' DOE core times out after 1 s with -EIO).
    NoAnswer,
    /// After this many secured requests of a session the device forgets
    /// the session (as on a reset): the next secured request is not
    /// answered and the TDI goes to ERROR.
    DropSessionAfter(u32),
}

/// A fault, the request it is limited to and how many connections it lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The fault.
    pub kind: FaultKind,
    /// Only answers to this SPDM request code, if set.
    pub on: Option<u8>,
    /// Only during the first N SPDM connections (counted by GET_VERSION),
    /// if set; never 0.
    pub connections: Option<u32>,
}

impl Fault {
    /// A fault on every answer of every connection.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            on: None,
            connections: None,
        }
    }

    /// Whether the fault applies to the answer to request `code`.
    pub fn applies_to(&self, request: Option<u8>) -> bool {
        match (self.on, request) {
            (None, _) => true,
            (Some(want), Some(got)) => want == got,
            (Some(_), None) => false,
        }
    }

    /// Whether the fault is still active in SPDM connection `connection`
    /// (1 for the one the first GET_VERSION opened; 0 before any).
    pub fn active_in(&self, connection: u32) -> bool {
        self.connections.is_none_or(|n| connection <= n)
    }
}

const REQUESTS: [(&str, u8); 13] = [
    ("get-version", code::GET_VERSION),
    ("get-capabilities", code::GET_CAPABILITIES),
    ("negotiate-algorithms", code::NEGOTIATE_ALGORITHMS),
    ("get-digests", code::GET_DIGESTS),
    ("get-certificate", code::GET_CERTIFICATE),
    ("challenge", code::CHALLENGE),
    ("get-measurements", code::GET_MEASUREMENTS),
    ("key-exchange", code::KEY_EXCHANGE),
    ("finish", code::FINISH),
    ("heartbeat", code::HEARTBEAT),
    ("key-update", code::KEY_UPDATE),
    ("end-session", code::END_SESSION),
    ("vendor", code::VENDOR_DEFINED_REQUEST),
];

/// The request code a name or `0x..` number stands for.
pub fn request_code(name: &str) -> Option<u8> {
    let name = name.trim().to_ascii_lowercase().replace('_', "-");
    if let Some(hex) = name.strip_prefix("0x") {
        return u8::from_str_radix(hex, 16).ok();
    }
    REQUESTS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (s, connections) = match s.rsplit_once('*') {
            Some((rest, n)) => match parse_number(n).and_then(|n| u32::try_from(n).ok()) {
                Some(0) | None => {
                    return Err(format!("*{n}: need a connection count of 1 or more"))
                }
                Some(n) => (rest, Some(n)),
            },
            None => (s, None),
        };
        let (spec, on) = match s.split_once('@') {
            Some((spec, req)) => (
                spec,
                Some(request_code(req).ok_or_else(|| format!("unknown request {req:?}"))?),
            ),
            None => (s, None),
        };
        let (name, value) = match spec.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (spec, None),
        };
        let number = |what: &str| -> Result<u64, String> {
            value
                .and_then(parse_number)
                .ok_or_else(|| format!("{name} needs ={what}"))
        };
        let no_value = |kind: FaultKind| -> Result<FaultKind, String> {
            match value {
                None => Ok(kind),
                Some(_) => Err(format!("{name} takes no value")),
            }
        };
        let kind = match name {
            "corrupt-signature" => no_value(FaultKind::CorruptSignature)?,
            "foreign-chain" => no_value(FaultKind::ForeignChain)?,
            "truncate" => no_value(FaultKind::Truncate)?,
            "oversize" => no_value(FaultKind::Oversize)?,
            "wrong-length" => no_value(FaultKind::WrongLength)?,
            "no-answer" => no_value(FaultKind::NoAnswer)?,
            "error-response" => FaultKind::ErrorResponse(match value {
                None => error_code::UNSPECIFIED,
                Some(_) => u8::try_from(number("CODE")?).map_err(|_| "error code over 0xff")?,
            }),
            "slow" => FaultKind::Slow(Duration::from_millis(number("MS")?)),
            "drop-session-after" => {
                FaultKind::DropSessionAfter(u32::try_from(number("N")?).map_err(|_| "N too large")?)
            }
            other => return Err(format!("unknown fault {other:?}")),
        };
        Ok(Fault {
            kind,
            on,
            connections,
        })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FaultKind::CorruptSignature => write!(f, "corrupt-signature")?,
            FaultKind::ForeignChain => write!(f, "foreign-chain")?,
            FaultKind::Truncate => write!(f, "truncate")?,
            FaultKind::Oversize => write!(f, "oversize")?,
            FaultKind::WrongLength => write!(f, "wrong-length")?,
            FaultKind::NoAnswer => write!(f, "no-answer")?,
            FaultKind::ErrorResponse(c) => write!(f, "error-response={c:#04x}")?,
            FaultKind::Slow(d) => write!(f, "slow={}", d.as_millis())?,
            FaultKind::DropSessionAfter(n) => write!(f, "drop-session-after={n}")?,
        }
        if let Some(c) = self.on {
            match REQUESTS.iter().find(|(_, rc)| *rc == c) {
                Some((n, _)) => write!(f, "@{n}")?,
                None => write!(f, "@{c:#04x}")?,
            }
        }
        match self.connections {
            Some(n) => write!(f, "*{n}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        let cases = [
            ("corrupt-signature", FaultKind::CorruptSignature, None),
            ("foreign-chain", FaultKind::ForeignChain, None),
            ("truncate@key-exchange", FaultKind::Truncate, Some(0xE4)),
            ("oversize@0x84", FaultKind::Oversize, Some(0x84)),
            ("wrong-length", FaultKind::WrongLength, None),
            ("no-answer@challenge", FaultKind::NoAnswer, Some(0x83)),
            ("error-response", FaultKind::ErrorResponse(0x05), None),
            (
                "error-response=0x03@vendor",
                FaultKind::ErrorResponse(0x03),
                Some(0xFE),
            ),
            (
                "slow=250",
                FaultKind::Slow(Duration::from_millis(250)),
                None,
            ),
            ("drop-session-after=3", FaultKind::DropSessionAfter(3), None),
        ];
        for (text, kind, on) in cases {
            let fault: Fault = text.parse().unwrap();
            assert_eq!(
                fault,
                Fault {
                    kind,
                    on,
                    connections: None
                },
                "{text}"
            );
            // Display is parseable again.
            assert_eq!(fault.to_string().parse::<Fault>().unwrap(), fault);
        }
    }

    #[test]
    fn parses_connection_limits() {
        let f: Fault = "corrupt-signature@challenge*1".parse().unwrap();
        assert_eq!(
            f,
            Fault {
                kind: FaultKind::CorruptSignature,
                on: Some(0x83),
                connections: Some(1),
            }
        );
        assert_eq!(f.to_string(), "corrupt-signature@challenge*1");
        let f: Fault = "slow=1500*2".parse().unwrap();
        assert_eq!(f.kind, FaultKind::Slow(Duration::from_millis(1500)));
        assert_eq!((f.on, f.connections), (None, Some(2)));
        assert_eq!(f.to_string().parse::<Fault>().unwrap(), f);
        assert!(f.active_in(0) && f.active_in(1) && f.active_in(2));
        assert!(!f.active_in(3));
        assert!(Fault::new(FaultKind::Truncate).active_in(u32::MAX));
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "",
            "slow",
            "slow=x",
            "truncate=1",
            "no-answer=1",
            "nope",
            "truncate@nope",
            "error-response=300",
            "truncate*0",
            "truncate*",
            "truncate*x",
            "truncate@challenge*1*2",
            "truncate*1@challenge",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }
}
