// SPDX-License-Identifier: GPL-2.0
//! The sysfs side (Linux 7.3 ABI, `Documentation/ABI/testing/sysfs-bus-pci`
//! and `sysfs-class-tsm`): TSM devices under `class/tsm`, PCI devices with
//! a `tsm/` directory, and connect/disconnect through `tsm/connect` and
//! `tsm/disconnect`. Every path is relative to a root (`/sys`, or a fake
//! tree in tests).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One TSM (`class/tsm/tsmN`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tsm {
    /// `tsmN`.
    pub name: String,
    /// The device that provides it (the `device` link's target name, e.g.
    /// `pci_cma` or `0000:00:18.2`), if linked.
    pub provider: Option<String>,
    /// `link` (manages device connections: SPDM, IDE), `devsec` (device
    /// security of assigned functions, in a guest), or `unknown`.
    /// 7.3 does not expose it: it is the `personality` attribute if one
    /// exists, else `link` when a device is connected through this TSM or
    /// when it is the only TSM and a device has `tsm/connect` (7.3 shows
    /// that attribute only while a link TSM is registered).
    pub personality: String,
}

/// One PCI function with a `tsm/` directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    /// PCI device name, e.g. `0000:01:00.0`.
    pub name: String,
    /// `tsm/connect`: the connected TSM, if any.
    pub connect: Option<String>,
    /// `tsm/dsm`: the function's DSM, if reported.
    pub dsm: Option<String>,
    /// `tsm/bound`: the TSM the function's TDI is bound through, if any
    /// (`None` also when the attribute is absent: no TDISP).
    pub bound: Option<String>,
    /// `authenticated`: the TSM whose evidence is ready, if any.
    pub authenticated: Option<String>,
}

/// What `tsm list` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// TSMs, by name.
    pub tsms: Vec<Tsm>,
    /// Devices with `tsm/`, by name.
    pub devices: Vec<Device>,
}

/// A sysfs tree rooted at `root` (normally `/sys`).
#[derive(Clone, Debug)]
pub struct Sysfs {
    root: PathBuf,
}

/// Why a connect or disconnect failed.
#[derive(Debug)]
pub enum SysfsError {
    /// Bad input or a missing object: the operator's mistake (exit 2).
    Usage(String),
    /// The kernel refused the write (exit 1).
    Refused(String),
    /// Reading sysfs failed (exit 2).
    Io(String),
}

impl std::fmt::Display for SysfsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SysfsError::Usage(s) | SysfsError::Refused(s) | SysfsError::Io(s) => f.write_str(s),
        }
    }
}

/// The first line of a sysfs attribute, `None` if absent or empty.
fn read_attr(path: &Path) -> Option<String> {
    let s = fs::read_to_string(path).ok()?;
    let s = s.lines().next().unwrap_or("").trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn sorted_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    names.sort();
    Ok(names)
}

/// A PCI device name: `DDDD:BB:DD.F` (hex digits), nothing that can climb
/// out of the devices directory.
fn valid_device_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 12
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b':',
            10 => *c == b'.',
            _ => c.is_ascii_hexdigit(),
        })
}

