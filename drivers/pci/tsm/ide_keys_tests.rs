// SPDX-License-Identifier: GPL-2.0

//! KUnit suite for the emulated platform's IDE key model (`drivers/virt/coco/tsm/emu/ide_keys.rs`):
//! what each IDE_KM object does to a port's keys, when two ports' keys make a stream Secure, and
//! the key port's registers.

use crate::{
    config_space::ConfigSpace,
    ide_keys::{
        self, KeyPort, PortKeys, CONTROL_CORRUPT_NEXT, CONTROL_RESET, CONTROL_SUBMIT,
        KEY_PORT_CONTROL, KEY_PORT_DATA, KEY_PORT_KEY_STATUS, KEY_PORT_STATUS, STATUS_REFUSED,
        STATUS_TAKES_OBJECTS, STATUS_WIPED,
    },
};
use kernel::prelude::*;
use tsm_proto::{
    ide_km::{self, KeySubStream, KeyTarget, Message, IFV_LEN, KEY_LEN, SUB_STREAMS},
    wire::Writer,
};

const STREAM: u8 = 3;

fn target(tx: bool, index: usize, key_set: u8) -> KeyTarget {
    KeyTarget {
        stream_id: STREAM,
        key_sub_stream: KeySubStream {
            key_set,
            tx,
            sub_stream: SUB_STREAMS[index],
        },
        port_index: 0,
    }
}

/// `message` encoded: (buffer, length).
fn encode(message: &Message<'_>) -> ([u8; 64], usize) {
    let mut buf = [0u8; 64];
    let mut w = Writer::new(&mut buf);
    message.write(&mut w).unwrap();
    let len = w.len();
    (buf, len)
}

fn apply(keys: &mut PortKeys, message: &Message<'_>) -> u8 {
    let (buf, len) = encode(message);
    keys.apply(&buf[..len])
}

/// The key of direction `down` (towards the Endpoint) or up, sub-stream `index`.
fn key(down: bool, index: usize) -> [u8; KEY_LEN] {
    // CAST: index < 3.
    [(u8::from(down) << 4) | index as u8 | 0x40; KEY_LEN]
}

/// Programs and starts all six slots of key set 0 of `STREAM` in `keys`, as the Endpoint if
/// `endpoint`, else as the Root Port.
fn key_port(keys: &mut PortKeys, endpoint: bool) {
    let ifv = [0u8; IFV_LEN];
    for tx in [false, true] {
        for index in 0..3 {
            // The Endpoint transmits upstream, the Root Port downstream.
            let k = ide_km::key_to_wire(&key(tx != endpoint, index));
            let status = apply(
                keys,
                &Message::KeyProg {
                    target: target(tx, index, 0),
                    key: &k,
                    ifv: &ifv,
                },
            );
            assert_eq!(status, ide_km::STATUS_OK);
            assert_eq!(
                apply(keys, &Message::KSetGo(target(tx, index, 0))),
                ide_km::STATUS_OK
            );
        }
    }
}

#[kunit_tests(tsm_emu_ide_keys)]
mod cases {
    use super::*;

    #[test]
    fn matching_keys_in_use_make_the_stream_secure() {
        let (mut ep, mut rp) = (PortKeys::new().unwrap(), PortKeys::new().unwrap());
        assert!(!ide_keys::keys_match(&ep, &rp, STREAM));
        key_port(&mut ep, true);
        // One end keyed is not enough.
        assert!(!ide_keys::keys_match(&ep, &rp, STREAM));
        key_port(&mut rp, false);
        assert!(ide_keys::keys_match(&ep, &rp, STREAM));
        assert!(ide_keys::keys_match(&rp, &ep, STREAM));
        // Another stream is not keyed.
        assert!(!ide_keys::keys_match(&ep, &rp, STREAM + 1));
        assert_eq!(
            ep.key_status(0),
            (1 << 31) | (6 << 16) | (6 << 8) | u32::from(STREAM)
        );
        assert!(!ep.wiped());
    }

    #[test]
    fn a_key_programmed_but_not_started_is_not_in_use() {
        let (mut ep, mut rp) = (PortKeys::new().unwrap(), PortKeys::new().unwrap());
        key_port(&mut ep, true);
        key_port(&mut rp, false);
        // Reprogram one slot with key set 1 without K_SET_GO: key set 0 stays in use.
        let k = ide_km::key_to_wire(&[0x99; KEY_LEN]);
        let ifv = [0u8; IFV_LEN];
        let kp = Message::KeyProg {
            target: target(true, 1, 1),
            key: &k,
            ifv: &ifv,
        };
        assert_eq!(apply(&mut rp, &kp), ide_km::STATUS_OK);
        assert!(ide_keys::keys_match(&ep, &rp, STREAM));
        // Starting key set 1 on one end only breaks the match.
        assert_eq!(
            apply(&mut rp, &Message::KSetGo(target(true, 1, 1))),
            ide_km::STATUS_OK
        );
        assert!(!ide_keys::keys_match(&ep, &rp, STREAM));
    }

