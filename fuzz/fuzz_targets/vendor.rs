// SPDX-License-Identifier: GPL-2.0
//! SEV-TIO, TDX Connect and CoVE-IO buffer and status decoders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto::vendor::{cove_io, sev_tio, tdx_connect};
use tsm_proto::wire::{Reader, Writer};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    // 0xD0..=0xD8: the buffers 7.3 defines (0xD6 has none and must fail).
    let id = sev_tio::cmd::TIO_STATUS + u32::from(selector % 9);
    if let Ok(c) = sev_tio::Command::decode(id, rest) {
        let mut out = vec![0u8; c.len()];
        c.write(&mut Writer::new(&mut out))
            .expect("decoded commands re-encode");
        assert_eq!(sev_tio::Command::decode(id, &out), Ok(c));
    }
    if let Ok(status) = sev_tio::TioStatus::decode(rest) {
        // Re-encoded as 7.3's 64-byte structure, it decodes to the same
        // fields with length 64.
        let mut out = [0u8; sev_tio::TIO_STATUS_LEN];
        status
            .write(&mut Writer::new(&mut out))
            .expect("the status re-encodes");
        assert_eq!(
            sev_tio::TioStatus::decode(&out),
            Ok(sev_tio::TioStatus {
                length: sev_tio::TIO_STATUS_LEN as u32,
                ..status
            })
        );
    }
    if let Ok(h) = sev_tio::SlaBufferHeader::read(&mut Reader::new(rest)) {
        let mut out = [0u8; sev_tio::SLA_BUFFER_HEADER_LEN];
        h.write(&mut Writer::new(&mut out))
            .expect("the header re-encodes");
        assert_eq!(
            sev_tio::SlaBufferHeader::read(&mut Reader::new(&out)),
            Ok(h)
        );
    }
    if let Ok((h, payload)) = sev_tio::SpdmDataObjectHeader::split(rest) {
        assert_eq!(payload.len() + sev_tio::DOBJ_HEADER_LEN, h.length as usize);
        let _ = h.doe_type();
    }
    let mut r = Reader::new(rest);
    if let (Ok(a), Ok(b)) = (r.u64(), r.u32()) {
        assert_eq!(sev_tio::Status::from_raw(b).raw(), b);
        let status = tdx_connect::Status(a);
        if status.class() != tdx_connect::StatusClass::Other {
            assert_eq!(
                tdx_connect::Status::new(status.class(), status.detail()),
                status
            );
        }
        let hpa = tdx_connect::HpaArray::from_raw(a);
        assert_eq!(hpa.raw().map(tdx_connect::HpaArray::from_raw), Ok(hpa));
        assert_eq!(cove_io::SbiError::from_raw(a as i64).raw(), a as i64);
        let sla = sev_tio::SlaAddr::from_raw(a);
        assert_eq!(sla.raw().map(sev_tio::SlaAddr::from_raw), Ok(sla));
    }
    if let Ok(d) = cove_io::IdeStreamDesc::decode(rest) {
        // Reserved bytes are zeroed on encode, so compare decoded values.
        let mut out = vec![0u8; rest.len()];
        d.write(&mut Writer::new(&mut out))
            .expect("descriptor re-encodes");
        assert_eq!(cove_io::IdeStreamDesc::decode(&out), Ok(d));
    }
    if let Ok(p) = cove_io::PendingRequest::decode(rest) {
        let _ = p.doe_type();
    }
});
