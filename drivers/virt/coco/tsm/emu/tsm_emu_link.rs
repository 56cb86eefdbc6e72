// SPDX-License-Identifier: GPL-2.0

//! Emulated link TSM backend.
//!
//! Registers a link TSM below a faux device named `tsm_emu_link`. It manages only functions of
//! the emulated TDISP platform; until that platform's host bridge is loaded there are none, and
//! it declines every device it is asked to probe.

use kernel::{
    faux,
    pci,
    prelude::*,
    tsm::{self, LinkTsm, TsmDevice}, //
};

module! {
    type: EmuLinkModule,
    name: "tsm_emu_link",
    authors: ["tsm-rs developers"],
    description: "Emulated link TSM backend for tsm-rs tests and demo",
    license: "GPL",
}

struct EmuLinkModule {
    // Fields drop in declaration order: the TSM goes before the device it hangs from.
    _tsm: tsm::Registration,
    _parent: faux::Registration,
}

impl kernel::Module for EmuLinkModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let parent = faux::Registration::new(c"tsm_emu_link", None)?;
        let tsm = tsm::Registration::new_link::<EmuLink>(parent.as_ref().as_ref())?;
        Ok(Self {
            _tsm: tsm,
            _parent: parent,
        })
    }
}

struct EmuLink;

#[vtable]
impl LinkTsm for EmuLink {
    type Function = ();
    type Tdi = ();

    fn probe(_tsm: &TsmDevice, _pdev: &pci::Device, _dsm: bool) -> Result<Option<()>> {
        // No emulated function exists yet: decline, as for any foreign device.
        Ok(None)
    }

    fn connect(_pdev: &pci::Device, _function: &()) -> Result {
        Err(ENXIO)
    }

    fn disconnect(_pdev: &pci::Device, _function: &()) {}
}
