// SPDX-License-Identifier: GPL-2.0
//! Protocol code shared by the tsm-rs kernel crates and host tools.
//!
//! Everything here is `no_std`, allocation-free and panic-free on any input:
//! parsers borrow from the caller's byte slice, encoders write into the
//! caller's buffer, and every failure is an explicit error value.
//!
//! - [`wire`]: little-endian reader/writer and the codec error type.
//! - [`doe`]: PCIe Data Object Exchange framing and discovery.
//! - [`spdm`]: DMTF SPDM 1.2/1.3 messages, transcripts, key schedule, DSP0277 1.1/1.2
//!   secured messages, requester and responder.
//! - [`ide_km`]: PCIe IDE key management (SPDM vendor-defined protocol 0).
//! - [`tdisp`]: PCIe TDISP 1.0 messages and the TDI state machine (SPDM vendor-defined
//!   protocol 1).
//! - [`vendor`]: platform firmware interfaces: AMD SEV-TIO, Intel TDX Connect, RISC-V CoVE-IO.
//!
//! The crate depends on nothing but `core`. The kernel builds it as the crate
//! `tsm_proto` (`CONFIG_RUST_TSM_PROTO`, linked into vmlinux); host tools and
//! tests use it as the Cargo package `tsm-proto`, under the same crate name.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod doe;
pub mod ide_km;
pub mod spdm;
pub mod tdisp;
pub mod vendor;
pub mod wire;
