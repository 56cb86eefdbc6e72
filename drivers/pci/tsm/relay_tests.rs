// SPDX-License-Identifier: GPL-2.0

//! KUnit suite of the emulated platform's mailbox relay (`drivers/virt/coco/tsm/emu/relay.rs`):
//! a mailbox in relay mode driven through its registers, with the test playing the device
//! model's part through the calls the character device makes.

use crate::{
    mailbox::Mailbox,
    relay::{Assembler, Frame, MmioAccess, Oversized, Relay, HEADER_BYTES},
};
use kernel::{prelude::*, sync::Arc};
use tsm_proto::doe;

/// A CMA object: GET_VERSION (SPDM 1.0).
const GET_VERSION: [u32; 3] = [0x0001_0001, 3, 0x0000_8410];
/// A Discovery request for index 0.
const DISCOVERY: [u32; 3] = [0x0000_0001, 3, 0];
/// The answer the test model gives.
const ANSWER: [u32; 3] = [0x0001_0001, 3, 0x1204_0412];

fn bytes(dwords: &[u32]) -> KVec<u8> {
    let mut v = KVec::new();
    for d in dwords {
        v.extend_from_slice(&d.to_le_bytes(), GFP_KERNEL).unwrap();
    }
    v
}

/// Writes `object` and sets Go.
fn send(mb: &mut Mailbox, object: &[u32]) {
    for d in object {
        mb.write(doe::REG_WRITE, *d);
    }
    mb.write(doe::REG_CTRL, doe::CTRL_GO);
}

/// Reads `n` response dwords, acknowledging each.
fn receive(mb: &mut Mailbox, n: usize) -> KVec<u32> {
    let mut v = KVec::new();
    for _ in 0..n {
        v.push(mb.read(doe::REG_READ), GFP_KERNEL).unwrap();
        mb.write(doe::REG_READ, 0);
    }
    v
}

fn status(mb: &mut Mailbox) -> u32 {
    mb.read(doe::REG_STATUS)
}

/// Reads the whole pending request frame as the model would, in pieces of `piece` bytes.
fn read_frame(relay: &Relay, piece: usize) -> KVec<u8> {
    let mut frame = KVec::new();
    let mut buf = [0u8; 64];
    while let Ok(chunk) = relay.read_request(&mut buf[..piece]) {
        frame
            .extend_from_slice(&buf[..chunk.len], GFP_KERNEL)
            .unwrap();
        relay.consumed(chunk, chunk.len);
    }
    frame
}

fn relayed() -> (Arc<Relay>, Mailbox) {
    let relay = Relay::new().unwrap();
    let mb = Mailbox::relayed(relay.clone()).unwrap();
    relay.open().unwrap();
    (relay, mb)
}

#[kunit_tests(tsm_emu_relay)]
mod cases {
    use super::*;

