// SPDX-License-Identifier: GPL-2.0

//! The `pci-tsm` generic netlink family (`Documentation/netlink/specs/pci-tsm.yaml`): operation
//! `evidence-read`, a dump of the evidence TSMs published with [`kernel::tsm::evidence`].
//!
//! # Requests
//!
//! The generic netlink core validates a request strictly against [`POLICY`] before any handler
//! runs: attribute types other than `type-mask`, `flags`, `dev-name` and `nonce` (including the
//! reply attributes `type` and `val`, and numbers the family does not define), bits outside the
//! spec's masks, a `u32` of the wrong size and a `dev-name` without its NUL are `EINVAL`; a
//! caller without `CAP_NET_ADMIN` gets `EPERM`. The start of the dump ([`check_request`])
//! then refuses a missing `dev-name` or `type-mask`, and an empty nonce or one above
//! `max-nonce-size`, with `EINVAL` (the nonce's length is checked here rather than by policy,
//! where it would be `ERANGE`, because the spec documents `EINVAL`); an unknown device is
//! `ENODEV`, a device without evidence `ENXIO`. With a nonce, the producer's refresh runs
//! under the device's DSM lock (`EOPNOTSUPP` if it has none) before the dump records the
//! evidence generation. These errors answer the request (`NLMSG_ERROR`).
//!
//! # The dump
//!
//! For each type of `type-mask`, in type order, the first message carries `type` and the
//! first chunk of `val` (the object, or its digest with the `digest` flag; empty if the TSM
//! does not have it), and further messages carry the next chunks in `val`, as many per buffer
//! as fit. Every call of the dump looks the device's evidence up again and ends the dump with
//! `EAGAIN` if its generation is not the one recorded at the start (a new publication, a
//! refresh, a disconnect). The position (type, offset) is the dump state of
//! `netlink_callback::ctx`; no lock and no reference is held between calls.

use kernel::{
    net::genl::{
        AttrPolicy, Attrs, DumpOperation, DumpStatus, Dumper, Family, OpFlags, Operation, Policy,
        PolicyRef, Registration, Request,
    },
    pci,
    prelude::*,
    sync::SetOnce,
    tsm::evidence::{self, Kind, MAX_NONCE_SIZE},
};

/// Family name.
pub(crate) const FAMILY: &CStr = c"pci-tsm";
/// Family version.
pub(crate) const VERSION: u32 = 1;
/// `evidence-read`.
pub(crate) const CMD_EVIDENCE_READ: u8 = 1;
/// `type` (u32): the object that starts in this message.
pub(crate) const ATTR_TYPE: u16 = 1;
/// `type-mask` (u32): the types to read.
pub(crate) const ATTR_TYPE_MASK: u16 = 2;
/// `flags` (u32).
pub(crate) const ATTR_FLAGS: u16 = 3;
/// `dev-name` (string).
pub(crate) const ATTR_DEV_NAME: u16 = 4;
/// `nonce` (binary).
pub(crate) const ATTR_NONCE: u16 = 5;
/// `val` (binary): a chunk of the object.
pub(crate) const ATTR_VAL: u16 = 6;
/// Every `evidence-type-flag` bit.
pub(crate) const TYPE_MASK_ALL: u32 = (1 << Kind::COUNT) - 1;
/// `evidence-flag` `digest`.
pub(crate) const FLAG_DIGEST: u32 = 1;

/// The request policy of `evidence-read`.
pub(crate) const POLICY: &Policy<6> = &Policy::new([
    AttrPolicy::Reject,
    // `type` is a reply attribute.
    AttrPolicy::Reject,
    AttrPolicy::U32 {
        mask: TYPE_MASK_ALL,
    },
    AttrPolicy::U32 { mask: FLAG_DIGEST },
    AttrPolicy::NulString { max_len: 0 },
    // Any length here: `check_request` answers EINVAL for an empty or oversized nonce.
    AttrPolicy::Binary { max_len: 0 },
]);

/// What an `evidence-read` asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReadRequest<'a> {
    /// `dev-name`.
    pub(crate) dev_name: &'a [u8],
    /// `type-mask`.
    pub(crate) type_mask: u32,
    /// The `digest` flag.
    pub(crate) digest: bool,
    /// `nonce`.
    pub(crate) nonce: Option<&'a [u8]>,
}

