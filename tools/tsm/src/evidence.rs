// SPDX-License-Identifier: GPL-2.0
//! The evidence objects of the `pci-tsm` family
//! (`Documentation/netlink/specs/pci-tsm.yaml`), the files `tsm evidence
//! --out DIR` writes, and the reassembly of an `evidence-read` dump.
//!
//! Files: one per non-empty object, named after its type with `.bin`
//! (`cert0.bin` .. `cert7.bin`, `vca.bin`, `measurements.bin`,
//! `report.bin`), holding exactly the object's bytes; `nonce.hex` holds the
//! nonce the read asked for, if any (for the operator's records: `tsm
//! verify --evidence` takes the nonce from `--nonce`, never from the
//! directory it checks).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use crate::nl::TYPE_NAMES;

/// Evidence type numbers (`evidence-type` of the spec).
pub mod kind {
    /// Certificate chain of slot 0 (slot N is `CERT0 + N`).
    pub const CERT0: u32 = 0;
    /// The VCA transcript.
    pub const VCA: u32 = 8;
    /// GET_MEASUREMENTS / MEASUREMENTS pairs, the last one signed.
    pub const MEASUREMENTS: u32 = 9;
    /// The TDISP interface report.
    pub const REPORT: u32 = 10;
}

/// The name of evidence type `t` (`cert0`, `vca`, ...).
pub fn type_name(t: u32) -> Option<&'static str> {
    TYPE_NAMES.get(usize::try_from(t).ok()?).copied()
}

/// The evidence type called `name`.
pub fn type_by_name(name: &str) -> Option<u32> {
    TYPE_NAMES
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u32::try_from(i).ok())
}

/// Every evidence type, as a `type-mask`.
pub const ALL_TYPES: u32 = (1 << TYPE_NAMES.len()) - 1;

/// Parses a comma-separated list of type names (`all`, `certs` = every
/// slot) into a `type-mask`.
pub fn parse_types(list: &str) -> Result<u32, String> {
    let mut mask = 0;
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        mask |= match name {
            "all" => ALL_TYPES,
            "certs" => 0xFF,
            _ => {
                1 << type_by_name(name).ok_or_else(|| {
                    format!(
                        "unknown evidence type {name:?} (known: {}, all, certs)",
                        TYPE_NAMES.join(", ")
                    )
                })?
            }
        };
    }
    if mask == 0 {
        return Err("no evidence type given".into());
    }
    Ok(mask)
}

/// Evidence objects by type; an object the TSM does not have is absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Object bytes by evidence type.
    pub objects: BTreeMap<u32, Vec<u8>>,
}

impl Evidence {
    /// The object of type `t`, if present and non-empty.
    pub fn get(&self, t: u32) -> Option<&[u8]> {
        self.objects
            .get(&t)
            .map(Vec::as_slice)
            .filter(|o| !o.is_empty())
    }

    /// `{"objects": [{"type": NAME, "len": N, "data": HEX}, ...]}`, in type
    /// order, empty objects included (the TSM has none of that type).
    pub fn to_json(&self) -> serde_json::Value {
        let objects: Vec<_> = self
            .objects
            .iter()
            .map(|(t, bytes)| {
                serde_json::json!({
                    "type": type_name(*t),
                    "len": bytes.len(),
                    "data": crate::hex(bytes),
                })
            })
            .collect();
        serde_json::json!({ "objects": objects })
    }

    /// Writes one file per non-empty object into `dir` (created if
    /// needed), and `nonce.hex` if `nonce` is given.
    pub fn write_dir(&self, dir: &Path, nonce: Option<&[u8]>) -> io::Result<Vec<String>> {
        self.write_dir_as(dir, nonce, "bin")
    }

    /// [`Self::write_dir`] with another file extension (`digest` for the
    /// TSM's digests, which `read_dir` does not take for objects).
    pub fn write_dir_as(
        &self,
        dir: &Path,
        nonce: Option<&[u8]>,
        ext: &str,
    ) -> io::Result<Vec<String>> {
        fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for (t, bytes) in &self.objects {
            let Some(name) = type_name(*t) else { continue };
            if bytes.is_empty() {
                continue;
            }
            let file = format!("{name}.{ext}");
            fs::write(dir.join(&file), bytes)?;
            written.push(file);
        }
        if let Some(nonce) = nonce {
            fs::write(dir.join("nonce.hex"), format!("{}\n", crate::hex(nonce)))?;
            written.push("nonce.hex".into());
        }
        Ok(written)
    }