    #[test]
    fn request_goes_out_framed_and_the_answer_comes_back() {
        let (relay, mut mb) = relayed();
        send(&mut mb, &GET_VERSION);
        assert_eq!(status(&mut mb), doe::STATUS_BUSY);
        // The doorbell rang: the wait returns at once.
        assert!(relay.wait().is_ok());
        let frame = read_frame(&relay, 5);
        assert_eq!(frame.len(), HEADER_BYTES + 12);
        assert_eq!(
            &frame[..HEADER_BYTES],
            &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 12]
        );
        assert_eq!(&frame[HEADER_BYTES..], &bytes(&GET_VERSION)[..]);
        // Read entirely: nothing more until the next request.
        assert_eq!(relay.read_request(&mut [0u8; 4]).err(), Some(EAGAIN));
        assert_eq!(status(&mut mb), doe::STATUS_BUSY);
        relay.respond(Ok(&bytes(&ANSWER)));
        assert_eq!(status(&mut mb), doe::STATUS_DATA_OBJECT_READY);
        assert_eq!(&receive(&mut mb, 3)[..], &ANSWER);
        assert_eq!(status(&mut mb), 0);
    }

    #[test]
    fn discovery_is_answered_without_the_model() {
        let (relay, mut mb) = relayed();
        send(&mut mb, &DISCOVERY);
        assert_eq!(status(&mut mb), doe::STATUS_DATA_OBJECT_READY);
        // Entry 0 is Discovery itself; the next index is CMA's.
        assert_eq!(&receive(&mut mb, 3)[..], &[0x0000_0001, 3, 0x0100_0001]);
        assert_eq!(relay.read_request(&mut [0u8; 4]).err(), Some(EAGAIN));
    }

    #[test]
    fn abort_ends_the_exchange() {
        let (relay, mut mb) = relayed();
        // Aborted before the model read anything: the request is gone.
        send(&mut mb, &GET_VERSION);
        mb.write(doe::REG_CTRL, doe::CTRL_ABORT);
        assert_eq!(status(&mut mb), 0);
        assert_eq!(relay.read_request(&mut [0u8; 4]).err(), Some(EAGAIN));

        // Aborted while the model read it: its next read is cancelled, once.
        send(&mut mb, &GET_VERSION);
        let mut buf = [0u8; 4];
        let chunk = relay.read_request(&mut buf).unwrap();
        relay.consumed(chunk, chunk.len);
        mb.write(doe::REG_CTRL, doe::CTRL_ABORT);
        assert_eq!(relay.read_request(&mut buf).err(), Some(ECANCELED));
        assert_eq!(relay.read_request(&mut buf).err(), Some(EAGAIN));

        // Aborted while the model worked on it: the late answer is dropped.
        send(&mut mb, &GET_VERSION);
        read_frame(&relay, 64);
        mb.write(doe::REG_CTRL, doe::CTRL_ABORT);
        relay.respond(Ok(&bytes(&ANSWER)));
        assert_eq!(status(&mut mb), 0);

        // The mailbox works again.
        send(&mut mb, &GET_VERSION);
        read_frame(&relay, 64);
        relay.respond(Ok(&bytes(&ANSWER)));
        assert_eq!(status(&mut mb), doe::STATUS_DATA_OBJECT_READY);
    }

    #[test]
    fn no_answer_stays_busy_and_oversize_is_an_error() {
        let (relay, mut mb) = relayed();
        send(&mut mb, &GET_VERSION);
        read_frame(&relay, 64);
        relay.respond(Ok(&[]));
        assert_eq!(status(&mut mb), doe::STATUS_BUSY);
        mb.write(doe::REG_CTRL, doe::CTRL_ABORT);
        assert_eq!(status(&mut mb), 0);

        send(&mut mb, &GET_VERSION);
        read_frame(&relay, 64);
        relay.respond(Err(Oversized));
        assert_eq!(status(&mut mb), doe::STATUS_ERROR);
        mb.write(doe::REG_CTRL, doe::CTRL_ABORT);
        assert_eq!(status(&mut mb), 0);
    }

    #[test]
    fn one_opener_and_the_mailbox_going_away() {
        let (relay, mb) = relayed();
        assert_eq!(relay.open().err(), Some(EBUSY));
        relay.release();
        assert!(relay.open().is_ok());
        drop(mb);
        // Readers are woken for good and fail; nobody can open it again.
        assert!(relay.wait().is_ok());
        assert_eq!(relay.read_request(&mut [0u8; 4]).err(), Some(ENODEV));
        relay.release();
        assert_eq!(relay.open().err(), Some(ENODEV));
    }

    #[test]
    fn a_closed_reader_leaves_the_request_to_the_next() {
        let (relay, mut mb) = relayed();
        send(&mut mb, &GET_VERSION);
        let chunk = relay.read_request(&mut [0u8; 7]).unwrap();
        relay.consumed(chunk, chunk.len);
        relay.release();
        relay.open().unwrap();
        assert_eq!(read_frame(&relay, 64).len(), HEADER_BYTES + 12);
    }

    #[test]
    fn bars_written_before_the_model_opens_are_replayed() {
        let relay = Relay::new().unwrap();
        // BAR 0 of 01:00.0 sized, then assigned; function 1's BAR reads zero; Command is no BAR.
        relay.config_written(0x0100, 0x10, 0xffe0_000c);
        relay.config_written(0x0100, 0x10, 0x0000_000c);
        relay.config_written(0x0100, 0x14, 0x9);
        relay.config_written(0x0101, 0x10, 0);
        relay.config_written(0x0100, 0x04, 0x6);
        // Nobody had the relay open: nothing is queued yet.
        assert_eq!(relay.read_request(&mut [0u8; 4]).err(), Some(EAGAIN));
        relay.open().unwrap();
        let frames = read_frame(&relay, 64);
        assert_eq!(frames.len(), 2 * 20);
        let header = [0, 0, 0x80, 0x02, 0, 0, 0, 2, 0, 0, 0, 8];
        assert_eq!(&frames[..HEADER_BYTES], &header);
        assert_eq!(&frames[12..20], &[0, 1, 0x10, 0, 0x0c, 0, 0, 0]);
        assert_eq!(&frames[20 + 12..40], &[0, 1, 0x14, 0, 9, 0, 0, 0]);
        // The next model learns them again.
        relay.release();
        relay.open().unwrap();
        assert_eq!(read_frame(&relay, 64).len(), 2 * 20);
    }

    #[test]
    fn a_memory_request_goes_out_and_its_completion_comes_back() {
        let (relay, mut mb) = relayed();
        let access = MmioAccess {
            rid: 0x0100,
            address: 0x9_0000_4ff8,
            len: 8,
            write: true,
        };
        let tag = relay.submit_mmio(access).unwrap();
        assert_eq!(relay.submit_mmio(access).err(), Some(EBUSY));
        // A DOE request submitted meanwhile waits for the memory request frame to be read.
        send(&mut mb, &GET_VERSION);
        let mut frame = [0u8; 64];
        let chunk = relay.read_request(&mut frame[..5]).unwrap();
        relay.consumed(chunk, chunk.len);
        let chunk = relay.read_request(&mut frame[5..]).unwrap();
        assert_eq!(chunk.len, HEADER_BYTES + 20 - 5);
        relay.consumed(chunk, chunk.len);
        assert_eq!(
            &frame[..HEADER_BYTES],
            &[0, 0, 0x80, 0x03, 0, 0, 0, 2, 0, 0, 0, 20]
        );
        assert_eq!(&frame[12..16], &tag.to_le_bytes());
        assert_eq!(&frame[16..20], &[0, 1, 1, 0]);
        assert_eq!(&frame[20..28], &0x9_0000_4ff8u64.to_le_bytes());
        assert_eq!(&frame[28..32], &[8, 0, 0, 0]);
        assert_eq!(read_frame(&relay, 64).len(), HEADER_BYTES + 12);
        // A completion of another tag is not this one's.
        relay.mmio_completed(tag.wrapping_add(1), 0);
        relay.mmio_completed(tag, 1);
        assert_eq!(relay.await_mmio(tag, 1000), Ok(false));
        assert_eq!(relay.await_mmio(tag, 1000).err(), Some(EINVAL));

        let tag = relay.submit_mmio(access).unwrap();
        read_frame(&relay, 64);
        relay.mmio_completed(tag, 0);
        assert_eq!(relay.await_mmio(tag, 1000), Ok(true));
    }

    #[test]
    fn an_unanswered_memory_request_times_out() {
        let (relay, _mb) = relayed();
        let access = MmioAccess {
            rid: 0x0100,
            address: 0x1000,
            len: 4,
            write: false,
        };
        // Not read at all: given up and gone.
        let tag = relay.submit_mmio(access).unwrap();
        assert_eq!(relay.await_mmio(tag, 10).err(), Some(ETIMEDOUT));
        assert_eq!(relay.read_request(&mut [0u8; 4]).err(), Some(EAGAIN));
        // Read but not answered: a late completion is dropped; the next request works.
        let tag = relay.submit_mmio(access).unwrap();
        read_frame(&relay, 64);
        assert_eq!(relay.await_mmio(tag, 10).err(), Some(ETIMEDOUT));
        relay.mmio_completed(tag, 0);
        let tag = relay.submit_mmio(access).unwrap();
        read_frame(&relay, 64);
        relay.mmio_completed(tag, 0);
        assert_eq!(relay.await_mmio(tag, 10), Ok(true));
    }

    #[test]
    fn assembler_takes_frames_in_any_pieces() {
        let mut frame = KVec::new();
        frame
            .extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 12], GFP_KERNEL)
            .unwrap();
        frame
            .extend_from_slice(&bytes(&ANSWER), GFP_KERNEL)
            .unwrap();
        let mut asm = Assembler::new().unwrap();
        let mut at = 0;
        let mut done = None;
        for piece in [1, 5, 7, 100] {
            let space = asm.space();
            let n = piece.min(space.len()).min(frame.len() - at);
            space[..n].copy_from_slice(&frame[at..at + n]);
            at += n;
            if let Some(Frame::Answer(answer)) = asm.advance(n).unwrap() {
                done = Some(answer.map(|b| b.len()));
            }
        }
        assert_eq!(at, frame.len());
        assert_eq!(done, Some(Ok(12)));

        // The device's IDE_KM frame: the object the model applied.
        let space = asm.space();
        space.copy_from_slice(&[0, 0, 0x80, 0x01, 0, 0, 0, 2, 0, 0, 0, 3]);
        assert!(asm.advance(HEADER_BYTES).unwrap().is_none());
        asm.space()[..3].copy_from_slice(&[5, 0, 0]);
        let frame = asm.advance(3).unwrap();
        assert!(matches!(frame, Some(Frame::DeviceIdeKm([5, 0, 0]))));

        // The completion of a memory request: tag 7, Unsupported Request; it is 8 bytes long.
        let space = asm.space();
        space.copy_from_slice(&[0, 0, 0x80, 0x04, 0, 0, 0, 2, 0, 0, 0, 8]);
        assert!(asm.advance(HEADER_BYTES).unwrap().is_none());
        asm.space()[..8].copy_from_slice(&[7, 0, 0, 0, 1, 0, 0, 0]);
        let frame = asm.advance(8).unwrap();
        assert!(matches!(
            frame,
            Some(Frame::MmioCompletion { tag: 7, status: 1 })
        ));
        let space = asm.space();
        space.copy_from_slice(&[0, 0, 0x80, 0x04, 0, 0, 0, 2, 0, 0, 0, 4]);
        assert!(asm.advance(HEADER_BYTES).unwrap().is_none());
        asm.space()[..4].copy_from_slice(&[7, 0, 0, 0]);
        assert_eq!(asm.advance(4).err(), Some(EINVAL));

        // A header other than NORMAL over DOE is refused.
        let space = asm.space();
        space.copy_from_slice(&[0, 0, 0xff, 0xfe, 0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(asm.advance(HEADER_BYTES).err(), Some(EINVAL));

        // An object larger than the mailbox is received, then reported.
        let space = asm.space();
        space.copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x20, 0]);
        assert!(asm.advance(HEADER_BYTES).unwrap().is_none());
        let mut left = 0x2000;
        let mut result = None;
        while left > 0 {
            let n = asm.space().len().min(left);
            left -= n;
            if let Some(Frame::Answer(answer)) = asm.advance(n).unwrap() {
                result = Some(answer.map(|b| b.len()));
            }
        }
        assert_eq!(result, Some(Err(Oversized)));
    }
}