/// Checks what the policy cannot (see the module documentation).
pub(crate) fn check_request<'a>(
    attrs: &Attrs<'a>,
) -> Result<ReadRequest<'a>, (Error, &'static CStr)> {
    let dev_name = attrs
        .string(ATTR_DEV_NAME)
        .ok_or((EINVAL, c"dev-name is required"))?;
    let type_mask = attrs
        .u32(ATTR_TYPE_MASK)
        .ok_or((EINVAL, c"type-mask is required"))?;
    let nonce = attrs.binary(ATTR_NONCE);
    if nonce.is_some_and(|n| n.is_empty() || n.len() > MAX_NONCE_SIZE) {
        return Err((EINVAL, c"nonce must be 1 to 256 bytes"));
    }
    let digest = attrs.u32(ATTR_FLAGS).unwrap_or(0) & FLAG_DIGEST != 0;
    Ok(ReadRequest {
        dev_name,
        type_mask: type_mask & TYPE_MASK_ALL,
        digest,
        nonce,
    })
}

/// The dump's position, kept in `netlink_callback::ctx`.
#[derive(Default)]
pub(crate) struct DumpState {
    /// The evidence generation recorded when the dump started.
    pub(crate) generation: u64,
    /// The type being sent (its number).
    pub(crate) kind: u32,
    /// Bytes of that object already sent.
    pub(crate) offset: u32,
    /// Whether the object's first message (with `type`) was sent.
    pub(crate) in_object: bool,
}

// SAFETY: All zeroes is a valid `DumpState` (every field is an integer or `bool`).
unsafe impl Zeroable for DumpState {}

fn find_device(name: &[u8]) -> Result<ARefDevice> {
    pci::Device::find_by_name(name).map_err(|e| if e == ENOMEM { e } else { ENODEV })
}

type ARefDevice = kernel::sync::aref::ARef<pci::Device>;

/// `evidence-read`.
pub(crate) struct EvidenceRead;

impl EvidenceRead {
    fn start_checked(
        req: &Request<'_>,
        state: &mut DumpState,
    ) -> Result<(), (Error, &'static CStr)> {
        let attrs = req.attrs();
        let read = check_request(&attrs)?;
        let pdev = find_device(read.dev_name).map_err(|e| (e, c"no such PCI device"))?;
        let snap = evidence::snapshot(&pdev).ok_or((ENXIO, c"the device has no evidence"))?;
        if let Some(nonce) = read.nonce {
            crate::lifecycle::with_connected(&pdev, |ctx| snap.refresh(ctx, nonce))
                .map_err(|e| (e, c"refreshing the measurements failed"))?;
        }
        let snap = evidence::snapshot(&pdev).ok_or((ENXIO, c"the device has no evidence"))?;
        *state = DumpState {
            generation: snap.generation(),
            ..DumpState::default()
        };
        Ok(())
    }
}

impl DumpOperation for EvidenceRead {
    const CMD: u8 = CMD_EVIDENCE_READ;
    const FLAGS: OpFlags = OpFlags::ADMIN_PERM;
    const POLICY: PolicyRef = POLICY.as_ref();
    type State = DumpState;

    fn start(req: &Request<'_>, state: &mut DumpState) -> Result {
        Self::start_checked(req, state).map_err(|(e, msg)| {
            req.set_error_message(msg);
            e
        })
    }

    fn dump(req: &Request<'_>, state: &mut DumpState, out: &mut Dumper<'_>) -> Result<DumpStatus> {
        let attrs = req.attrs();
        let read = check_request(&attrs).map_err(|(e, _)| e)?;
        let pdev = find_device(read.dev_name)?;
        let snap = evidence::snapshot(&pdev).ok_or(EAGAIN)?;
        if snap.generation() != state.generation {
            req.set_error_message(c"the evidence changed during the dump");
            return Err(EAGAIN);
        }
        while let Some(kind) = Kind::from_u32(state.kind) {
            if read.type_mask & (1 << state.kind) == 0 {
                state.kind += 1;
                continue;
            }
            let data = if read.digest {
                snap.digest(kind)
            } else {
                snap.object(kind)
            }
            .unwrap_or(&[]);
            let offset = usize::try_from(state.offset)?;
            let rest = data.get(offset..).ok_or(EINVAL)?;
            let Some(mut msg) = out.message() else {
                return Ok(DumpStatus::More);
            };
            if !state.in_object && msg.put_u32(ATTR_TYPE, kind.number()).is_err() {
                return Ok(DumpStatus::More);
            }
            let chunk = rest.len().min(msg.room());
            if chunk == 0 && !rest.is_empty() {
                // No room for a byte: cancel the message, continue in the next buffer.
                return Ok(DumpStatus::More);
            }
            if msg.put_bytes(ATTR_VAL, &rest[..chunk]).is_err() {
                return Ok(DumpStatus::More);
            }
            msg.end();
            state.in_object = true;
            if chunk == rest.len() {
                state.kind += 1;
                state.offset = 0;
                state.in_object = false;
            } else {
                state.offset = u32::try_from(offset + chunk)?;
            }
        }
        Ok(DumpStatus::Done)
    }
}

