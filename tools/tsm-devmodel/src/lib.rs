// SPDX-License-Identifier: GPL-2.0
//! tsm-devmodel: a user-space PCIe device that speaks what a TDISP-capable
//! device speaks, with real cryptography: an SPDM 1.2/1.3 responder
//! (certificates, CHALLENGE, signed MEASUREMENTS, KEY_EXCHANGE/FINISH,
//! secured messages), IDE_KM and TDISP responders, built on `tsm-proto`'s
//! state machines and RustCrypto.
//!
//! | module | contents |
//! |---|---|
//! | [`crypto`] | [`crypto::ModelCrypto`], the `SpdmCrypto` provider |
//! | [`certs`] | root -> intermediate -> leaf generation, PEM files, SPDM chain format and validation |
//! | [`faults`] | fault injection specs |
//! | [`model`] | [`model::Profile`] (what the device is) and [`model::Model`] (a running device) |
//! | [`transport`] | QEMU spdm-socket framing over any byte stream, and the serve loops |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod certs;
pub mod crypto;
pub mod faults;
pub mod model;
pub mod transport;
