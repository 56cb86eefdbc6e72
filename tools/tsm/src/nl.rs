// SPDX-License-Identifier: GPL-2.0
//! The `pci-tsm` generic netlink family
//! (`Documentation/netlink/specs/pci-tsm.yaml`), client side, on the
//! `neli` crate: resolve the family, send `evidence-read` as a dump,
//! collect the objects.
//!
//! The numbers below are the spec's; `scripts/lib/ynl_check.py` compares
//! them with the spec in the host tier.

use std::fmt;

use neli::attr::Attribute;
use neli::consts::genl::{Cmd, NlAttrType};
use neli::consts::nl::{NlmF, NlmsgerrAttr};
use neli::consts::socket::NlFamily;
use neli::err::RouterError;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder};
use neli::neli_enum;
use neli::nl::NlPayload;
use neli::router::synchronous::NlRouter;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;

use crate::evidence::{reassemble, DumpMessage, Evidence};

/// Family name.
pub const FAMILY_NAME: &str = "pci-tsm";
/// Family version.
pub const FAMILY_VERSION: u8 = 1;
/// `evidence-read` (dump).
pub const CMD_EVIDENCE_READ: u8 = 1;
/// `type` (u32, evidence-type): starts an object in a reply.
pub const ATTR_TYPE: u16 = 1;
/// `type-mask` (u32, evidence-type-flag).
pub const ATTR_TYPE_MASK: u16 = 2;
/// `flags` (u32, evidence-flag).
pub const ATTR_FLAGS: u16 = 3;
/// `dev-name` (NUL-terminated string).
pub const ATTR_DEV_NAME: u16 = 4;
/// `nonce` (binary, 1 to [`MAX_NONCE_SIZE`] bytes).
pub const ATTR_NONCE: u16 = 5;
/// `val` (binary): a chunk of the current object.
pub const ATTR_VAL: u16 = 6;
/// `evidence-flag` `digest`.
pub const FLAG_DIGEST: u32 = 1;
/// `max-nonce-size`.
pub const MAX_NONCE_SIZE: usize = 256;
/// `max-object-size`.
pub const MAX_OBJECT_SIZE: usize = 0x0100_0000;
/// `evidence-type` names, in value order.
pub const TYPE_NAMES: [&str; 11] = [
    "cert0",
    "cert1",
    "cert2",
    "cert3",
    "cert4",
    "cert5",
    "cert6",
    "cert7",
    "vca",
    "measurements",
    "report",
];

/// Generic netlink commands of the family.
#[neli_enum(serialized_type = "u8")]
pub enum PciTsmCmd {
    /// `evidence-read`.
    EvidenceRead = CMD_EVIDENCE_READ,
}
impl Cmd for PciTsmCmd {}

/// Attributes of the `evidence-object` set.
#[neli_enum(serialized_type = "u16")]
pub enum PciTsmAttr {
    /// Unused (0).
    Unspec = 0,
    /// `type`.
    Type = ATTR_TYPE,
    /// `type-mask`.
    TypeMask = ATTR_TYPE_MASK,
    /// `flags`.
    Flags = ATTR_FLAGS,
    /// `dev-name`.
    DevName = ATTR_DEV_NAME,
    /// `nonce`.
    Nonce = ATTR_NONCE,
    /// `val`.
    Val = ATTR_VAL,
}
impl NlAttrType for PciTsmAttr {}

/// What an `evidence-read` asks for.
#[derive(Clone, Debug, Default)]
pub struct ReadRequest {
    /// PCI device name, e.g. `0000:01:00.0`.
    pub device: String,
    /// `type-mask`.
    pub type_mask: u32,
    /// Ask for the TSM's digests instead of the objects.
    pub digest: bool,
    /// Ask for fresh signed measurements with this nonce first.
    pub nonce: Option<Vec<u8>>,
}

