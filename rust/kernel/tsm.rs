// SPDX-License-Identifier: GPL-2.0

//! TEE Security Managers (TSMs): their class devices and the backend interface.
//!
//! A TSM backend (AMD SEV-TIO, Intel TDX Connect, RISC-V CoVE-IO, the emulated platform, ...)
//! implements [`LinkTsm`] (host side: SPDM session, IDE, TDI binding) or [`DevsecTsm`] (guest
//! side: TDI lock/unlock) and registers with [`Registration`], which calls the C ABI
//! `tsm_register()`. Whichever PCI/TSM core the kernel is built with (upstream's C one or
//! tsm-rs' Rust one) provides that ABI, so a backend builds and runs unchanged on both.
//!
//! C headers: [`include/linux/tsm.h`](srctree/include/linux/tsm.h),
//! [`include/linux/pci-tsm.h`](srctree/include/linux/pci-tsm.h)

mod adapters;
mod backend;
pub mod context;
mod device;
#[cfg(all(CONFIG_CRYPTO_LIB_SHA256 = "y", CONFIG_CRYPTO_LIB_SHA512 = "y"))]
pub mod evidence;
mod library;
#[cfg(CONFIG_X86)]
pub mod psp;
mod registration;
#[cfg(CONFIG_RISCV)]
pub mod sbi;
#[cfg(CONFIG_X86_64)]
pub mod seamcall;

pub use backend::{DevsecTsm, GuestRequest, LinkTsm, RequestScope, VmHandle};
pub use device::{NewTsmDevice, PciTsmOps, Personality, TsmDevice};
pub use library::{bind, connect_mode, doe_transfer, guest_req, unbind, ConnectMode};
pub use registration::Registration;