static OPS: [Operation; 1] = [Operation::dump::<EvidenceRead>()];

static FAMILY_STORAGE: Family = Family::new();

static FAMILY_REGISTRATION: SetOnce<Registration> = SetOnce::new();

/// Registers the family, once, from an initcall after generic netlink is up; it stays
/// registered while the kernel runs (the core is built in).
pub(crate) fn init() -> Result {
    let reg = Registration::new(&FAMILY_STORAGE, FAMILY, VERSION, &OPS, None)?;
    if !FAMILY_REGISTRATION.populate(reg) {
        return Err(EBUSY);
    }
    Ok(())
}

#[kunit_tests(pci_tsm_netlink)]
mod tests {
    use super::*;
    use kernel::net::genl::{encode_attr, TestRequest};
    use kernel::tsm::evidence::{Evidence, Hash};

    /// The host bridge of the KUnit machine: any PCI device will do as a key of the store.
    const DEV: &[u8] = b"0000:00:00.0";

    fn request(attrs: &[(u16, &[u8])]) -> Result<KVec<u8>> {
        let mut raw = KVec::new();
        for (t, payload) in attrs {
            encode_attr(&mut raw, *t, payload)?;
        }
        Ok(raw)
    }

    fn dev_name() -> KVec<u8> {
        let mut v = KVec::new();
        v.extend_from_slice(DEV, GFP_KERNEL).unwrap();
        v.push(0, GFP_KERNEL).unwrap();
        v
    }

    fn parse_err(attrs: &[(u16, &[u8])]) -> Option<Error> {
        let raw = request(attrs).unwrap();
        POLICY.as_ref().parse(&raw).err()
    }

    fn check_err(attrs: &[(u16, &[u8])]) -> Option<Error> {
        let raw = request(attrs).unwrap();
        let parsed = POLICY.as_ref().parse(&raw).unwrap();
        let attrs = parsed.attrs();
        check_request(&attrs).err().map(|(e, _)| e)
    }

    #[test]
    fn family_is_registered() {
        let reg = FAMILY_REGISTRATION.as_ref();
        assert!(reg.is_some_and(|r| r.id() != 0));
        // A second registration of the name fails.
        assert!(init().is_err());
    }

    #[test]
    fn policy_refuses_what_the_spec_does_not_allow() {
        let name = dev_name();
        let mask = 0x7ffu32.to_ne_bytes();
        // A complete request parses.
        assert_eq!(
            parse_err(&[(ATTR_DEV_NAME, &name), (ATTR_TYPE_MASK, &mask)]),
            None
        );
        // type-mask bits above report, flags bits above digest.
        assert_eq!(
            parse_err(&[(ATTR_TYPE_MASK, &0x800u32.to_ne_bytes())]),
            Some(EINVAL)
        );
        assert_eq!(
            parse_err(&[(ATTR_FLAGS, &2u32.to_ne_bytes())]),
            Some(EINVAL)
        );
        // A u32 of the wrong size, a string without its NUL.
        assert_eq!(parse_err(&[(ATTR_TYPE_MASK, &[1, 0])]), Some(EINVAL));
        assert_eq!(parse_err(&[(ATTR_DEV_NAME, DEV)]), Some(EINVAL));
        // Unknown attributes are refused (strict validation), reply attributes too.
        assert_eq!(parse_err(&[(9, &0u32.to_ne_bytes())]), Some(EINVAL));
        assert_eq!(parse_err(&[(0, &0u32.to_ne_bytes())]), Some(EINVAL));
        assert_eq!(parse_err(&[(ATTR_TYPE, &0u32.to_ne_bytes())]), Some(EINVAL));
        assert_eq!(parse_err(&[(ATTR_VAL, &[1, 2, 3])]), Some(EINVAL));
    }

