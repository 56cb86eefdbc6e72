// SPDX-License-Identifier: GPL-2.0

//! Generic netlink families with request and dump operations.
//!
//! [`super::netlink`] covers families that only multicast. This module adds what a family that
//! answers requests needs: an operation table built from Rust traits ([`RequestOperation`] for
//! `doit`, [`DumpOperation`] for `start`/`dumpit`/`done`), per-operation attribute policies that
//! the generic netlink core enforces before a handler runs ([`Policy`]), typed access to the
//! request's attributes ([`Attrs`]), and message builders for replies ([`Message`]) that report
//! a full buffer as [`EMSGSIZE`] so that a dump resumes in the next buffer from a state kept in
//! `netlink_callback::ctx` ([`DumpOperation::State`]).
//!
//! Families live in a static [`Family`], are registered with [`Registration::new`] and are
//! unregistered when it is dropped. A
//! family has no family-wide policy and `resv_start_op` 0, so every operation is validated
//! strictly (`NL_VALIDATE_STRICT`): an attribute the operation's policy does not describe,
//! trailing bytes and attributes of the wrong size are refused with `EINVAL` before any handler
//! runs.
//!
//! C header: [`include/net/genetlink.h`](srctree/include/net/genetlink.h)
//!
//! # Examples
//!
//! A family `example` with one dump operation that sends the numbers `0..count` one per message:
//!
//! ```
//! use kernel::net::genl::{
//!     AttrPolicy, Attrs, DumpOperation, DumpStatus, Dumper, Family, OpFlags, Operation,
//!     Policy, PolicyRef, Registration, Request,
//! };
//! use kernel::prelude::*;
//!
//! const ATTR_COUNT: u16 = 1;
//! const ATTR_VALUE: u16 = 2;
//! const POLICY: &Policy<2> =
//!     &Policy::new([AttrPolicy::Reject, AttrPolicy::U32 { mask: u32::MAX }]);
//!
//! struct Count;
//!
//! impl DumpOperation for Count {
//!     const CMD: u8 = 1;
//!     const FLAGS: OpFlags = OpFlags::ADMIN_PERM;
//!     const POLICY: PolicyRef = POLICY.as_ref();
//!     type State = u32;
//!
//!     fn dump(req: &Request<'_>, next: &mut u32, out: &mut Dumper<'_>) -> Result<DumpStatus> {
//!         let count = req.attrs().u32(ATTR_COUNT).ok_or(EINVAL)?;
//!         while *next < count {
//!             let Some(mut msg) = out.message() else {
//!                 return Ok(DumpStatus::More);
//!             };
//!             if msg.put_u32(ATTR_VALUE, *next).is_err() {
//!                 return Ok(DumpStatus::More); // Dropping `msg` cancels it.
//!             }
//!             msg.end();
//!             *next += 1;
//!         }
//!         Ok(DumpStatus::Done)
//!     }
//! }
//!
//! static OPS: [Operation; 1] = [Operation::dump::<Count>()];
//! static FAMILY: Family = Family::new();
//!
//! let reg = Registration::new(&FAMILY, c"rust-genl-doc", 1, &OPS, None)?;
//! assert!(reg.id() != 0);
//! assert_eq!(Registration::new(&FAMILY, c"rust-genl-doc", 1, &OPS, None).err(), Some(EBUSY));
//! drop(reg); // Unregisters the family; it may be registered again.
//! drop(Registration::new(&FAMILY, c"rust-genl-doc", 1, &OPS, None)?);
//!
//! // What the generic netlink core does with a request's attributes, here by hand:
//! let mut raw = KVec::new();
//! kernel::net::genl::encode_attr(&mut raw, ATTR_COUNT, &3u32.to_ne_bytes())?;
//! let parsed = POLICY.as_ref().parse(&raw)?;
//! assert_eq!(parsed.attrs().u32(ATTR_COUNT), Some(3));
//! let _: Attrs<'_> = parsed.attrs();
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    error::{from_result, to_result},
    prelude::*,
    sync::atomic::{Acquire, Atomic, Release},
    types::Opaque,
    ThisModule,
};
use core::{ffi::c_void, marker::PhantomData, mem::size_of, ptr::NonNull};

/// Size of an attribute header (`NLA_HDRLEN`).
const NLA_HDRLEN: usize = size_of::<bindings::nlattr>();

/// Largest payload of one attribute: `nla_len` (u16) counts the header too.
pub const MAX_ATTR_PAYLOAD: usize = u16::MAX as usize - NLA_HDRLEN;

/// Rounds `len` up to the attribute alignment (`NLA_ALIGN`).
const fn nla_align(len: usize) -> usize {
    let to = bindings::NLA_ALIGNTO as usize;
    (len + to - 1) & !(to - 1)
}

