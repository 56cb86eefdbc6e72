// SPDX-License-Identifier: GPL-2.0
//! Protocol code shared by the tsm-rs kernel crates and host tools.
#![no_std]