    #[test]
    fn request_checks() {
        let name = dev_name();
        let mask = 0x301u32.to_ne_bytes();
        let nonce = [0xaa; MAX_NONCE_SIZE + 1];
        assert_eq!(check_err(&[(ATTR_TYPE_MASK, &mask)]), Some(EINVAL));
        assert_eq!(check_err(&[(ATTR_DEV_NAME, &name)]), Some(EINVAL));
        let ok = &[(ATTR_DEV_NAME, &name[..]), (ATTR_TYPE_MASK, &mask[..])];
        assert_eq!(check_err(ok), None);
        for (len, want) in [
            (0, Some(EINVAL)),
            (1, None),
            (256, None),
            (257, Some(EINVAL)),
        ] {
            let attrs = [
                (ATTR_DEV_NAME, &name[..]),
                (ATTR_TYPE_MASK, &mask[..]),
                (ATTR_NONCE, &nonce[..len]),
            ];
            assert_eq!(check_err(&attrs), want);
        }
        let raw = request(&[
            (ATTR_DEV_NAME, &name),
            (ATTR_TYPE_MASK, &mask),
            (ATTR_FLAGS, &FLAG_DIGEST.to_ne_bytes()),
            (ATTR_NONCE, &nonce[..32]),
        ])
        .unwrap();
        let parsed = POLICY.as_ref().parse(&raw).unwrap();
        let attrs = parsed.attrs();
        assert_eq!(
            check_request(&attrs).ok(),
            Some(ReadRequest {
                dev_name: DEV,
                type_mask: 0x301,
                digest: true,
                nonce: Some(&nonce[..32]),
            })
        );
    }

    /// Runs a whole dump in buffers of `size` bytes; returns the objects as (type, bytes).
    fn dump_all(raw: &[u8], size: usize) -> Result<KVec<(u32, KVec<u8>)>> {
        let req = TestRequest::new(POLICY.as_ref(), CMD_EVIDENCE_READ, raw)?;
        let mut state = DumpState::default();
        EvidenceRead::start(&req.request(), &mut state)?;
        let mut objects: KVec<(u32, KVec<u8>)> = KVec::new();
        loop {
            let (status, messages) = req.dump::<EvidenceRead>(&mut state, size)?;
            for msg in &messages {
                for (t, payload) in msg {
                    match *t {
                        ATTR_TYPE => {
                            let kind = u32::from_ne_bytes(payload[..4].try_into().unwrap());
                            objects.push((kind, KVec::new()), GFP_KERNEL)?;
                        }
                        ATTR_VAL => {
                            let last = objects.last_mut().ok_or(EPROTO)?;
                            last.1.extend_from_slice(payload, GFP_KERNEL)?;
                        }
                        _ => return Err(EPROTO),
                    }
                }
            }
            if status == DumpStatus::Done {
                return Ok(objects);
            }
        }
    }

    fn sample(len: usize, seed: u8) -> KVVec<u8> {
        let mut v = KVVec::with_capacity(len, GFP_KERNEL).unwrap();
        for i in 0..len {
            v.push((i as u8).wrapping_mul(31).wrapping_add(seed), GFP_KERNEL)
                .unwrap();
        }
        v
    }