/// What a request attribute may hold: one entry of a [`Policy`].
#[derive(Clone, Copy, Debug)]
pub enum AttrPolicy {
    /// Not part of the request: strict validation refuses the attribute (`NLA_UNSPEC`).
    Reject,
    /// A `u32` with no bit outside `mask` (`NLA_POLICY_MASK(NLA_U32, mask)`).
    U32 {
        /// The bits the value may have set; `u32::MAX` accepts any value.
        mask: u32,
    },
    /// A NUL-terminated string of at most `max_len` characters, 0 meaning no limit
    /// (`NLA_NUL_STRING`).
    NulString {
        /// Longest string without its NUL, or 0.
        max_len: u16,
    },
    /// Bytes, at most `max_len` of them (`NLA_POLICY_MAX_LEN`); may be empty.
    Binary {
        /// Longest payload.
        max_len: u16,
    },
}

impl AttrPolicy {
    const fn to_raw(self) -> bindings::nla_policy {
        let mut p: bindings::nla_policy = pin_init::zeroed();
        match self {
            Self::Reject => {}
            Self::U32 { mask } => {
                p.type_ = bindings::NLA_U32 as u8;
                if mask != u32::MAX {
                    p.validation_type = bindings::nla_policy_validation_NLA_VALIDATE_MASK as u8;
                    p.__bindgen_anon_1 = bindings::nla_policy__bindgen_ty_1 { mask };
                }
            }
            Self::NulString { max_len } => {
                p.type_ = bindings::NLA_NUL_STRING as u8;
                p.len = max_len;
            }
            Self::Binary { max_len } => {
                p.type_ = bindings::NLA_BINARY as u8;
                p.len = max_len;
            }
        }
        p
    }
}

/// The attribute policy of an operation: entry `n` describes attribute type `n`; entry 0 must
/// be [`AttrPolicy::Reject`] (type 0 is never valid) and `N - 1` is the largest type.
///
/// # Invariants
///
/// `N >= 1`, and the table is a valid `struct nla_policy` array of `N` entries.
#[repr(transparent)]
pub struct Policy<const N: usize>([bindings::nla_policy; N]);

// SAFETY: The table is immutable; its pointers (in unused union members) are never followed.
unsafe impl<const N: usize> Sync for Policy<N> {}

impl<const N: usize> Policy<N> {
    /// Builds a policy table. Panics at build time if `N` is 0 or above `u16::MAX`.
    pub const fn new(entries: [AttrPolicy; N]) -> Self {
        if N == 0 || N > u16::MAX as usize {
            panic!("a policy describes attribute types 0..N, 1 <= N <= 65535");
        }
        let mut table = [pin_init::zeroed::<bindings::nla_policy>(); N];
        let mut i = 0;
        while i < N {
            table[i] = entries[i].to_raw();
            i += 1;
        }
        // INVARIANT: `N >= 1` was checked, every entry was built by `AttrPolicy::to_raw`.
        Self(table)
    }

    /// A reference to the table for an operation.
    pub const fn as_ref(&'static self) -> PolicyRef {
        PolicyRef {
            table: &self.0,
            max_attr: (N - 1) as u16,
        }
    }
}

/// A reference to a static [`Policy`] of any size.
///
/// # Invariants
///
/// `table` holds `max_attr + 1` entries.
#[derive(Clone, Copy)]
pub struct PolicyRef {
    table: &'static [bindings::nla_policy],
    max_attr: u16,
}

impl PolicyRef {
    /// The largest attribute type of the policy.
    pub const fn max_attr(&self) -> u16 {
        self.max_attr
    }

    /// Parses and validates an attribute stream as the generic netlink core does for a request
    /// (`NL_VALIDATE_STRICT`), for tests and for payloads that are not requests. Fails with
    /// `EINVAL` (or `ERANGE` for a length out of bounds) as a request with these attributes
    /// would.
    pub fn parse<'a>(&self, stream: &'a [u8]) -> Result<ParsedAttrs<'a>> {
        let len = c_int::try_from(stream.len()).map_err(|_| EINVAL)?;
        let mut table = KVec::with_capacity(usize::from(self.max_attr) + 1, GFP_KERNEL)?;
        for _ in 0..=self.max_attr {
            table.push(core::ptr::null_mut(), GFP_KERNEL)?;
        }
        let validate = bindings::netlink_validation_NL_VALIDATE_TRAILING
            | bindings::netlink_validation_NL_VALIDATE_MAXTYPE
            | bindings::netlink_validation_NL_VALIDATE_UNSPEC
            | bindings::netlink_validation_NL_VALIDATE_STRICT_ATTRS
            | bindings::netlink_validation_NL_VALIDATE_NESTED;
        // SAFETY: `table` has `max_attr + 1` entries; `stream` is readable for `len` bytes (the
        // parser checks every header against `len`); the policy has `max_attr + 1` entries by
        // the type invariants; a NULL extack is allowed.
        to_result(unsafe {
            bindings::__nla_parse(
                table.as_mut_ptr(),
                c_int::from(self.max_attr),
                stream.as_ptr().cast(),
                len,
                self.table.as_ptr(),
                validate,
                core::ptr::null_mut(),
            )
        })?;
        // INVARIANT: `__nla_parse` filled `table` with NULL or pointers into `stream`.
        Ok(ParsedAttrs {
            table,
            _stream: PhantomData,
        })
    }
}

