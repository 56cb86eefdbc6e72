// SPDX-License-Identifier: GPL-2.0

//! IDE keys of an emulated port and the emulated platform's key port.
//!
//! Each IDE port of the platform holds the keys it was given, per Stream ID, in the slots
//! IDE_KM addresses (key set, direction, sub-stream): the Root Port's keys arrive from the
//! platform firmware (the emulated link TSM) through its key port, the DSM's from the device
//! model, which forwards every IDE_KM object it applied over the relay ([`crate::relay`]). A
//! Selective or Link IDE stream reports Secure only while its port holds a key set in use for
//! every sub-stream and both directions, and its partner holds the same keys the other way round
//! (this port's transmit keys are the partner's receive keys); otherwise the stream is Insecure
//! with "IDE Fail Message received" set, as after the partner's integrity checks failed.
//!
//! The key port is a vendor-specific extended capability (DVSEC, vendor [`VENDOR_ID`], ID
//! [`KEY_PORT_DVSEC_ID`]) of every IDE port of the platform:
//!
//! * 0x0c Control: bit 0 Submit (applies the first Length bytes written to Data as one IDE_KM
//!   object), bit 1 Reset (drops what was written), bit 8 Corrupt Next Key (flips a bit of the
//!   next key the port is given; a test control), bits 23:16 Length.
//! * 0x10 Status: bits 7:0 the KP_ACK status of the last object submitted (0xff: refused), bit 30
//!   no key byte left in any slot, bit 31 the port takes objects through Data (the Root Port; a
//!   DSM's keys come from its device).
//! * 0x14 Data: each dword written appends to the object.
//! * 0x20 + 4n Key Status of entry n: bits 7:0 Stream ID, 15:8 slots holding a key, 23:16 slots
//!   in use, bit 31 the entry holds keys.
//!
//! Key bytes are never readable: software sees counts only.

use crate::{config_space::ConfigSpace, platform::VENDOR_ID};
use kernel::prelude::*;
use tsm_proto::ide_km::{self, IdePort, Message, SubStream, KEY_LEN, SUB_STREAMS};

/// DVSEC ID of the key port.
pub(crate) const KEY_PORT_DVSEC_ID: u16 = 0x0001;
/// Bytes of the key port capability.
pub(crate) const KEY_PORT_SIZE: u16 = 0x40;
/// Control register offset in the key port.
pub(crate) const KEY_PORT_CONTROL: u16 = 0x0c;
/// Status register offset.
pub(crate) const KEY_PORT_STATUS: u16 = 0x10;
/// Data register offset.
pub(crate) const KEY_PORT_DATA: u16 = 0x14;
/// First Key Status register offset.
pub(crate) const KEY_PORT_KEY_STATUS: u16 = 0x20;
/// Control: apply the object.
pub(crate) const CONTROL_SUBMIT: u32 = 1 << 0;
/// Control: drop the object written so far.
pub(crate) const CONTROL_RESET: u32 = 1 << 1;
/// Control: corrupt the next key.
pub(crate) const CONTROL_CORRUPT_NEXT: u32 = 1 << 8;
/// Status: no key byte is left in any slot.
pub(crate) const STATUS_WIPED: u32 = 1 << 30;
/// Status: the port takes objects through Data.
pub(crate) const STATUS_TAKES_OBJECTS: u32 = 1 << 31;
/// Status value of a refused object.
pub(crate) const STATUS_REFUSED: u8 = 0xff;

/// Streams a port can hold keys for at once.
pub(crate) const KEY_ENTRIES: usize = 4;
/// Largest IDE_KM object the key port takes (KEY_PROG: 8 + key + IFV, rounded up to dwords).
const MAX_OBJECT: usize = 48;

/// The keys one IDE port holds.
pub(crate) struct PortKeys {
    entries: [IdePort<'static>; KEY_ENTRIES],
    /// Flip a bit of the next key programmed (test control).
    corrupt_next: bool,
}

impl PortKeys {
    /// A port without keys.
    pub(crate) fn new() -> Result<KBox<Self>> {
        Ok(KBox::new(
            Self {
                entries: core::array::from_fn(|_| IdePort::new(&[])),
                corrupt_next: false,
            },
            GFP_KERNEL,
        )?)
    }

    /// Makes the next KEY_PROG store a corrupted key.
    pub(crate) fn corrupt_next(&mut self) {
        self.corrupt_next = true;
    }

    fn entry(&self, stream_id: u8) -> Option<&IdePort<'static>> {
        self.entries
            .iter()
            .find(|e| e.stream_id() == Some(stream_id))
    }

