// SPDX-License-Identifier: GPL-2.0
//! Platform firmware interfaces through which the kernel relays DOE
//! objects: typed encoders/decoders of command buffers, call arguments and
//! status codes.
//!
//! Each item says where its layout comes from. Anything taken from an
//! unmerged patch series or a pre-release document is marked
//! **not confirmed** and must be checked against the vendor specification.

pub mod cove_io;
pub mod sev_tio;
pub mod tdx_connect;