    #[test]
    fn a_different_or_stopped_key_breaks_the_match() {
        let (mut ep, mut rp) = (PortKeys::new().unwrap(), PortKeys::new().unwrap());
        key_port(&mut ep, true);
        rp.corrupt_next();
        key_port(&mut rp, false);
        assert!(!ide_keys::keys_match(&ep, &rp, STREAM));

        let mut rp = PortKeys::new().unwrap();
        key_port(&mut rp, false);
        assert_eq!(
            apply(&mut rp, &Message::KSetStop(target(false, 2, 0))),
            ide_km::STATUS_OK
        );
        assert!(!ide_keys::keys_match(&ep, &rp, STREAM));
        assert_eq!(rp.key_status(0) >> 8 & 0xff, 5);
    }

    #[test]
    fn stopping_every_slot_wipes_the_port() {
        let mut ep = PortKeys::new().unwrap();
        assert!(ep.wiped());
        key_port(&mut ep, true);
        for tx in [false, true] {
            for index in 0..3 {
                let stop = Message::KSetStop(target(tx, index, 0));
                assert_eq!(apply(&mut ep, &stop), ide_km::STATUS_OK);
            }
        }
        assert!(ep.wiped());
        assert_eq!(ep.key_status(0), 0);
    }

    #[test]
    fn malformed_and_misaddressed_objects_are_refused() {
        let mut ep = PortKeys::new().unwrap();
        // K_SET_GO of a slot without a key.
        assert_eq!(
            apply(&mut ep, &Message::KSetGo(target(false, 0, 0))),
            STATUS_REFUSED
        );
        // Another port.
        let k = [0u8; KEY_LEN];
        let ifv = [0u8; IFV_LEN];
        let mut other = target(false, 0, 0);
        other.port_index = 1;
        let kp = Message::KeyProg {
            target: other,
            key: &k,
            ifv: &ifv,
        };
        assert_eq!(apply(&mut ep, &kp), ide_km::STATUS_UNSUPPORTED_PORT);
        // A QUERY is not a key operation; a truncated object is malformed.
        assert_eq!(
            apply(&mut ep, &Message::Query { port_index: 0 }),
            STATUS_REFUSED
        );
        assert_eq!(ep.apply(&[ide_km::KEY_PROG, 0, 0]), STATUS_REFUSED);
        assert!(ep.wiped());
    }

    #[test]
    fn key_port_registers() {
        let mut cfg = ConfigSpace::new().unwrap();
        let mut keys = PortKeys::new().unwrap();
        let mut port = KeyPort::install(&mut cfg, 0x200, 0, true);
        assert_eq!(cfg.read(0x200, 2), 0x23);
        assert_eq!(
            port.read(&cfg, &keys, KEY_PORT_STATUS),
            STATUS_TAKES_OBJECTS | STATUS_WIPED
        );
        let k = ide_km::key_to_wire(&[7; KEY_LEN]);
        let ifv = [0u8; IFV_LEN];
        let (buf, len) = encode(&Message::KeyProg {
            target: target(true, 0, 0),
            key: &k,
            ifv: &ifv,
        });
        // Bytes written before a Reset are dropped.
        port.write(&mut cfg, &mut keys, KEY_PORT_DATA, 0xffff_ffff);
        port.write(&mut cfg, &mut keys, KEY_PORT_CONTROL, CONTROL_RESET);
        for dw in buf[..len.next_multiple_of(4)].chunks(4) {
            let value = u32::from_le_bytes([dw[0], dw[1], dw[2], dw[3]]);
            port.write(&mut cfg, &mut keys, KEY_PORT_DATA, value);
        }
        // CAST: len < 64.
        let submit = CONTROL_SUBMIT | ((len as u32) << 16);
        port.write(&mut cfg, &mut keys, KEY_PORT_CONTROL, submit);
        assert_eq!(
            port.read(&cfg, &keys, KEY_PORT_STATUS),
            STATUS_TAKES_OBJECTS | u32::from(ide_km::STATUS_OK)
        );
        assert_eq!(
            port.read(&cfg, &keys, KEY_PORT_KEY_STATUS),
            (1 << 31) | (1 << 8) | u32::from(STREAM)
        );
        // Key bytes never read back; a length past what was written is refused.
        assert_eq!(port.read(&cfg, &keys, KEY_PORT_DATA), 0);
        port.write(
            &mut cfg,
            &mut keys,
            KEY_PORT_CONTROL,
            CONTROL_SUBMIT | (60 << 16),
        );
        assert_eq!(
            port.read(&cfg, &keys, KEY_PORT_STATUS) & 0xff,
            u32::from(STATUS_REFUSED)
        );
        // Corrupt Next Key: the next key the port is given differs from the one sent.
        let (mut ep, mut rp) = (PortKeys::new().unwrap(), PortKeys::new().unwrap());
        key_port(&mut ep, true);
        port.write(&mut cfg, &mut rp, KEY_PORT_CONTROL, CONTROL_CORRUPT_NEXT);
        key_port(&mut rp, false);
        assert!(!ide_keys::keys_match(&ep, &rp, STREAM));

        // A DSM's port takes its keys from the device only.
        let mut dsm_keys = PortKeys::new().unwrap();
        let mut dsm = KeyPort::install(&mut cfg, 0x300, 0, false);
        dsm.write(&mut cfg, &mut dsm_keys, KEY_PORT_DATA, 0);
        dsm.write(
            &mut cfg,
            &mut dsm_keys,
            KEY_PORT_CONTROL,
            CONTROL_SUBMIT | (4 << 16),
        );
        assert_eq!(
            dsm.read(&cfg, &dsm_keys, KEY_PORT_STATUS),
            STATUS_WIPED | u32::from(STATUS_REFUSED)
        );
    }
}
