// SPDX-License-Identifier: GPL-2.0

//! What the emulated platform's firmware does for any firmware model: IDE keys for both ends of
//! a stream, the device's over IDE_KM in its secure SPDM session and the Root Port's through the
//! platform's key port, TDISP requests in the session, and the session's end.
//!
//! The emulated link TSM (`tsm_emu_link`) plays the firmware itself and uses this module
//! directly; the vendor firmware models (the SEV-TIO PSP model in `sev_tio_model.rs`) execute
//! their command sets and use it for the same steps, with their own DOE transport (a vendor
//! relay loop) and their own fault points.

use kernel::{alloc::KVVec, pci, prelude::*};
use tsm_proto::{
    ide_km::{self, KeySubStream, KeyTarget, Message as IdeKm, IFV_LEN, KEY_LEN, SUB_STREAMS},
    spdm::vendor::{PROTOCOL_IDE_KM, PROTOCOL_TDISP},
    tdisp::{self, Body, InterfaceId, TdiState},
    wire,
};
use tsm_spdm::{AuthError, Connection, DoeTransfer};

/// Name of the faux device that provides the emulated platform's host bridge.
const PLATFORM: &CStr = c"tsm_emu_bus";

/// The platform's key port: vendor and DVSEC ID (`drivers/virt/coco/tsm/emu/ide_keys.rs`).
const KEY_PORT_VENDOR: u16 = 0xfffe;
const KEY_PORT_DVSEC_ID: u16 = 0x0001;
/// Key port registers: Control (bit 0 Submit, bit 1 Reset, bits 23:16 object length), Status
/// (bits 7:0 result), Data.
const KEY_PORT_CONTROL: u16 = 0x0c;
const KEY_PORT_STATUS: u16 = 0x10;
const KEY_PORT_DATA: u16 = 0x14;
const KEY_PORT_SUBMIT: u32 = 1 << 0;
const KEY_PORT_RESET: u32 = 1 << 1;

/// Whether `pdev` belongs to the emulated platform.
pub(crate) fn on_platform(pdev: &pci::Device) -> bool {
    pdev.host_bridge()
        .parent()
        .is_some_and(|p| p.name() == PLATFORM)
}

pub(crate) fn errno(e: AuthError) -> Error {
    e.errno()
}

/// `result`, with a failure logged against `pdev` as the failure of `what`.
pub(crate) fn logged<T>(pdev: &pci::Device, what: &str, result: Result<T>) -> Result<T> {
    if let Err(e) = &result {
        dev_warn!(pdev.as_ref(), "{} failed: {:?}\n", what, e);
    }
    result
}

/// The keys of one stream: per sub-stream, the key and IFV of traffic towards the Endpoint
/// (the Root Port transmits, the Endpoint receives) and towards the Root Port.
struct StreamKeys {
    down: [([u8; KEY_LEN], [u8; IFV_LEN]); 3],
    up: [([u8; KEY_LEN], [u8; IFV_LEN]); 3],
}

impl Drop for StreamKeys {
    fn drop(&mut self) {
        // Key material does not outlive its programming.
        for (key, ifv) in [&mut self.down, &mut self.up].into_iter().flatten() {
            key.fill(0);
            ifv.fill(0);
        }
    }
}

impl StreamKeys {
    fn generate() -> Result<KBox<Self>> {
        let mut keys = KBox::new(
            Self {
                down: [([0; KEY_LEN], [0; IFV_LEN]); 3],
                up: [([0; KEY_LEN], [0; IFV_LEN]); 3],
            },
            GFP_KERNEL,
        )?;
        let fresh = &mut *keys;
        for (key, ifv) in [&mut fresh.down, &mut fresh.up].into_iter().flatten() {
            kernel::crypto::random_bytes(key);
            kernel::crypto::random_bytes(ifv);
        }
        Ok(keys)
    }

    /// The key and IFV a port uses for `sub_stream` in direction `tx` (from its own view);
    /// `endpoint`: whether the port is the Endpoint.
    fn for_port(&self, endpoint: bool, tx: bool, index: usize) -> &([u8; KEY_LEN], [u8; IFV_LEN]) {
        // The Endpoint transmits upstream; the Root Port downstream.
        if tx == endpoint {
            &self.up[index]
        } else {
            &self.down[index]
        }
    }
}

/// The six key slots of key set 0 of `stream_id`: (target, sub-stream index).
fn key_slots(stream_id: u8) -> impl Iterator<Item = (KeyTarget, usize)> {
    [false, true].into_iter().flat_map(move |tx| {
        SUB_STREAMS
            .into_iter()
            .enumerate()
            .map(move |(index, sub_stream)| {
                (
                    KeyTarget {
                        stream_id,
                        key_sub_stream: KeySubStream {
                            key_set: 0,
                            tx,
                            sub_stream,
                        },
                        port_index: 0,
                    },
                    index,
                )
            })
    })
}