/// Appends one attribute (header, payload, padding) to `stream`, as a sender would.
pub fn encode_attr(stream: &mut KVec<u8>, attr_type: u16, payload: &[u8]) -> Result {
    if payload.len() > MAX_ATTR_PAYLOAD {
        return Err(EMSGSIZE);
    }
    let len = (NLA_HDRLEN + payload.len()) as u16;
    stream.extend_from_slice(&len.to_ne_bytes(), GFP_KERNEL)?;
    stream.extend_from_slice(&attr_type.to_ne_bytes(), GFP_KERNEL)?;
    stream.extend_from_slice(payload, GFP_KERNEL)?;
    for _ in payload.len()..nla_align(payload.len()) {
        stream.push(0, GFP_KERNEL)?;
    }
    Ok(())
}

/// Attributes parsed by [`PolicyRef::parse`].
///
/// # Invariants
///
/// Each entry of `table` is NULL or points to a validated attribute inside the stream of `'a`.
pub struct ParsedAttrs<'a> {
    table: KVec<*mut bindings::nlattr>,
    _stream: PhantomData<&'a [u8]>,
}

impl ParsedAttrs<'_> {
    /// The attributes.
    pub fn attrs(&self) -> Attrs<'_> {
        // SAFETY: By the type invariants; `max_attr` is the table's last index.
        unsafe { Attrs::from_raw(self.table.as_ptr(), (self.table.len() - 1) as u16) }
    }
}

/// The validated attributes of a request, indexed by attribute type.
///
/// # Invariants
///
/// `table` is NULL or points to `max_attr + 1` entries, each NULL or pointing to an attribute
/// that was validated against the operation's policy and stays valid for `'a`.
#[derive(Clone, Copy)]
pub struct Attrs<'a> {
    table: *const *mut bindings::nlattr,
    max_attr: u16,
    _p: PhantomData<&'a bindings::nlattr>,
}

impl<'a> Attrs<'a> {
    /// Wraps a parsed attribute table (`genl_info::attrs`).
    ///
    /// # Safety
    ///
    /// `table` is NULL or points to `max_attr + 1` entries, each NULL or pointing to an
    /// attribute validated against a policy of at least that size, valid for `'a`.
    pub unsafe fn from_raw(table: *const *mut bindings::nlattr, max_attr: u16) -> Self {
        // INVARIANT: By the safety requirements.
        Self {
            table,
            max_attr,
            _p: PhantomData,
        }
    }

    /// The payload of attribute `attr_type`, if the request has it.
    pub fn get(&self, attr_type: u16) -> Option<&'a [u8]> {
        if self.table.is_null() || attr_type > self.max_attr {
            return None;
        }
        // SAFETY: `attr_type <= max_attr` indexes the table, by the type invariants.
        let nla = unsafe { *self.table.add(usize::from(attr_type)) };
        if nla.is_null() {
            return None;
        }
        // SAFETY: A non-NULL entry points to a validated attribute, by the type invariants.
        let total = usize::from(unsafe { (*nla).nla_len });
        let len = total.checked_sub(NLA_HDRLEN)?;
        // SAFETY: A validated attribute has `nla_len` bytes from its header (the parser checked
        // it against the message), valid for `'a`.
        Some(unsafe { core::slice::from_raw_parts(nla.cast::<u8>().add(NLA_HDRLEN), len) })
    }

    /// Whether the request has attribute `attr_type`.
    pub fn has(&self, attr_type: u16) -> bool {
        self.get(attr_type).is_some()
    }

    /// A `u32` attribute ([`AttrPolicy::U32`]).
    pub fn u32(&self, attr_type: u16) -> Option<u32> {
        let bytes = self.get(attr_type)?;
        Some(u32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?))
    }

    /// A string attribute ([`AttrPolicy::NulString`]), without its NUL.
    pub fn string(&self, attr_type: u16) -> Option<&'a [u8]> {
        let bytes = self.get(attr_type)?;
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Some(&bytes[..end])
    }

    /// A binary attribute ([`AttrPolicy::Binary`]).
    pub fn binary(&self, attr_type: u16) -> Option<&'a [u8]> {
        self.get(attr_type)
    }
}

/// Flags of an operation (`GENL_*` of `struct genl_ops::flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpFlags(u8);

impl OpFlags {
    /// No restriction.
    pub const NONE: Self = Self(0);
    /// The caller needs `CAP_NET_ADMIN`, else the core answers `EPERM` (`GENL_ADMIN_PERM`).
    pub const ADMIN_PERM: Self = Self(bindings::GENL_ADMIN_PERM as u8);
}

/// A request being handled: its attributes and where errors are explained.
///
/// # Invariants
///
/// `info` points to the request's `genl_info`, valid for `'a`; `extack` is NULL or valid for
/// `'a`; `max_attr` is the largest type of the policy the attributes were validated against.
pub struct Request<'a> {
    info: *const bindings::genl_info,
    extack: *mut bindings::netlink_ext_ack,
    max_attr: u16,
    _p: PhantomData<&'a bindings::genl_info>,
}

