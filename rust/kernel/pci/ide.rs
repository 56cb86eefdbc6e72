// SPDX-License-Identifier: GPL-2.0

//! PCIe Integrity and Data Encryption (IDE): Selective IDE Streams between an Endpoint and its
//! Root Port, set up through the kernel's IDE library.
//!
//! A TSM establishes a stream in this order: [`Stream::alloc`] reserves the register blocks and a
//! slot of the host bridge's stream pool; [`Stream::set_stream_id`] picks the Stream ID;
//! [`Stream::register`] publishes it (the `streamH.R.E` link in the host bridge's directory);
//! [`Stream::setup`] programs each partner's association registers; [`Stream::enable`] turns
//! each partner on. Dropping the [`Stream`] undoes whichever of these steps completed, in
//! reverse order (C `pci_ide_stream_release()`).
//!
//! C header: [`include/linux/pci-ide.h`](srctree/include/linux/pci-ide.h)

use super::{
    Device,
    HostBridge, //
};
use crate::{
    bindings,
    error::to_result,
    prelude::*,
    sync::aref::ARef, //
};
use core::ptr::NonNull;

/// Sets the size of `host_bridge`'s pool of IDE streams (C `pci_ide_set_nr_streams()`), which
/// `available_secure_streams` reports; at most 256.
///
/// Platform code only, before the first stream is allocated below the host bridge. The C
/// function is in the `PCI_IDE` symbol namespace: a module calling this must list `"PCI_IDE"` in
/// its `imports_ns`.
#[inline]
pub fn set_nr_streams(host_bridge: &HostBridge, nr: u16) {
    // SAFETY: `host_bridge` is registered.
    unsafe { bindings::pci_ide_set_nr_streams(host_bridge.as_raw(), nr) }
}

/// One side of a Selective IDE Stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partner {
    /// The Endpoint the stream was allocated for.
    Endpoint,
    /// The Root Port above it.
    RootPort,
}

impl Partner {
    fn index(self) -> usize {
        // CAST: the C enum values are 0 and 1.
        match self {
            Self::Endpoint => bindings::pci_ide_partner_select_PCI_IDE_EP as usize,
            Self::RootPort => bindings::pci_ide_partner_select_PCI_IDE_RP as usize,
        }
    }
}

/// A Selective IDE Stream being set up or established (C `struct pci_ide`).
///
/// Dropping it disables, tears down, unregisters and frees the stream, as far as it got. It must
/// be dropped before its Endpoint is removed from the PCI bus: a TSM does so in its disconnect
/// operation, which the PCI/TSM core runs before a connected device goes away.
///
/// # Invariants
///
/// `ide` was returned by `pci_ide_stream_alloc()` for `endpoint`, is owned by this object and is
/// released only by `drop`.
pub struct Stream {
    ide: NonNull<bindings::pci_ide>,
    endpoint: ARef<Device>,
}

// SAFETY: The descriptor is owned by this object; the IDE library may be called from any thread.
unsafe impl Send for Stream {}
// SAFETY: `&Stream` only reads the descriptor; every change takes `&mut self`.
unsafe impl Sync for Stream {}

impl Stream {
    /// Reserves a stream for the Endpoint `endpoint`: a host bridge pool slot and a Selective IDE
    /// Stream register block in both the Endpoint and its Root Port.
    ///
    /// `ENOSPC` if any of them is exhausted or `endpoint` is not an IDE-capable Endpoint below an
    /// IDE-capable Root Port, and also if an allocation fails: `pci_ide_stream_alloc()` returns
    /// `NULL` for all of these.
    pub fn alloc(endpoint: &Device) -> Result<Self> {
        // SAFETY: `endpoint` is a valid device.
        let ide = unsafe { bindings::pci_ide_stream_alloc(endpoint.as_raw()) };
        // INVARIANT: `ide` was just allocated for `endpoint` and is owned by the new object.
        Ok(Self {
            ide: NonNull::new(ide).ok_or(ENOSPC)?,
            endpoint: endpoint.into(),
        })
    }

    fn raw(&self) -> &bindings::pci_ide {
        // SAFETY: `ide` is valid and owned by `self` by the type invariants.
        unsafe { self.ide.as_ref() }
    }

    /// The slot of the host bridge's stream pool (the `H` of `streamH.R.E`).
    pub fn host_bridge_stream(&self) -> u8 {
        self.raw().host_bridge_stream
    }

    /// The Selective IDE Stream register block used in `partner` (`R` and `E` of `streamH.R.E`).
    pub fn stream_index(&self, partner: Partner) -> u8 {
        self.raw().partner[partner.index()].stream_index
    }

    /// The Stream ID, once chosen.
    pub fn stream_id(&self) -> Option<u8> {
        u8::try_from(self.raw().stream_id).ok()
    }

    /// Chooses the Stream ID; `EBUSY` once the stream is registered.
    pub fn set_stream_id(&mut self, id: u8) -> Result {
        if self.is_registered() {
            return Err(EBUSY);
        }
        // SAFETY: `ide` is owned by `self` and not registered, so nothing else reads it.
        unsafe { (*self.ide.as_ptr()).stream_id = i32::from(id) };
        Ok(())
    }

    fn is_registered(&self) -> bool {
        !self.raw().name.is_null()
    }

    /// Registers the stream: reserves its Stream ID in the host bridge and creates the
    /// `streamH.R.E` link to the Endpoint in the host bridge's sysfs directory.
    ///
    /// `ENXIO` without a Stream ID, `EBUSY` if the ID is in use below the host bridge or the
    /// stream is registered already.
    pub fn register(&mut self) -> Result {
        if self.is_registered() {
            return Err(EBUSY);
        }
        // SAFETY: `ide` is a valid, owned, unregistered descriptor.
        to_result(unsafe { bindings::pci_ide_stream_register(self.ide.as_ptr()) })
    }

    fn port(&self, partner: Partner) -> Result<&Device> {
        match partner {
            Partner::Endpoint => Ok(&self.endpoint),
            Partner::RootPort => self.endpoint.root_port().ok_or(ENODEV),
        }
    }

    /// Programs `partner`'s Selective IDE Stream registers (RID and address association, Stream
    /// ID) with the stream still disabled.
    ///
    /// `EINVAL` if the stream is not registered.
    pub fn setup(&mut self, partner: Partner) -> Result {
        if !self.is_registered() {
            return Err(EINVAL);
        }
        let port = self.port(partner)?;
        // SAFETY: `port` is the Endpoint of `ide` or its Root Port, as the C function requires;
        // `ide` is a valid registered descriptor owned by `self`.
        unsafe { bindings::pci_ide_stream_setup(port.as_raw(), self.ide.as_ptr()) };
        Ok(())
    }

    /// Enables the stream in `partner` and checks that the port reports it secure.
    ///
    /// `ENXIO` if the port did not enter the secure state (the stream stays marked enabled, so
    /// that dropping it clears the enable bit), `EINVAL` if `partner` is not set up.
    pub fn enable(&mut self, partner: Partner) -> Result {
        if self.raw().partner[partner.index()].setup() == 0 {
            return Err(EINVAL);
        }
        let port = self.port(partner)?;
        // SAFETY: As for `setup`.
        to_result(unsafe { bindings::pci_ide_stream_enable(port.as_raw(), self.ide.as_ptr()) })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `ide` is owned by `self` and released only here; its
        // Endpoint is still on the bus (see the type documentation).
        unsafe { bindings::pci_ide_stream_release(self.ide.as_ptr()) }
    }
}