/// An `evidence-read` with any attributes, for tests of the kernel's
/// checks (`tsm raw-read`): every field is sent only when set.
#[derive(Clone, Debug, Default)]
pub struct RawRequest {
    /// `dev-name`.
    pub dev_name: Option<String>,
    /// `type-mask`, any value.
    pub type_mask: Option<u32>,
    /// `flags`, any value.
    pub flags: Option<u32>,
    /// `nonce`, any length.
    pub nonce: Option<Vec<u8>>,
    /// An extra attribute of this number with a 4-byte payload.
    pub extra_attr: Option<u16>,
}

/// Why a read failed.
#[derive(Debug)]
pub enum NlError {
    /// The family is not registered (no PCI/TSM core, or built without it).
    NoFamily(String),
    /// The kernel refused the request: errno and its extended ACK message.
    Kernel {
        /// Positive errno.
        errno: i32,
        /// The kernel's explanation, if it sent one.
        message: Option<String>,
    },
    /// The socket or the message framing failed.
    Transport(String),
    /// The reply did not follow the spec.
    Protocol(String),
}

/// The symbolic name of an errno the family documents (or a few more).
pub fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        1 => "EPERM",
        2 => "ENOENT",
        5 => "EIO",
        6 => "ENXIO",
        7 => "E2BIG",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        16 => "EBUSY",
        19 => "ENODEV",
        22 => "EINVAL",
        34 => "ERANGE",
        71 => "EPROTO",
        90 => "EMSGSIZE",
        95 => "EOPNOTSUPP",
        129 => "EKEYREJECTED",
        _ => return None,
    })
}

impl NlError {
    /// What the errno means for this family (the spec's error list).
    fn meaning(errno: i32) -> &'static str {
        match errno {
            1 | 13 => "CAP_NET_ADMIN is required",
            6 => "no evidence: the device is not connected",
            19 => "no such PCI device",
            11 => "the evidence changed during the read; try again",
            22 => "invalid request",
            95 => "the TSM cannot refresh measurements with a nonce",
            _ => "",
        }
    }
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NlError::NoFamily(e) => write!(
                f,
                "generic netlink family {FAMILY_NAME} not found (kernel without the PCI/TSM evidence interface?): {e}"
            ),
            NlError::Kernel { errno, message } => {
                let os = std::io::Error::from_raw_os_error(*errno);
                write!(f, "kernel: {}: {os}", errno_name(*errno).unwrap_or("errno"))?;
                let meaning = Self::meaning(*errno);
                if !meaning.is_empty() {
                    write!(f, " ({meaning})")?;
                }
                if let Some(m) = message {
                    write!(f, ": {m}")?;
                }
                Ok(())
            }
            NlError::Transport(e) => write!(f, "netlink: {e}"),
            NlError::Protocol(e) => write!(f, "netlink reply: {e}"),
        }
    }
}

/// The extended ACK message of an error, if any.
fn ext_ack_msg(attrs: &GenlBuffer<NlmsgerrAttr, Buffer>) -> Option<String> {
    attrs
        .get_attr_handle()
        .get_attr_payload_as_with_len::<String>(NlmsgerrAttr::Msg)
        .ok()
        .map(|s| s.trim_end_matches('\0').to_string())
}

fn router_error<T: fmt::Debug, P: fmt::Debug>(e: RouterError<T, P>) -> NlError {
    match e {
        RouterError::Nlmsgerr(e) => NlError::Kernel {
            errno: -*e.error(),
            message: ext_ack_msg(e.ext_ack()),
        },
        other => NlError::Transport(format!("{other:?}")),
    }
}

fn attr(
    kind: PciTsmAttr,
    payload: impl neli::Size + neli::ToBytes,
) -> Result<neli::genl::Nlattr<PciTsmAttr, Buffer>, NlError> {
    let build = |e: &dyn fmt::Display| NlError::Protocol(format!("building the request: {e}"));
    NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(kind)
                .build()
                .map_err(|e| build(&e))?,
        )
        .nla_payload(payload)
        .build()
        .map_err(|e| build(&e))
}