impl<'a> Request<'a> {
    /// # Safety
    ///
    /// As for the type invariants.
    unsafe fn from_raw(
        info: *const bindings::genl_info,
        extack: *mut bindings::netlink_ext_ack,
        max_attr: u16,
    ) -> Self {
        // INVARIANT: By the safety requirements.
        Self {
            info,
            extack,
            max_attr,
            _p: PhantomData,
        }
    }

    /// The request's attributes, validated against the operation's policy.
    pub fn attrs(&self) -> Attrs<'a> {
        // SAFETY: `info` is valid by the type invariants.
        let table = unsafe { (*self.info).attrs };
        // SAFETY: The generic netlink core parsed the request into `attrs` with the operation's
        // policy of `max_attr + 1` entries; they stay valid while the request is handled.
        unsafe { Attrs::from_raw(table.cast_const(), self.max_attr) }
    }

    /// Sets the message of the extended ACK that accompanies the error returned to the caller.
    pub fn set_error_message(&self, msg: &'static CStr) {
        if !self.extack.is_null() {
            // SAFETY: `extack` is valid by the type invariants; the message is static.
            unsafe { (*self.extack)._msg = msg.as_char_ptr() };
        }
    }

    /// Starts a reply message of at most `size` payload bytes (see [`Reply`]).
    pub fn reply(&self, size: usize) -> Result<Reply<'a>> {
        // SAFETY: `genlmsg_new` only needs valid integers.
        let skb = unsafe { bindings::genlmsg_new(size, GFP_KERNEL.as_raw()) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: `info` is valid by the type invariants.
        let info = unsafe { &*self.info };
        // SAFETY: `info.genlhdr` points to the request's header.
        let cmd = unsafe { (*info.genlhdr).cmd };
        // SAFETY: `skb` is a new message buffer; the family is registered while it handles a
        // request.
        let hdr = unsafe {
            bindings::genlmsg_put(
                skb.as_ptr(),
                info.snd_portid,
                info.snd_seq,
                info.family,
                0,
                cmd,
            )
        };
        let Some(hdr) = NonNull::new(hdr) else {
            // SAFETY: `skb` is ours and was not sent.
            unsafe { bindings::nlmsg_free(skb.as_ptr()) };
            return Err(EMSGSIZE);
        };
        // INVARIANT: `skb` is owned and holds the open message `hdr`; `info` is valid for `'a`.
        Ok(Reply {
            msg: Message {
                skb,
                hdr: Some(hdr),
                _p: PhantomData,
            },
            info: self.info,
        })
    }
}

/// A generic netlink message being built inside a buffer; cancelled when dropped unless
/// [`Message::end`] is called.
///
/// # Invariants
///
/// `skb` is valid for `'a`; while `hdr` is `Some`, it is the open message at the buffer's end.
pub struct Message<'a> {
    skb: NonNull<bindings::sk_buff>,
    hdr: Option<NonNull<c_void>>,
    _p: PhantomData<&'a mut bindings::sk_buff>,
}

impl Message<'_> {
    /// Bytes of payload one more attribute could carry in this buffer (0 if none fits).
    pub fn room(&self) -> usize {
        // SAFETY: `skb` is valid by the type invariants.
        let tail = unsafe { bindings::skb_tailroom(self.skb.as_ptr()) };
        let tail = usize::try_from(tail).unwrap_or(0);
        // `nla_put` needs `nla_total_size(len)` = `NLA_ALIGN(NLA_HDRLEN + len)` bytes.
        (tail & !(bindings::NLA_ALIGNTO as usize - 1))
            .saturating_sub(NLA_HDRLEN)
            .min(MAX_ATTR_PAYLOAD)
    }

    /// Appends an attribute; `EMSGSIZE` if it does not fit (the message is unchanged).
    pub fn put_bytes(&mut self, attr_type: u16, value: &[u8]) -> Result {
        if value.len() > MAX_ATTR_PAYLOAD {
            return Err(EMSGSIZE);
        }
        // SAFETY: `skb` is valid by the type invariants; `value` is readable for its length,
        // which fits in a `c_int` (checked above).
        to_result(unsafe {
            bindings::nla_put(
                self.skb.as_ptr(),
                c_int::from(attr_type),
                value.len() as c_int,
                value.as_ptr().cast(),
            )
        })
    }

    /// Appends a `u32` attribute; `EMSGSIZE` if it does not fit.
    pub fn put_u32(&mut self, attr_type: u16, value: u32) -> Result {
        self.put_bytes(attr_type, &value.to_ne_bytes())
    }

    /// Appends a NUL-terminated string attribute; `EMSGSIZE` if it does not fit.
    pub fn put_string(&mut self, attr_type: u16, value: &CStr) -> Result {
        self.put_bytes(attr_type, value.to_bytes_with_nul())
    }

    /// Finishes the message (`genlmsg_end`): it stays in the buffer.
    pub fn end(mut self) {
        if let Some(hdr) = self.hdr.take() {
            // SAFETY: `hdr` is the open message of `skb`, by the type invariants.
            unsafe { bindings::genlmsg_end(self.skb.as_ptr(), hdr.as_ptr()) };
        }
    }
}

