// SPDX-License-Identifier: GPL-2.0
//! The framing of QEMU's `backends/spdm-socket.c`, over TCP or any other
//! byte stream, and the loop that serves a device over it.
//!
//! Every message, in both directions, is three big-endian u32s, command,
//! transport type and payload size, followed by the payload. With the DOE
//! transport the payload is one whole DOE data object, header included.
//! QEMU sends NORMAL requests and a SHUTDOWN when the device goes away; it
//! accepts a response of at most 0x1200 bytes; after a response of size 0
//! its DOE mailbox never reports Data Object Ready (the guest times out).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};

use crate::model::{Model, Profile};

/// A request to answer (or the answer).
pub const COMMAND_NORMAL: u32 = 0x0001;
/// Restart the connection (libspdm tools' "continue").
pub const COMMAND_CONTINUE: u32 = 0xFFFD;
/// The peer is going away.
pub const COMMAND_SHUTDOWN: u32 = 0xFFFE;
/// Answer to a command the model does not know.
pub const COMMAND_UNKNOWN: u32 = 0xFFFF;
/// Connectivity test; the model echoes the payload.
pub const COMMAND_TEST: u32 = 0xDEAD;
/// To the emulated platform's relay only (a tsm-rs extension): an IDE_KM object the device
/// applied to its IDE port, sent before the answer that acknowledges it, so that the platform's
/// IDE registers hold the device's keys.
pub const COMMAND_DEVICE_IDE_KM: u32 = 0x8001;
/// From the emulated platform's relay only (a tsm-rs extension): software wrote a register TDISP
/// locks (Command, a BAR) of one of the device's functions; payload Routing ID, offset (u16
/// each) and the register's new value (u32), little-endian. No answer.
pub const COMMAND_CONFIG_WRITE: u32 = 0x8002;
/// From the emulated platform's relay only (a tsm-rs extension): a memory request that one of
/// the device's functions decodes (a stand-in for the TLP); payload tag (u32), Routing ID (u16),
/// flags (u16, bit 0: write), address (u64), length (u32), little-endian. The model answers
/// with [`COMMAND_MMIO_COMPLETION`].
pub const COMMAND_MMIO_ACCESS: u32 = 0x8003;
/// To the emulated platform's relay only (a tsm-rs extension): how the device completes the
/// [`COMMAND_MMIO_ACCESS`] of the same tag; payload tag and PCIe Completion Status (u32 each,
/// little-endian): [`COMPLETION_SC`] or [`COMPLETION_UR`].
pub const COMMAND_MMIO_COMPLETION: u32 = 0x8004;
/// Completion Status: Successful Completion.
pub const COMPLETION_SC: u32 = 0;
/// Completion Status: Unsupported Request.
pub const COMPLETION_UR: u32 = 1;
/// Bytes of a [`COMMAND_MMIO_ACCESS`] payload.
const MMIO_ACCESS_LEN: usize = 20;

/// Transport type: MCTP (not served).
pub const TRANSPORT_MCTP: u32 = 0x01;
/// Transport type: PCI DOE.
pub const TRANSPORT_PCI_DOE: u32 = 0x02;

/// QEMU's receive buffer (`SPDM_SOCKET_MAX_MESSAGE_BUFFER_SIZE`).
pub const QEMU_MAX_MESSAGE: usize = 0x1200;
/// Largest payload accepted by default: one maximal DOE object (1 MiB).
pub const DEFAULT_MAX_PAYLOAD: usize = tsm_proto::doe::MAX_OBJECT_BYTES;

/// One framed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Command code.
    pub command: u32,
    /// Transport type.
    pub transport: u32,
    /// Payload (a DOE object for NORMAL/DOE).
    pub payload: Vec<u8>,
}

impl Frame {
    /// A NORMAL DOE frame.
    pub fn doe(payload: Vec<u8>) -> Self {
        Self {
            command: COMMAND_NORMAL,
            transport: TRANSPORT_PCI_DOE,
            payload,
        }
    }
}

/// Something frames travel over.
pub trait Transport {
    /// Receives the next frame; `None` on a clean end of stream.
    fn recv(&mut self) -> io::Result<Option<Frame>>;
    /// Sends a frame.
    fn send(&mut self, frame: &Frame) -> io::Result<()>;
}