/// Encodes `message` into `buf` and returns the object.
fn encode<'b>(message: &IdeKm<'_>, buf: &'b mut [u8; 64]) -> Result<&'b [u8]> {
    let mut w = wire::Writer::new(buf);
    message.write(&mut w).map_err(|_| EINVAL)?;
    let len = w.len();
    Ok(&buf[..len])
}

/// One end of a stream that takes IDE_KM objects.
trait KeyPort {
    /// Sends one IDE_KM object and returns the answer's status: KP_ACK's, 0 for K_GOSTOP_ACK.
    fn send(&mut self, message: &IdeKm<'_>) -> Result<u8>;
}

/// The device, over IDE_KM in the secure session.
struct DeviceKeys<'a, T: DoeTransfer> {
    spdm: &'a mut Connection,
    doe: &'a mut T,
}

impl<T: DoeTransfer> KeyPort for DeviceKeys<'_, T> {
    fn send(&mut self, message: &IdeKm<'_>) -> Result<u8> {
        let mut buf = [0u8; 64];
        let object = encode(message, &mut buf)?;
        let mut answer = [0u8; 64];
        let len = self
            .spdm
            .vendor(self.doe, PROTOCOL_IDE_KM, object, &mut answer)
            .map_err(errno)?;
        match IdeKm::decode(&answer[..len]).map_err(|_| EPROTO)? {
            IdeKm::KpAck { status, .. } => Ok(status),
            IdeKm::KGoStopAck(_) => Ok(ide_km::STATUS_OK),
            IdeKm::QueryResp { .. } => Ok(ide_km::STATUS_OK),
            _ => Err(EPROTO),
        }
    }
}

/// The Root Port, through the platform's key port in its configuration space.
struct RootPortKeys<'a> {
    port: &'a pci::Device,
    offset: u16,
}

impl KeyPort for RootPortKeys<'_> {
    fn send(&mut self, message: &IdeKm<'_>) -> Result<u8> {
        let mut buf = [0u8; 64];
        let object = encode(message, &mut buf)?;
        let at = |reg: u16| self.offset + reg;
        self.port
            .write_config_dword(at(KEY_PORT_CONTROL), KEY_PORT_RESET)?;
        for dword in object.chunks(4) {
            let mut bytes = [0u8; 4];
            bytes[..dword.len()].copy_from_slice(dword);
            self.port
                .write_config_dword(at(KEY_PORT_DATA), u32::from_le_bytes(bytes))?;
        }
        // CAST: IDE_KM objects are shorter than 64 bytes.
        let length = (object.len() as u32) << 16;
        self.port
            .write_config_dword(at(KEY_PORT_CONTROL), KEY_PORT_SUBMIT | length)?;
        // CAST: the status is bits 7:0.
        Ok(self.port.read_config_dword(at(KEY_PORT_STATUS))? as u8)
    }
}

/// Programs key set 0 of `stream_id` into `port` (the Endpoint if `endpoint`).
fn program_keys(
    port: &mut dyn KeyPort,
    endpoint: bool,
    stream_id: u8,
    keys: &StreamKeys,
) -> Result {
    for (target, index) in key_slots(stream_id) {
        let (key, ifv) = keys.for_port(endpoint, target.key_sub_stream.tx, index);
        let key = ide_km::key_to_wire(key);
        let ifv = ide_km::ifv_to_wire(ifv);
        let status = port.send(&IdeKm::KeyProg {
            target,
            key: &key,
            ifv: &ifv,
        })?;
        if status != ide_km::STATUS_OK {
            return Err(EIO);
        }
    }
    Ok(())
}

/// Puts key set 0 of `stream_id` into use at `port`.
fn go_keys(port: &mut dyn KeyPort, stream_id: u8) -> Result {
    for (target, _) in key_slots(stream_id) {
        if port.send(&IdeKm::KSetGo(target))? != ide_km::STATUS_OK {
            return Err(EIO);
        }
    }
    Ok(())
}

/// Stops and wipes every key slot of `stream_id` at `port`. A port that fails to answer is not
/// asked again (a device that lost the session wipes its keys itself).
fn stop_keys(port: &mut dyn KeyPort, stream_id: u8) -> Result {
    for (target, _) in key_slots(stream_id) {
        port.send(&IdeKm::KSetStop(target))?;
    }
    Ok(())
}