impl Drop for Message<'_> {
    fn drop(&mut self) {
        if let Some(hdr) = self.hdr.take() {
            // SAFETY: `hdr` is the open message of `skb`, by the type invariants.
            unsafe { bindings::genlmsg_cancel(self.skb.as_ptr(), hdr.as_ptr()) };
        }
    }
}

/// The reply to a request, sent to the requester with [`Reply::send`]; freed if dropped.
///
/// # Invariants
///
/// `msg.skb` is owned by this reply; `info` is the request's, valid for `'a`.
pub struct Reply<'a> {
    msg: Message<'a>,
    info: *const bindings::genl_info,
}

impl<'a> Reply<'a> {
    /// The message, to add attributes.
    pub fn message(&mut self) -> &mut Message<'a> {
        &mut self.msg
    }

    /// Ends the message and sends it to the requester (`genlmsg_reply`).
    pub fn send(mut self) -> Result {
        let skb = self.msg.skb;
        if let Some(hdr) = self.msg.hdr.take() {
            // SAFETY: `hdr` is the open message of `skb`.
            unsafe { bindings::genlmsg_end(skb.as_ptr(), hdr.as_ptr()) };
        }
        let info = self.info;
        core::mem::forget(self);
        // SAFETY: `skb` is owned (by the type invariants) and handed over to `genlmsg_reply`,
        // which consumes it; `info` is valid while the request is handled.
        to_result(unsafe { bindings::genlmsg_reply(skb.as_ptr(), info.cast_mut()) })
    }
}

impl Drop for Reply<'_> {
    fn drop(&mut self) {
        // The message is cancelled by `Message::drop` first, then the buffer freed.
        self.msg.hdr = None;
        // SAFETY: `skb` is owned by this reply and was not sent.
        unsafe { bindings::nlmsg_free(self.msg.skb.as_ptr()) };
    }
}

/// The buffer a dump call fills: one netlink message per [`Dumper::message`].
///
/// # Invariants
///
/// `skb` is the dump's buffer and `info` the dump's request, both valid for `'a`.
pub struct Dumper<'a> {
    skb: NonNull<bindings::sk_buff>,
    info: *const bindings::genl_info,
    _p: PhantomData<&'a mut bindings::sk_buff>,
}

impl Dumper<'_> {
    /// Starts a message (`NLM_F_MULTI`, the request's command); `None` if the buffer has no
    /// room for another message, so the dump must continue in the next one.
    pub fn message(&mut self) -> Option<Message<'_>> {
        // SAFETY: `info` is valid by the type invariants.
        let info = unsafe { &*self.info };
        // SAFETY: `info.genlhdr` points to the request's header.
        let cmd = unsafe { (*info.genlhdr).cmd };
        // SAFETY: `skb` is valid by the type invariants; the family is registered during the
        // dump.
        let hdr = unsafe {
            bindings::genlmsg_put(
                self.skb.as_ptr(),
                info.snd_portid,
                info.snd_seq,
                info.family,
                bindings::NLM_F_MULTI as c_int,
                cmd,
            )
        };
        // INVARIANT: `hdr` is the open message just put at the buffer's end.
        Some(Message {
            skb: self.skb,
            hdr: Some(NonNull::new(hdr)?),
            _p: PhantomData,
        })
    }

    /// Whether nothing has been put into this buffer yet.
    pub fn is_empty(&self) -> bool {
        // SAFETY: `skb` is valid by the type invariants.
        unsafe { (*self.skb.as_ptr()).len == 0 }
    }
}

/// How a dump call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpStatus {
    /// The buffer is full: call again with the next one.
    More,
    /// Everything was sent.
    Done,
}

/// A request operation (`doit`).
pub trait RequestOperation {
    /// Command number.
    const CMD: u8;
    /// Permission flags.
    const FLAGS: OpFlags;
    /// The policy the request's attributes are validated against.
    const POLICY: PolicyRef;

    /// Handles the request; may send a [`Reply`]. An error is returned to the requester.
    fn request(req: &Request<'_>) -> Result;
}

/// A dump operation (`start`, `dumpit`, `done`).
///
/// The dump's state lives in `netlink_callback::ctx` between calls; it starts zeroed.
pub trait DumpOperation {
    /// Command number.
    const CMD: u8;
    /// Permission flags.
    const FLAGS: OpFlags;
    /// The policy the request's attributes are validated against.
    const POLICY: PolicyRef;
    /// What a dump remembers between calls: at most 48 bytes, alignment at most 8, and valid
    /// when zeroed.
    type State: Zeroable;