    #[test]
    fn dump_chunks_objects_and_digests() {
        let Ok(pdev) = pci::Device::find_by_name(DEV) else {
            kernel::kunit::mark_skipped(c"no PCI device 0000:00:00.0");
            return;
        };
        let name = dev_name();
        let mut ev = Evidence::new(Some(Hash::Sha384));
        ev.set_vec(Kind::Cert0, sample(150_000, 1)).unwrap();
        ev.set_vec(Kind::Vca, sample(100, 2)).unwrap();
        evidence::publish(&pdev, ev).unwrap();

        let mask = ((1u32 << 0) | (1 << 8) | (1 << 9)).to_ne_bytes();
        let raw = request(&[(ATTR_DEV_NAME, &name), (ATTR_TYPE_MASK, &mask)]).unwrap();
        let objects = dump_all(&raw, 4000).unwrap();
        assert_eq!(objects.len(), 3);
        assert_eq!(objects[0].0, 0);
        assert_eq!(&objects[0].1[..], &sample(150_000, 1)[..]);
        assert_eq!(objects[1].0, 8);
        assert_eq!(&objects[1].1[..], &sample(100, 2)[..]);
        // Measurements were not published: type with an empty val.
        assert_eq!(objects[2].0, 9);
        assert!(objects[2].1.is_empty());

        let digest = FLAG_DIGEST.to_ne_bytes();
        let raw = request(&[
            (ATTR_DEV_NAME, &name),
            (ATTR_TYPE_MASK, &(1u32 << 8).to_ne_bytes()),
            (ATTR_FLAGS, &digest),
        ])
        .unwrap();
        let objects = dump_all(&raw, 4000).unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(
            &objects[0].1[..],
            &kernel::crypto::sha2::Sha384::digest(&sample(100, 2))[..]
        );

        // A nonce with a producer that cannot refresh: the device has no TSM context here.
        let raw = request(&[
            (ATTR_DEV_NAME, &name),
            (ATTR_TYPE_MASK, &mask),
            (ATTR_NONCE, &[1, 2, 3]),
        ])
        .unwrap();
        assert_eq!(dump_all(&raw, 4000).err(), Some(ENXIO));
        evidence::clear(&pdev);
    }

    #[test]
    fn errors_before_the_dump() {
        let name = dev_name();
        let mask = 1u32.to_ne_bytes();
        let raw = request(&[(ATTR_DEV_NAME, b"ffff:ff:1f.7\0"), (ATTR_TYPE_MASK, &mask)]).unwrap();
        assert_eq!(dump_all(&raw, 4000).err(), Some(ENODEV));
        if let Ok(pdev) = pci::Device::find_by_name(DEV) {
            evidence::clear(&pdev);
            let raw = request(&[(ATTR_DEV_NAME, &name), (ATTR_TYPE_MASK, &mask)]).unwrap();
            assert_eq!(dump_all(&raw, 4000).err(), Some(ENXIO));
        }
    }

    #[test]
    fn publish_during_a_dump_is_eagain() {
        let Ok(pdev) = pci::Device::find_by_name(DEV) else {
            kernel::kunit::mark_skipped(c"no PCI device 0000:00:00.0");
            return;
        };
        let name = dev_name();
        let mut ev = Evidence::new(None);
        ev.set_vec(Kind::Cert0, sample(20_000, 3)).unwrap();
        evidence::publish(&pdev, ev).unwrap();
        let raw = request(&[
            (ATTR_DEV_NAME, &name),
            (ATTR_TYPE_MASK, &1u32.to_ne_bytes()),
        ])
        .unwrap();
        let req = TestRequest::new(POLICY.as_ref(), CMD_EVIDENCE_READ, &raw).unwrap();
        let mut state = DumpState::default();
        EvidenceRead::start(&req.request(), &mut state).unwrap();
        let (status, messages) = req.dump::<EvidenceRead>(&mut state, 4000).unwrap();
        assert_eq!(status, DumpStatus::More);
        assert!(!messages.is_empty());

        // A new connect (or a refresh) publishes between two calls of the dump.
        evidence::publish(&pdev, Evidence::new(None)).unwrap();
        assert_eq!(
            req.dump::<EvidenceRead>(&mut state, 4000).err(),
            Some(EAGAIN)
        );

        // Started again, the dump reads the new generation to the end.
        let mut state = DumpState::default();
        EvidenceRead::start(&req.request(), &mut state).unwrap();
        let (status, _) = req.dump::<EvidenceRead>(&mut state, 4000).unwrap();
        assert_eq!(status, DumpStatus::Done);

        // A disconnect between two calls: EAGAIN too; then ENXIO at the start.
        let mut ev = Evidence::new(None);
        ev.set_vec(Kind::Cert0, sample(20_000, 4)).unwrap();
        evidence::publish(&pdev, ev).unwrap();
        let mut state = DumpState::default();
        EvidenceRead::start(&req.request(), &mut state).unwrap();
        let (status, _) = req.dump::<EvidenceRead>(&mut state, 4000).unwrap();
        assert_eq!(status, DumpStatus::More);
        evidence::clear(&pdev);
        assert_eq!(
            req.dump::<EvidenceRead>(&mut state, 4000).err(),
            Some(EAGAIN)
        );
        let mut state = DumpState::default();
        assert_eq!(
            EvidenceRead::start(&req.request(), &mut state).err(),
            Some(ENXIO)
        );
    }
}