/// A step of [`key_stream`] at which a firmware model can inject a failure.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyStep {
    /// After the device's KEY_PROGs, before the Root Port's.
    KeyProg,
    /// After every KEY_PROG, before K_SET_GO.
    KeySetGo,
}

/// The Root Port's key port.
fn root_port_keys(pdev: &pci::Device) -> Result<RootPortKeys<'_>> {
    let port = pdev.root_port().ok_or(ENODEV)?;
    let offset = port
        .find_dvsec(KEY_PORT_VENDOR, KEY_PORT_DVSEC_ID)
        .ok_or(ENODEV)?;
    Ok(RootPortKeys { port, offset })
}

/// Keys the stream `stream_id` of the Endpoint `pdev` at both ends and puts the keys into
/// use; `fault` is asked before each [`KeyStep`]. On failure no key is left at either end (as
/// far as the device answers).
pub(crate) fn key_stream<T: DoeTransfer>(
    pdev: &pci::Device,
    spdm: &mut Connection,
    doe: &mut T,
    stream_id: u8,
    fault: impl Fn(KeyStep) -> Result,
) -> Result {
    let mut root_port = logged(pdev, "Root Port key port", root_port_keys(pdev))?;
    let keys = StreamKeys::generate()?;
    let mut device = DeviceKeys { spdm, doe };
    let result = (|| {
        // QUERY: the device's IDE port answers (a QUERY_RESP is all that is checked).
        let query = device.send(&IdeKm::Query { port_index: 0 });
        logged(pdev, "IDE_KM QUERY", query)?;
        let device_keys = program_keys(&mut device, true, stream_id, &keys);
        logged(pdev, "KEY_PROG (device)", device_keys)?;
        fault(KeyStep::KeyProg)?;
        let root_port_keys = program_keys(&mut root_port, false, stream_id, &keys);
        logged(pdev, "KEY_PROG (Root Port)", root_port_keys)?;
        fault(KeyStep::KeySetGo)?;
        logged(pdev, "K_SET_GO (device)", go_keys(&mut device, stream_id))?;
        logged(
            pdev,
            "K_SET_GO (Root Port)",
            go_keys(&mut root_port, stream_id),
        )
    })();
    if result.is_err() {
        // Best effort: the failure being reported is the first one.
        let _ = stop_keys(&mut device, stream_id);
        let _ = stop_keys(&mut root_port, stream_id);
    }
    result
}

/// Stops and wipes the keys of `stream_id` at both ends.
pub(crate) fn unkey_stream<T: DoeTransfer>(
    pdev: &pci::Device,
    spdm: &mut Connection,
    doe: &mut T,
    stream_id: u8,
) -> Result {
    let device = stop_keys(&mut DeviceKeys { spdm, doe }, stream_id);
    let root_port = root_port_keys(pdev).and_then(|mut rp| stop_keys(&mut rp, stream_id));
    device.and(root_port)
}

/// Ends the session of `spdm`, logging a device that does not answer.
pub(crate) fn end_session<T: DoeTransfer>(pdev: &pci::Device, spdm: &mut Connection, doe: &mut T) {
    if let Err(e) = spdm.end_session(doe) {
        dev_warn!(pdev.as_ref(), "END_SESSION failed: {:?}\n", e.errno());
    }
}

/// Largest DEVICE_INTERFACE_REPORT kept.
const MAX_REPORT: usize = 0x4000;
/// Bytes asked for per GET_DEVICE_INTERFACE_REPORT.
const REPORT_PORTION: u16 = 0x400;
/// TDISP messages and answers go through a buffer of this size (a report portion and headers).
const TDISP_BUF: usize = REPORT_PORTION as usize + 64;

/// TDISP requests about the interfaces of the DSM `pdev`, in the secure session of `spdm`.
pub(crate) struct Tdisp<'a, T: DoeTransfer> {
    pub(crate) pdev: &'a pci::Device,
    pub(crate) spdm: &'a mut Connection,
    pub(crate) doe: &'a mut T,
}