    /// Runs once before the first [`DumpOperation::dump`]; an error is returned to the
    /// requester as the answer to its request (`NLMSG_ERROR`).
    fn start(_req: &Request<'_>, _state: &mut Self::State) -> Result {
        Ok(())
    }

    /// Fills `out` with as many messages as fit. An error ends the dump (`NLMSG_DONE` with the
    /// error). Returning [`DumpStatus::More`] with nothing put into `out` fails the dump with
    /// `EMSGSIZE`: a message that does not fit in an empty buffer never will.
    fn dump(req: &Request<'_>, state: &mut Self::State, out: &mut Dumper<'_>)
        -> Result<DumpStatus>;

    /// Runs when the dump ends, whether completed or abandoned.
    fn done(_state: &mut Self::State) {}
}

/// One entry of a family's operation table (`struct genl_ops`).
#[repr(transparent)]
pub struct Operation(bindings::genl_ops);

// SAFETY: The entry is immutable and points only to static data and functions.
unsafe impl Sync for Operation {}

/// The dump state of `cb`.
///
/// # Safety
///
/// `cb` is a valid dump callback of an operation with state `S`, used by no one else now.
unsafe fn dump_state<'a, S: Zeroable>(cb: *mut bindings::netlink_callback) -> &'a mut S {
    const {
        assert!(size_of::<S>() <= bindings::NETLINK_CTX_SIZE as usize);
        assert!(core::mem::align_of::<S>() <= core::mem::align_of::<c_long>());
    };
    // SAFETY: `ctx` is 48 bytes aligned as `c_long` (a union with `args`), zeroed by netlink
    // when the dump starts, and zero is a valid `S`; only this dump's calls use it.
    unsafe { &mut *(&raw mut (*cb).__bindgen_anon_1.ctx).cast::<S>() }
}

/// The request of a dump.
///
/// # Safety
///
/// `cb` is a valid dump callback of a generic netlink dump (`cb->data` is its
/// `genl_dumpit_info`), valid for `'a`.
unsafe fn dump_request<'a>(cb: *mut bindings::netlink_callback, max_attr: u16) -> Request<'a> {
    // SAFETY: By the safety requirements, `data` is the `genl_dumpit_info` (`genl_info_dump()`).
    let info = unsafe { &raw const (*(*cb).data.cast::<bindings::genl_dumpit_info>()).info };
    // SAFETY: `info` and the callback's extack are valid during the call.
    unsafe { Request::from_raw(info, (*cb).extack, max_attr) }
}

impl Operation {
    /// The table entry of a dump operation.
    pub const fn dump<T: DumpOperation>() -> Self {
        Self(bindings::genl_ops {
            start: Some(Self::dump_start::<T>),
            dumpit: Some(Self::dump_it::<T>),
            done: Some(Self::dump_done::<T>),
            policy: T::POLICY.table.as_ptr(),
            maxattr: T::POLICY.max_attr as c_uint,
            cmd: T::CMD,
            flags: T::FLAGS.0,
            ..pin_init::zeroed()
        })
    }

    /// The table entry of a request operation.
    pub const fn request<T: RequestOperation>() -> Self {
        Self(bindings::genl_ops {
            doit: Some(Self::do_it::<T>),
            policy: T::POLICY.table.as_ptr(),
            maxattr: T::POLICY.max_attr as c_uint,
            cmd: T::CMD,
            flags: T::FLAGS.0,
            ..pin_init::zeroed()
        })
    }