/// The spdm-socket framing over any byte stream: a TCP connection, one end
/// of a pipe or socket pair, a character device, stdin/stdout.
pub struct Framed<T> {
    io: T,
    max_payload: usize,
}

impl<T: Read + Write> Framed<T> {
    /// Frames over `io`, accepting payloads up to [`DEFAULT_MAX_PAYLOAD`].
    pub fn new(io: T) -> Self {
        Self {
            io,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }

    /// Refuses received payloads over `max` bytes (QEMU uses
    /// [`QEMU_MAX_MESSAGE`]).
    pub fn with_max_payload(mut self, max: usize) -> Self {
        self.max_payload = max;
        self
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// Sends `request` as a NORMAL DOE frame and returns the answer's
    /// payload (empty when the device gave no answer).
    pub fn exchange(&mut self, request: &[u8]) -> io::Result<Vec<u8>> {
        self.send(&Frame::doe(request.to_vec()))?;
        match self.recv()? {
            Some(f) if f.command == COMMAND_NORMAL => Ok(f.payload),
            Some(f) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected command {:#x}", f.command),
            )),
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

fn read_u32<T: Read>(io: &mut T, first: bool) -> io::Result<Option<u32>> {
    let mut b = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match io.read(&mut b[got..]) {
            Ok(0) if first && got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(u32::from_be_bytes(b)))
}

impl<T: Read + Write> Transport for Framed<T> {
    fn recv(&mut self) -> io::Result<Option<Frame>> {
        let Some(command) = read_u32(&mut self.io, true)? else {
            return Ok(None);
        };
        let eof = || io::Error::from(io::ErrorKind::UnexpectedEof);
        let transport = read_u32(&mut self.io, false)?.ok_or_else(eof)?;
        let size = read_u32(&mut self.io, false)?.ok_or_else(eof)? as usize;
        if size > self.max_payload {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame of {size} bytes exceeds {}", self.max_payload),
            ));
        }
        let mut payload = vec![0u8; size];
        self.io.read_exact(&mut payload)?;
        Ok(Some(Frame {
            command,
            transport,
            payload,
        }))
    }

    fn send(&mut self, frame: &Frame) -> io::Result<()> {
        let size = u32::try_from(frame.payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "payload over 4 GiB"))?;
        let mut buf = Vec::with_capacity(12 + frame.payload.len());
        buf.extend_from_slice(&frame.command.to_be_bytes());
        buf.extend_from_slice(&frame.transport.to_be_bytes());
        buf.extend_from_slice(&size.to_be_bytes());
        buf.extend_from_slice(&frame.payload);
        self.io.write_all(&buf)?;
        self.io.flush()
    }
}

/// Standard input and output as one stream (`serve --stdio`).
pub struct Stdio {
    stdin: io::Stdin,
    stdout: io::Stdout,
}

impl Stdio {
    /// The process' stdin and stdout.
    pub fn new() -> Self {
        Self {
            stdin: io::stdin(),
            stdout: io::stdout(),
        }
    }
}

impl Default for Stdio {
    fn default() -> Self {
        Self::new()
    }
}

impl Read for Stdio {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stdin.read(buf)
    }
}

impl Write for Stdio {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stdout.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stdout.flush()
    }
}

/// Why [`serve`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The peer closed the stream.
    Eof,
    /// The peer sent SHUTDOWN.
    Shutdown,
}

/// Serves one device over `transport` until the peer closes or shuts down.
/// The device starts in its reset state.
pub fn serve<T: Transport>(profile: &Profile, transport: &mut T) -> io::Result<Ended> {
    serve_device(profile, transport, false)
}

/// [`serve`] for the emulated platform's relay (`/dev/tsm_emu_mbox0`): each IDE_KM object the
/// device applies also goes to the platform ([`COMMAND_DEVICE_IDE_KM`]), and the platform's
/// configuration writes and memory requests reach the device ([`COMMAND_CONFIG_WRITE`],
/// [`COMMAND_MMIO_ACCESS`]).
pub fn serve_relay<T: Transport>(profile: &Profile, transport: &mut T) -> io::Result<Ended> {
    serve_device(profile, transport, true)
}