    /// Reads what [`Self::write_dir`] wrote; missing files are absent
    /// objects. Fails if `dir` is not a readable directory.
    pub fn read_dir(dir: &Path) -> io::Result<Self> {
        if !fs::metadata(dir)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", dir.display()),
            ));
        }
        let mut objects = BTreeMap::new();
        for (t, name) in TYPE_NAMES.iter().enumerate() {
            match fs::read(dir.join(format!("{name}.bin"))) {
                Ok(bytes) => {
                    objects.insert(t as u32, bytes);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Self { objects })
    }
}

/// One message of an `evidence-read` dump: the attributes that matter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpMessage {
    /// `type`: present in the first message of an object.
    pub kind: Option<u32>,
    /// `val`: the next chunk of the current object.
    pub val: Option<Vec<u8>>,
}

/// Rebuilds the objects of a dump: a message with `type` starts an
/// object, `val` chunks are appended to the object last started.
pub fn reassemble(messages: impl IntoIterator<Item = DumpMessage>) -> Result<Evidence, String> {
    let mut evidence = Evidence::default();
    let mut current = None;
    for m in messages {
        if let Some(t) = m.kind {
            if type_name(t).is_none() {
                return Err(format!("the kernel sent unknown evidence type {t}"));
            }
            if evidence.objects.insert(t, Vec::new()).is_some() {
                return Err(format!("the kernel sent evidence type {t} twice"));
            }
            current = Some(t);
        }
        if let Some(val) = m.val {
            let t = current.ok_or("the kernel sent a value before any type")?;
            let object = evidence.objects.entry(t).or_default();
            if object.len() + val.len() > crate::nl::MAX_OBJECT_SIZE {
                return Err(format!(
                    "evidence object {} exceeds the maximum object size",
                    type_name(t).unwrap_or("?")
                ));
            }
            object.extend_from_slice(&val);
        }
    }
    Ok(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: Option<u32>, val: Option<&[u8]>) -> DumpMessage {
        DumpMessage {
            kind,
            val: val.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn names_and_masks() {
        assert_eq!(type_name(kind::CERT0), Some("cert0"));
        assert_eq!(type_name(kind::VCA), Some("vca"));
        assert_eq!(type_name(kind::MEASUREMENTS), Some("measurements"));
        assert_eq!(type_name(kind::REPORT), Some("report"));
        assert_eq!(type_name(11), None);
        assert_eq!(ALL_TYPES, 0x7FF);
        assert_eq!(parse_types("cert0,vca,measurements"), Ok(0x301));
        assert_eq!(parse_types("certs"), Ok(0xFF));
        assert_eq!(parse_types("all"), Ok(0x7FF));
        assert_eq!(parse_types("report"), Ok(0x400));
        assert!(parse_types("cert8").is_err());
        assert!(parse_types("").is_err());
    }

    #[test]
    fn chunks_are_joined_per_object() {
        let e = reassemble([
            msg(Some(0), Some(b"ab")),
            msg(None, Some(b"cd")),
            msg(Some(8), Some(b"")),
            msg(Some(9), Some(b"x")),
            msg(None, Some(b"y")),
        ])
        .unwrap();
        assert_eq!(e.get(0), Some(&b"abcd"[..]));
        assert_eq!(e.get(8), None, "empty object: the TSM has none");
        assert!(e.objects.contains_key(&8));
        assert_eq!(e.get(9), Some(&b"xy"[..]));
    }

    #[test]
    fn json_lists_every_object() {
        let e = reassemble([msg(Some(0), Some(b"\x01\x02")), msg(Some(10), Some(b""))]).unwrap();
        assert_eq!(
            e.to_json(),
            serde_json::json!({"objects": [
                {"type": "cert0", "len": 2, "data": "0102"},
                {"type": "report", "len": 0, "data": ""},
            ]})
        );
    }

    #[test]
    fn malformed_dumps_are_refused() {
        assert!(reassemble([msg(None, Some(b"x"))]).is_err());
        assert!(reassemble([msg(Some(11), None)]).is_err());
        assert!(reassemble([msg(Some(1), None), msg(Some(1), None)]).is_err());
    }

    #[test]
    fn directory_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Evidence::default();
        e.objects.insert(0, b"chain".to_vec());
        e.objects.insert(9, b"meas".to_vec());
        e.objects.insert(10, Vec::new());
        let files = e.write_dir(dir.path(), Some(&[1, 2])).unwrap();
        assert_eq!(files, ["cert0.bin", "measurements.bin", "nonce.hex"]);
        let back = Evidence::read_dir(dir.path()).unwrap();
        assert_eq!(back.get(0), Some(&b"chain"[..]));
        assert_eq!(back.get(9), Some(&b"meas"[..]));
        assert_eq!(back.objects.len(), 2);
        assert!(Evidence::read_dir(&dir.path().join("missing")).is_err());
    }
}