    /// # Safety
    ///
    /// Called by the generic netlink core for a request of this operation.
    unsafe extern "C" fn do_it<T: RequestOperation>(
        _skb: *mut bindings::sk_buff,
        info: *mut bindings::genl_info,
    ) -> c_int {
        // SAFETY: `info` is the request's, valid during the call, with its extack.
        let req = unsafe { Request::from_raw(info, (*info).extack, T::POLICY.max_attr) };
        from_result(|| T::request(&req).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the generic netlink core when a dump of this operation starts.
    unsafe extern "C" fn dump_start<T: DumpOperation>(
        cb: *mut bindings::netlink_callback,
    ) -> c_int {
        // SAFETY: `cb` is this dump's callback, by the safety requirements.
        let req = unsafe { dump_request(cb, T::POLICY.max_attr) };
        // SAFETY: As above; the state is `T::State` for every call of this operation.
        let state = unsafe { dump_state::<T::State>(cb) };
        from_result(|| T::start(&req, state).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the generic netlink core to fill `skb` for a dump of this operation.
    unsafe extern "C" fn dump_it<T: DumpOperation>(
        skb: *mut bindings::sk_buff,
        cb: *mut bindings::netlink_callback,
    ) -> c_int {
        // SAFETY: `cb` is this dump's callback, by the safety requirements.
        let req = unsafe { dump_request(cb, T::POLICY.max_attr) };
        // SAFETY: As above.
        let state = unsafe { dump_state::<T::State>(cb) };
        let Some(skb) = NonNull::new(skb) else {
            return EINVAL.to_errno();
        };
        // INVARIANT: `skb` and the request are valid during the call.
        let mut out = Dumper {
            skb,
            info: req.info,
            _p: PhantomData,
        };
        from_result(|| match T::dump(&req, state, &mut out)? {
            DumpStatus::Done => Ok(0),
            DumpStatus::More if out.is_empty() => Err(EMSGSIZE),
            // SAFETY: `skb` is valid during the call.
            DumpStatus::More => Ok(c_int::try_from(unsafe { (*skb.as_ptr()).len })?.max(1)),
        })
    }

    /// # Safety
    ///
    /// Called by the generic netlink core when a dump of this operation ends.
    unsafe extern "C" fn dump_done<T: DumpOperation>(cb: *mut bindings::netlink_callback) -> c_int {
        // SAFETY: `cb` is this dump's callback, by the safety requirements.
        T::done(unsafe { dump_state::<T::State>(cb) });
        0
    }
}

/// Where a family lives: a `static`, like every C family, because a dump still in progress
/// when its family is unregistered goes on using the family until it ends.
///
/// # Invariants
///
/// `in_use` is set from the start of a [`Registration::new`] until its [`Registration`] is
/// dropped; only that registration writes `raw`.
pub struct Family {
    raw: Opaque<bindings::genl_family>,
    in_use: Atomic<bool>,
}

// SAFETY: `raw` is written only by the registration that set `in_use` (so by one thread at a
// time), and read by the generic netlink core, which serialises registration.
unsafe impl Sync for Family {}

impl Family {
    /// Storage for one family, registered with [`Registration::new`].
    pub const fn new() -> Self {
        Self {
            raw: Opaque::zeroed(),
            in_use: Atomic::new(false),
        }
    }
}

impl Default for Family {
    fn default() -> Self {
        Self::new()
    }
}

/// A registered generic netlink family; unregistered when dropped.
///
/// # Invariants
///
/// `family` is registered with the generic netlink core, and its `in_use` set, until `drop`.
pub struct Registration {
    family: &'static Family,
}

impl Registration {
    /// Registers the family `name` (at most 15 bytes), `version`, with `ops`, in `family`, for
    /// requests from the initial network namespace only. Handlers run concurrently
    /// (`parallel_ops`): they must do their own locking. `module` is the owner (`None` for
    /// built-in code); a dump in progress holds a reference to it, so a module's family is
    /// unregistered only when no dump runs. `EBUSY` if `family` is registered already.
    pub fn new(
        family: &'static Family,
        name: &'static CStr,
        version: u32,
        ops: &'static [Operation],
        module: Option<&'static ThisModule>,
    ) -> Result<Self> {
        let mut raw: bindings::genl_family = pin_init::zeroed();
        let bytes = name.to_bytes_with_nul();
        if bytes.len() > raw.name.len() {
            return Err(EINVAL);
        }
        for (d, s) in raw.name.iter_mut().zip(bytes) {
            *d = *s;
        }
        raw.version = version;
        raw.set_parallel_ops(1);
        raw.ops = ops.as_ptr().cast();
        raw.n_ops = u8::try_from(ops.len()).map_err(|_| EINVAL)?;
        raw.module = module.map_or(core::ptr::null_mut(), |m| m.as_ptr());
        if family.in_use.cmpxchg(false, true, Acquire).is_err() {
            return Err(EBUSY);
        }
        // SAFETY: Setting `in_use` gave this registration the only right to write `raw`, which
        // is static and not registered.
        unsafe { core::ptr::write(family.raw.get(), raw) };
        // SAFETY: `raw` is a filled-in, static `genl_family`; `ops` is static.
        let ret = to_result(unsafe { bindings::genl_register_family(family.raw.get()) });
        if let Err(e) = ret {
            family.in_use.store(false, Release);
            return Err(e);
        }
        // INVARIANT: Registered, with `in_use` set.
        Ok(Self { family })
    }

    /// The family's numeric id, as user space resolves it.
    pub fn id(&self) -> u16 {
        // SAFETY: The family is registered; `id` is set by registration and not changed after.
        let id = unsafe { (*self.family.raw.get()).id };
        // Family ids are netlink message types (`u16`).
        id as u16
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: The family is registered, by the type invariants.
        unsafe { bindings::genl_unregister_family(self.family.raw.get()) };
        self.family.in_use.store(false, Release);
    }
}

/// A request made without a socket, to run an operation's handlers directly in KUnit tests:
/// the attributes are parsed against the operation's policy as the generic netlink core
/// does, and dumps fill buffers whose messages are read back.
///
/// # Invariants
///
/// `info` points to `parsed`'s table, `hdr` and `family`, all heap allocations owned here.
#[cfg(CONFIG_KUNIT)]
pub struct TestRequest<'a> {
    parsed: ParsedAttrs<'a>,
    hdr: KBox<bindings::genlmsghdr>,
    family: KBox<Opaque<bindings::genl_family>>,
    info: KBox<bindings::genl_info>,
    max_attr: u16,
}

/// The attributes of one message read back from a dump buffer: (type, payload).
#[cfg(CONFIG_KUNIT)]
pub type TestMessage = KVec<(u16, KVec<u8>)>;

#[cfg(CONFIG_KUNIT)]
impl<'a> TestRequest<'a> {
    /// A request for command `cmd` with the attribute stream `stream` (see [`encode_attr`]);
    /// fails as the generic netlink core would refuse it.
    pub fn new(policy: PolicyRef, cmd: u8, stream: &'a [u8]) -> Result<Self> {
        let parsed = policy.parse(stream)?;
        let mut raw_hdr: bindings::genlmsghdr = pin_init::zeroed();
        raw_hdr.cmd = cmd;
        let mut hdr = KBox::new(raw_hdr, GFP_KERNEL)?;
        let family = KBox::new(
            Opaque::new(pin_init::zeroed::<bindings::genl_family>()),
            GFP_KERNEL,
        )?;
        let mut info: bindings::genl_info = pin_init::zeroed();
        info.attrs = parsed.table.as_ptr().cast_mut();
        info.genlhdr = &raw mut *hdr;
        info.family = family.get();
        let info = KBox::new(info, GFP_KERNEL)?;
        // INVARIANT: `info` points into the allocations stored alongside it.
        Ok(Self {
            parsed,
            hdr,
            family,
            info,
            max_attr: policy.max_attr(),
        })
    }

    /// The request as a handler sees it (no extended ACK).
    pub fn request(&self) -> Request<'_> {
        // SAFETY: `info` is valid while `self` is, its attributes were parsed with a policy of
        // `max_attr + 1` entries; a NULL extack is allowed.
        unsafe { Request::from_raw(&*self.info, core::ptr::null_mut(), self.max_attr) }
    }

    /// Runs one call of `T`'s dump with a buffer of `size` bytes; returns its status and the
    /// messages it put, or its error (`EMSGSIZE` for more with nothing put, as a real dump).
    pub fn dump<T: DumpOperation>(
        &self,
        state: &mut T::State,
        size: usize,
    ) -> Result<(DumpStatus, KVec<TestMessage>)> {
        // Keep the fields that `info` points to visibly in use.
        let _ = (&self.parsed, &self.hdr, &self.family);
        // SAFETY: `genlmsg_new` only needs valid integers.
        let skb = NonNull::new(unsafe { bindings::genlmsg_new(size, GFP_KERNEL.as_raw()) })
            .ok_or(ENOMEM)?;
        // INVARIANT: `skb` and `info` are valid during the call.
        let mut out = Dumper {
            skb,
            info: &*self.info,
            _p: PhantomData,
        };
        let status = T::dump(&self.request(), state, &mut out);
        let status = match status {
            Ok(DumpStatus::More) if out.is_empty() => Err(EMSGSIZE),
            other => other,
        };
        let messages = status.and_then(|s| {
            // SAFETY: `skb` is linear (a fresh `genlmsg_new` buffer) with `len` bytes at `data`.
            let bytes = unsafe {
                let skb = &*skb.as_ptr();
                core::slice::from_raw_parts(skb.data, skb.len as usize)
            };
            Ok((s, read_messages(bytes)?))
        });
        // SAFETY: `skb` is ours and was never sent.
        unsafe { bindings::nlmsg_free(skb.as_ptr()) };
        messages
    }
}

/// Splits netlink messages into their attributes; `EPROTO` for a malformed buffer.
#[cfg(CONFIG_KUNIT)]
fn read_messages(mut bytes: &[u8]) -> Result<KVec<TestMessage>> {
    const NLMSG_HDRLEN: usize = size_of::<bindings::nlmsghdr>();
    const GENL_HDRLEN: usize = size_of::<bindings::genlmsghdr>();
    let u16_at = |b: &[u8], at: usize| -> Result<usize> {
        let field = b.get(at..at + 2).ok_or(EPROTO)?;
        Ok(usize::from(u16::from_ne_bytes([field[0], field[1]])))
    };
    let mut messages = KVec::new();
    while !bytes.is_empty() {
        let len = bytes.get(..4).ok_or(EPROTO)?;
        let len = u32::from_ne_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let msg = bytes.get(..len).ok_or(EPROTO)?;
        let mut attrs = msg.get(NLMSG_HDRLEN + GENL_HDRLEN..).ok_or(EPROTO)?;
        let mut out = KVec::new();
        while !attrs.is_empty() {
            let alen = u16_at(attrs, 0)?;
            let atype = u16_at(attrs, 2)? as u16;
            let payload = attrs.get(NLA_HDRLEN..alen).ok_or(EPROTO)?;
            let mut v = KVec::new();
            v.extend_from_slice(payload, GFP_KERNEL)?;
            out.push((atype, v), GFP_KERNEL)?;
            attrs = attrs
                .get(nla_align(alen).min(attrs.len())..)
                .ok_or(EPROTO)?;
        }
        messages.push(out, GFP_KERNEL)?;
        bytes = bytes.get(nla_align(len).min(bytes.len())..).ok_or(EPROTO)?;
    }
    Ok(messages)
}