/// The generic netlink message of an `evidence-read` request.
pub fn request_message(req: &ReadRequest) -> Result<Genlmsghdr<PciTsmCmd, PciTsmAttr>, NlError> {
    raw_request_message(&RawRequest {
        dev_name: Some(req.device.clone()),
        type_mask: Some(req.type_mask),
        flags: req.digest.then_some(FLAG_DIGEST),
        nonce: req.nonce.clone(),
        extra_attr: None,
    })
}

/// The generic netlink message of any `evidence-read` request.
pub fn raw_request_message(req: &RawRequest) -> Result<Genlmsghdr<PciTsmCmd, PciTsmAttr>, NlError> {
    let mut attrs = GenlBuffer::<PciTsmAttr, Buffer>::new();
    if let Some(name) = &req.dev_name {
        attrs.push(attr(PciTsmAttr::DevName, name.as_str())?);
    }
    if let Some(mask) = req.type_mask {
        attrs.push(attr(PciTsmAttr::TypeMask, mask)?);
    }
    if let Some(flags) = req.flags {
        attrs.push(attr(PciTsmAttr::Flags, flags)?);
    }
    if let Some(nonce) = &req.nonce {
        attrs.push(attr(PciTsmAttr::Nonce, Buffer::from(nonce.as_slice()))?);
    }
    if let Some(n) = req.extra_attr {
        attrs.push(attr(PciTsmAttr::from(n), 0u32)?);
    }
    GenlmsghdrBuilder::default()
        .cmd(PciTsmCmd::EvidenceRead)
        .version(FAMILY_VERSION)
        .attrs(attrs)
        .build()
        .map_err(|e| NlError::Protocol(format!("building the request: {e}")))
}

/// The attributes of one reply message that matter: `type` and `val`.
pub fn dump_message(p: &Genlmsghdr<PciTsmCmd, PciTsmAttr>) -> Result<DumpMessage, NlError> {
    let mut m = DumpMessage::default();
    for a in p.attrs().get_attr_handle().iter() {
        match a.nla_type().nla_type() {
            PciTsmAttr::Type => {
                m.kind = Some(
                    a.get_payload_as::<u32>()
                        .map_err(|e| NlError::Protocol(format!("type attribute: {e}")))?,
                );
            }
            PciTsmAttr::Val => m.val = Some(a.nla_payload().as_ref().to_vec()),
            _ => {}
        }
    }
    Ok(m)
}

/// How often a read that found the evidence changing (`EAGAIN`) is
/// started again.
pub const EAGAIN_RETRIES: usize = 3;

/// Sends `evidence-read` and collects the objects of the dump; starts again
/// (up to [`EAGAIN_RETRIES`] times) when the evidence changed during the
/// dump, as the spec asks.
pub fn read_evidence(req: &ReadRequest) -> Result<Evidence, NlError> {
    let mut tries = 0;
    loop {
        match dump(request_message(req)?) {
            Err(NlError::Kernel { errno: 11, .. }) if tries < EAGAIN_RETRIES => tries += 1,
            other => return other,
        }
    }
}

/// Sends any `evidence-read` and collects the objects of the dump.
pub fn raw_read(req: &RawRequest) -> Result<Evidence, NlError> {
    dump(raw_request_message(req)?)
}