fn serve_device<T: Transport>(
    profile: &Profile,
    transport: &mut T,
    relay: bool,
) -> io::Result<Ended> {
    let blocks = profile.measurement_blocks();
    let mut model = Model::new(profile, &blocks);
    loop {
        let Some(frame) = transport.recv()? else {
            return Ok(Ended::Eof);
        };
        match frame.command {
            COMMAND_NORMAL if frame.transport == TRANSPORT_PCI_DOE => {
                let mut request = frame.payload;
                let answer = model.handle(&mut request).unwrap_or_default();
                for object in std::mem::take(&mut model.device.applied_ide_km) {
                    if relay {
                        transport.send(&Frame {
                            command: COMMAND_DEVICE_IDE_KM,
                            transport: TRANSPORT_PCI_DOE,
                            payload: object,
                        })?;
                    }
                }
                transport.send(&Frame::doe(answer))?;
            }
            COMMAND_TEST => transport.send(&frame)?,
            COMMAND_CONFIG_WRITE if relay && frame.payload.len() == 8 => {
                let p = &frame.payload;
                let rid = u16::from_le_bytes([p[0], p[1]]);
                let offset = u16::from_le_bytes([p[2], p[3]]);
                let value = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
                model.device.config_written(rid, offset, value);
            }
            COMMAND_MMIO_ACCESS if relay && frame.payload.len() == MMIO_ACCESS_LEN => {
                let p = &frame.payload;
                let u16_at = |i: usize| u16::from_le_bytes([p[i], p[i + 1]]);
                let u32_at = |i: usize| u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
                let address = u64::from(u32_at(8)) | (u64::from(u32_at(12)) << 32);
                let write = u16_at(6) & 1 != 0;
                let status = if model
                    .device
                    .mmio_access(u16_at(4), address, u32_at(16), write)
                {
                    COMPLETION_SC
                } else {
                    COMPLETION_UR
                };
                let mut payload = p[..4].to_vec();
                payload.extend_from_slice(&status.to_le_bytes());
                transport.send(&Frame {
                    command: COMMAND_MMIO_COMPLETION,
                    transport: TRANSPORT_PCI_DOE,
                    payload,
                })?;
            }
            COMMAND_SHUTDOWN => {
                // QEMU does not wait for the acknowledgement; ignore a closed peer.
                let _ = transport.send(&Frame {
                    command: COMMAND_SHUTDOWN,
                    transport: frame.transport,
                    payload: Vec::new(),
                });
                return Ok(Ended::Shutdown);
            }
            COMMAND_CONTINUE => {
                model.reset_connection();
                transport.send(&Frame {
                    command: COMMAND_CONTINUE,
                    transport: frame.transport,
                    payload: Vec::new(),
                })?;
            }
            _ => transport.send(&Frame {
                command: COMMAND_UNKNOWN,
                transport: frame.transport,
                payload: Vec::new(),
            })?,
        }
    }
}

/// Binds the loopback TCP port (0 picks a free one).
pub fn listen(port: u16) -> io::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port))
}

/// Accepts connections one after the other and serves each with a device
/// in its reset state; with `once`, returns after the first connection.
pub fn serve_listener(profile: &Profile, listener: &TcpListener, once: bool) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept()?;
        if !peer.ip().is_loopback() {
            // Bound to 127.0.0.1, so this cannot happen; refuse regardless.
            continue;
        }
        let _ = stream.set_nodelay(true);
        let ended = serve_stream(profile, stream);
        if profile.config.verbose {
            eprintln!("tsm-devmodel: connection from {peer} ended: {ended:?}");
        }
        if once {
            return ended.map(|_| ());
        }
    }
}

fn serve_stream(profile: &Profile, stream: TcpStream) -> io::Result<Ended> {
    serve(profile, &mut Framed::new(QuickAck(stream)))
}

/// A TCP stream that acknowledges every segment at once.
///
/// QEMU's spdm-socket writes a request's header and payload in separate
/// sends without TCP_NODELAY: Nagle holds the payload back until the header
/// is acknowledged, and a delayed ACK costs 40 ms per exchange. Linux clears
/// TCP_QUICKACK again by itself, so it is set before every read.
struct QuickAck(TcpStream);

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::TcpStreamExt as _;
            let _ = self.0.set_quickack(true);
        }
        self.0.read(buf)
    }
}

impl Write for QuickAck {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