impl<T: DoeTransfer> Tdisp<'_, T> {
    /// One TDISP exchange about `interface`; a TDISP_ERROR answer is `EIO` (logged with its
    /// code).
    pub(crate) fn exchange<'b>(
        &mut self,
        interface: InterfaceId,
        body: Body<'_>,
        answer: &'b mut [u8],
    ) -> Result<Body<'b>> {
        let mut request = [0u8; 64];
        let mut w = wire::Writer::new(&mut request);
        tdisp::Message {
            version: tdisp::VERSION_10,
            interface,
            body,
        }
        .write(&mut w)
        .map_err(|_| EINVAL)?;
        let len = w.len();
        let got = self
            .spdm
            .vendor(self.doe, PROTOCOL_TDISP, &request[..len], answer)
            .map_err(errno)?;
        let message = tdisp::Message::decode(&answer[..got]).map_err(|_| EPROTO)?;
        if message.interface != interface {
            return Err(EPROTO);
        }
        if let Body::Error { code, .. } = message.body {
            dev_warn!(
                self.pdev.as_ref(),
                "TDISP request {:#04x} refused: TDISP_ERROR {:#x}\n",
                body.message_type(),
                code
            );
            return Err(EIO);
        }
        Ok(message.body)
    }

    /// Locks `interface` (LOCK_INTERFACE with `default_stream_id`, MMIO reported at host
    /// addresses) and reads its report, which must find it CONFIG_LOCKED. A failure leaves the
    /// TDI as it was: a lock the device refused changed nothing, anything later stops the
    /// interface again. Returns the lock's nonce and the report.
    pub(crate) fn lock(
        &mut self,
        interface: InterfaceId,
        default_stream_id: u8,
    ) -> Result<([u8; tdisp::NONCE_LEN], KVVec<u8>)> {
        let lock = tdisp::LockParams {
            flags: 0,
            default_stream_id,
            mmio_reporting_offset: 0,
            bind_p2p_address_mask: 0,
        };
        let mut answer = [0u8; 64];
        let nonce = match self.exchange(interface, Body::LockInterface(lock), &mut answer) {
            Ok(Body::LockInterfaceRsp(nonce)) => *nonce,
            // Refused with TDISP_ERROR: the TDI stays as it was.
            Err(e) if e == EIO => return Err(e),
            // The device may have locked the TDI and only its answer was lost (e.g. to an
            // allocation that failed while opening it) or malformed: unlock it again, which a
            // TDI that is not locked refuses without changing.
            other => {
                let _ = self.stop(interface);
                return Err(other.err().unwrap_or(EPROTO));
            }
        };
        // Locked: from here a failure unlocks the TDI again.
        let report = self.report(interface);
        let locked = matches!(self.state(interface), Ok(TdiState::ConfigLocked));
        match report {
            Ok(report) if locked => Ok((nonce, report)),
            Ok(_) => {
                let _ = self.stop(interface);
                Err(EPROTO)
            }
            Err(e) => {
                let _ = self.stop(interface);
                Err(e)
            }
        }
    }

    /// Stops `interface` (STOP_INTERFACE): back to CONFIG_UNLOCKED.
    pub(crate) fn stop(&mut self, interface: InterfaceId) -> Result {
        let mut answer = [0u8; 64];
        match self.exchange(interface, Body::Stop, &mut answer)? {
            Body::StopRsp => Ok(()),
            _ => Err(EPROTO),
        }
    }

    /// The TDI's state (GET_DEVICE_INTERFACE_STATE).
    pub(crate) fn state(&mut self, interface: InterfaceId) -> Result<TdiState> {
        let mut answer = [0u8; 64];
        match self.exchange(interface, Body::GetState, &mut answer)? {
            Body::State(state) => Ok(state),
            _ => Err(EPROTO),
        }
    }

    /// The DEVICE_INTERFACE_REPORT, read portion by portion.
    pub(crate) fn report(&mut self, interface: InterfaceId) -> Result<KVVec<u8>> {
        let mut report = KVVec::new();
        let mut answer = KVVec::from_elem(0u8, TDISP_BUF, GFP_KERNEL)?;
        loop {
            let offset = u16::try_from(report.len()).map_err(|_| EFBIG)?;
            let body = Body::GetReport {
                offset,
                length: REPORT_PORTION,
            };
            let Body::Report {
                portion,
                remainder_length,
            } = self.exchange(interface, body, &mut answer)?
            else {
                return Err(EPROTO);
            };
            if portion.is_empty() && remainder_length > 0 {
                return Err(EPROTO);
            }
            if report.len() + portion.len() + usize::from(remainder_length) > MAX_REPORT {
                return Err(EFBIG);
            }
            report.extend_from_slice(portion, GFP_KERNEL)?;
            if remainder_length == 0 {
                return Ok(report);
            }
        }
    }
}

/// A TDI state's TDISP name.
pub(crate) fn state_name(state: TdiState) -> &'static str {
    match state {
        TdiState::ConfigUnlocked => "CONFIG_UNLOCKED",
        TdiState::ConfigLocked => "CONFIG_LOCKED",
        TdiState::Run => "RUN",
        TdiState::Error => "ERROR",
    }
}