fn dump(hdr: Genlmsghdr<PciTsmCmd, PciTsmAttr>) -> Result<Evidence, NlError> {
    let (sock, _) = NlRouter::connect(NlFamily::Generic, None, Groups::empty())
        .map_err(|e| NlError::Transport(e.to_string()))?;
    // Best effort: without extended ACKs errors still carry their errno.
    let _ = sock.enable_ext_ack(true);
    let family = sock
        .resolve_genl_family(FAMILY_NAME)
        .map_err(|e| match router_error(e) {
            NlError::Kernel { errno, .. } => {
                NlError::NoFamily(std::io::Error::from_raw_os_error(errno).to_string())
            }
            other => NlError::NoFamily(other.to_string()),
        })?;

    let replies = sock
        .send::<_, _, u16, Genlmsghdr<PciTsmCmd, PciTsmAttr>>(
            family,
            NlmF::DUMP,
            NlPayload::Payload(hdr),
        )
        .map_err(router_error)?;
    let mut messages = Vec::new();
    for reply in replies {
        let reply = reply.map_err(router_error)?;
        match reply.nl_payload() {
            NlPayload::Payload(p) => messages.push(dump_message(p)?),
            NlPayload::DumpExtAck(e) if *e.error() != 0 => {
                return Err(NlError::Kernel {
                    errno: -*e.error(),
                    message: ext_ack_msg(e.ext_ack()),
                });
            }
            NlPayload::Err(e) => {
                return Err(NlError::Kernel {
                    errno: -*e.error(),
                    message: ext_ack_msg(e.ext_ack()),
                });
            }
            _ => {}
        }
    }
    reassemble(messages).map_err(NlError::Protocol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use neli::{FromBytesWithInput, ToBytes};
    use std::io::Cursor;

    /// One netlink attribute: length, type, payload, padding to 4.
    fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
        v.extend(kind.to_ne_bytes());
        v.extend(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn reply(attrs: &[Vec<u8>]) -> DumpMessage {
        let mut bytes = vec![CMD_EVIDENCE_READ, FAMILY_VERSION, 0, 0];
        for a in attrs {
            bytes.extend(a);
        }
        let len = bytes.len();
        let p = Genlmsghdr::<PciTsmCmd, PciTsmAttr>::from_bytes_with_input(
            &mut Cursor::new(bytes),
            len,
        )
        .unwrap();
        dump_message(&p).unwrap()
    }

    #[test]
    fn request_bytes() {
        let hdr = request_message(&ReadRequest {
            device: "0000:01:00.0".into(),
            type_mask: 0x301,
            digest: true,
            nonce: Some(vec![0xAA; 3]),
        })
        .unwrap();
        let mut c = Cursor::new(Vec::new());
        hdr.to_bytes(&mut c).unwrap();
        let mut want = vec![CMD_EVIDENCE_READ, FAMILY_VERSION, 0, 0];
        want.extend(nla(ATTR_DEV_NAME, b"0000:01:00.0\0"));
        want.extend(nla(ATTR_TYPE_MASK, &0x301u32.to_ne_bytes()));
        want.extend(nla(ATTR_FLAGS, &FLAG_DIGEST.to_ne_bytes()));
        want.extend(nla(ATTR_NONCE, &[0xAA; 3]));
        assert_eq!(c.into_inner(), want);
    }

    #[test]
    fn raw_request_bytes() {
        let hdr = raw_request_message(&RawRequest {
            type_mask: Some(0x800),
            extra_attr: Some(9),
            ..RawRequest::default()
        })
        .unwrap();
        let mut c = Cursor::new(Vec::new());
        hdr.to_bytes(&mut c).unwrap();
        let mut want = vec![CMD_EVIDENCE_READ, FAMILY_VERSION, 0, 0];
        want.extend(nla(ATTR_TYPE_MASK, &0x800u32.to_ne_bytes()));
        want.extend(nla(9, &[0; 4]));
        assert_eq!(c.into_inner(), want);
        assert_eq!(errno_name(22), Some("EINVAL"));
        assert_eq!(errno_name(4095), None);
    }

    #[test]
    fn reply_attributes() {
        let m = reply(&[nla(ATTR_TYPE, &9u32.to_ne_bytes()), nla(ATTR_VAL, b"abcde")]);
        assert_eq!(m.kind, Some(9));
        assert_eq!(m.val.as_deref(), Some(&b"abcde"[..]));
        // A continuation: val only.
        let m = reply(&[nla(ATTR_VAL, b"fg")]);
        assert_eq!((m.kind, m.val.as_deref()), (None, Some(&b"fg"[..])));
    }
}