    fn entry_mut(&mut self, stream_id: u8) -> Option<&mut IdePort<'static>> {
        self.entries
            .iter_mut()
            .find(|e| e.stream_id() == Some(stream_id))
    }

    /// Applies one IDE_KM object addressed to this port (PortIndex 0): KEY_PROG, K_SET_GO or
    /// K_SET_STOP. Returns the KP_ACK status, or [`STATUS_REFUSED`] for anything else or a
    /// key-set operation on a slot without a key.
    pub(crate) fn apply(&mut self, object: &[u8]) -> u8 {
        let Ok(message) = Message::decode(object) else {
            return STATUS_REFUSED;
        };
        match message {
            Message::KeyProg { target, key, .. } => {
                if target.port_index != 0 {
                    return ide_km::STATUS_UNSUPPORTED_PORT;
                }
                let mut key = *key;
                if core::mem::take(&mut self.corrupt_next) {
                    key[0] ^= 1;
                }
                let free = self.entries.iter().position(|e| e.stream_id().is_none());
                let entry = match self
                    .entries
                    .iter()
                    .position(|e| e.stream_id() == Some(target.stream_id))
                    .or(free)
                {
                    Some(i) => &mut self.entries[i],
                    None => return ide_km::STATUS_UNSPECIFIED,
                };
                entry.program(&target, &key)
            }
            Message::KSetGo(target) | Message::KSetStop(target) if target.port_index != 0 => {
                ide_km::STATUS_UNSUPPORTED_PORT
            }
            Message::KSetGo(target) => self
                .entry_mut(target.stream_id)
                .and_then(|e| e.go(&target).ok())
                .map_or(STATUS_REFUSED, |()| ide_km::STATUS_OK),
            Message::KSetStop(target) => self
                .entry_mut(target.stream_id)
                .and_then(|e| e.stop(&target).ok())
                .map_or(STATUS_REFUSED, |()| ide_km::STATUS_OK),
            _ => STATUS_REFUSED,
        }
    }

    /// The Key Status register of entry `index`.
    pub(crate) fn key_status(&self, index: usize) -> u32 {
        let Some(entry) = self.entries.get(index) else {
            return 0;
        };
        let Some(stream_id) = entry.stream_id() else {
            return 0;
        };
        (1 << 31)
            | u32::from(stream_id)
            | (entry.programmed_slots() << 8)
            | (entry.active_slots() << 16)
    }

    /// Whether no key byte is left in any slot.
    pub(crate) fn wiped(&self) -> bool {
        self.entries.iter().all(IdePort::wiped)
    }
}

/// The key in use for one direction and sub-stream of `stream_id`.
fn active_key(keys: &PortKeys, stream_id: u8, tx: bool, sub: SubStream) -> Option<&[u8; KEY_LEN]> {
    keys.entry(stream_id)?.active_key(tx, sub)
}

/// Whether a stream of `stream_id` between a port holding `local` and its partner holding
/// `partner` is secure: both hold keys in use for every sub-stream and direction, and the local
/// transmit keys are the partner's receive keys and the other way round.
pub(crate) fn keys_match(local: &PortKeys, partner: &PortKeys, stream_id: u8) -> bool {
    SUB_STREAMS.into_iter().all(|sub| {
        [true, false].into_iter().all(|tx| {
            match (
                active_key(local, stream_id, tx, sub),
                active_key(partner, stream_id, !tx, sub),
            ) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            }
        })
    })
}

/// The key port of one IDE port: the object being written.
pub(crate) struct KeyPort {
    /// Offset of the capability.
    pub(crate) offset: u16,
    object: [u8; MAX_OBJECT],
    len: usize,
}

impl KeyPort {
    /// A key port at `offset`, installed into `cfg` and chained to `next`. `takes_objects`:
    /// whether the port's keys come through Data (a Root Port) rather than from its device.
    pub(crate) fn install(
        cfg: &mut ConfigSpace,
        offset: u16,
        next: u16,
        takes_objects: bool,
    ) -> Self {
        // DVSEC: extended capability ID 0x23, version 1.
        cfg.set(offset, 4, 0x23 | (1 << 16) | (u32::from(next) << 20));
        cfg.set(
            offset + 4,
            4,
            u32::from(VENDOR_ID) | (u32::from(KEY_PORT_SIZE) << 20),
        );
        cfg.set(offset + 8, 2, KEY_PORT_DVSEC_ID.into());
        cfg.set(
            offset + KEY_PORT_STATUS,
            4,
            if takes_objects {
                STATUS_TAKES_OBJECTS
            } else {
                0
            },
        );
        Self {
            offset,
            object: [0; MAX_OBJECT],
            len: 0,
        }
    }

    /// Whether `offset` is a register of the key port.
    pub(crate) fn contains(&self, offset: u16) -> bool {
        (self.offset..self.offset + KEY_PORT_SIZE).contains(&offset)
    }

    /// The value of the register at `reg` (relative, dword aligned): Key Status from `keys`, the
    /// others from `cfg`.
    pub(crate) fn read(&self, cfg: &ConfigSpace, keys: &PortKeys, reg: u16) -> u32 {
        if reg >= KEY_PORT_KEY_STATUS {
            return keys.key_status(usize::from((reg - KEY_PORT_KEY_STATUS) / 4));
        }
        match reg {
            KEY_PORT_DATA => 0,
            KEY_PORT_STATUS if keys.wiped() => cfg.read(self.offset + reg, 4) | STATUS_WIPED,
            _ => cfg.read(self.offset + reg, 4),
        }
    }

    /// A dword write of `value` to the register at `reg` (relative).
    pub(crate) fn write(
        &mut self,
        cfg: &mut ConfigSpace,
        keys: &mut PortKeys,
        reg: u16,
        value: u32,
    ) {
        let takes_objects = cfg.read(self.offset + KEY_PORT_STATUS, 4) & STATUS_TAKES_OBJECTS;
        match reg {
            KEY_PORT_DATA => {
                if let Some(dw) = self.object.get_mut(self.len..self.len + 4) {
                    dw.copy_from_slice(&value.to_le_bytes());
                    self.len += 4;
                }
            }
            KEY_PORT_CONTROL => {
                if value & CONTROL_CORRUPT_NEXT != 0 {
                    keys.corrupt_next();
                }
                if value & CONTROL_SUBMIT != 0 {
                    // CAST: bits 23:16.
                    let len = usize::from((value >> 16) as u8);
                    let status = match self.object[..self.len].get(..len) {
                        Some(object) if takes_objects != 0 => keys.apply(object),
                        _ => STATUS_REFUSED,
                    };
                    cfg.set(
                        self.offset + KEY_PORT_STATUS,
                        4,
                        takes_objects | u32::from(status),
                    );
                }
                if value & (CONTROL_SUBMIT | CONTROL_RESET) != 0 {
                    self.len = 0;
                }
            }
            _ => {}
        }
    }
}