impl Sysfs {
    /// The tree under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn class_tsm(&self) -> PathBuf {
        self.root.join("class/tsm")
    }

    fn devices(&self) -> PathBuf {
        self.root.join("bus/pci/devices")
    }

    /// The TSM names under `class/tsm`.
    pub fn tsm_names(&self) -> io::Result<Vec<String>> {
        sorted_names(&self.class_tsm())
    }

    /// Everything `tsm list` shows.
    pub fn list(&self) -> io::Result<Listing> {
        let mut devices = Vec::new();
        for name in sorted_names(&self.devices())? {
            let dev = self.devices().join(&name);
            if !dev.join("tsm").is_dir() {
                continue;
            }
            devices.push(Device {
                connect: read_attr(&dev.join("tsm/connect")),
                dsm: read_attr(&dev.join("tsm/dsm")),
                bound: read_attr(&dev.join("tsm/bound")),
                authenticated: read_attr(&dev.join("authenticated")),
                name,
            });
        }
        let mut tsms = Vec::new();
        let names = self.tsm_names()?;
        let only_one = names.len() == 1;
        let any_connect = devices
            .iter()
            .any(|d| self.devices().join(&d.name).join("tsm/connect").exists());
        for name in names {
            let dir = self.class_tsm().join(&name);
            let provider = fs::read_link(dir.join("device"))
                .ok()
                .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()));
            let personality = read_attr(&dir.join("personality")).unwrap_or_else(|| {
                if devices.iter().any(|d| d.connect.as_deref() == Some(&name))
                    || (only_one && any_connect)
                {
                    "link".into()
                } else {
                    "unknown".into()
                }
            });
            tsms.push(Tsm {
                name,
                provider,
                personality,
            });
        }
        Ok(Listing { tsms, devices })
    }

    /// The `tsm/` directory of `device`, checked.
    fn tsm_dir(&self, device: &str) -> Result<PathBuf, SysfsError> {
        if !valid_device_name(device) {
            return Err(SysfsError::Usage(format!(
                "{device:?} is not a PCI device name (DDDD:BB:DD.F)"
            )));
        }
        let dev = self.devices().join(device);
        if !dev.exists() {
            return Err(SysfsError::Usage(format!("no PCI device {device}")));
        }
        let dir = dev.join("tsm");
        if !dir.is_dir() {
            return Err(SysfsError::Usage(format!(
                "{device} has no tsm/ directory: no TSM can secure it (or none is loaded yet)"
            )));
        }
        Ok(dir)
    }

    /// The TSM to connect through: `tsm` if given (it must exist), else
    /// the only one there is.
    pub fn pick_tsm(&self, tsm: Option<&str>) -> Result<String, SysfsError> {
        let names = self
            .tsm_names()
            .map_err(|e| SysfsError::Io(format!("{}: {e}", self.class_tsm().display())))?;
        match tsm {
            Some(t) if names.iter().any(|n| n == t) => Ok(t.to_string()),
            Some(t) => Err(SysfsError::Usage(format!(
                "no TSM {t:?} (present: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))),
            None => match names.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(SysfsError::Usage("no TSM is registered".into())),
                more => Err(SysfsError::Usage(format!(
                    "several TSMs ({}): name one",
                    more.join(", ")
                ))),
            },
        }
    }

    /// Connects `device` through `tsm` (or the only TSM); returns the TSM.
    pub fn connect(&self, device: &str, tsm: Option<&str>) -> Result<String, SysfsError> {
        let dir = self.tsm_dir(device)?;
        let tsm = self.pick_tsm(tsm)?;
        if let Some(current) = read_attr(&dir.join("connect")) {
            if current == tsm {
                return Ok(tsm);
            }
            return Err(SysfsError::Refused(format!(
                "{device} is already connected through {current}; disconnect it first"
            )));
        }
        write_attr(&dir.join("connect"), &tsm)
            .map_err(|e| SysfsError::Refused(format!("connect {device} through {tsm}: {e}")))?;
        Ok(tsm)
    }

    /// Disconnects `device`; returns the TSM it was connected through, or
    /// `None` if it was not connected.
    pub fn disconnect(&self, device: &str) -> Result<Option<String>, SysfsError> {
        let dir = self.tsm_dir(device)?;
        let Some(current) = read_attr(&dir.join("connect")) else {
            return Ok(None);
        };
        write_attr(&dir.join("disconnect"), &current)
            .map_err(|e| SysfsError::Refused(format!("disconnect {device}: {e}")))?;
        Ok(Some(current))
    }
}

/// Writes `value` to an existing attribute in one write(2), as sysfs wants.
fn write_attr(path: &Path, value: &str) -> io::Result<()> {
    use std::io::Write;
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names() {
        assert!(valid_device_name("0000:01:00.0"));
        assert!(valid_device_name("10ab:ff:1f.7"));
        assert!(!valid_device_name("../../../etc"));
        assert!(!valid_device_name("0000:01:00.0/"));
        assert!(!valid_device_name("0000-01:00.0"));
    }
}
