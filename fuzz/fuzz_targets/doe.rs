// SPDX-License-Identifier: GPL-2.0
//! DOE object, header and discovery parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsm_proto::doe;
use tsm_proto::wire::Reader;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, payload)) = doe::decode_object(data) {
        assert_eq!(header.len_bytes(), data.len());
        assert_eq!(payload.len() + doe::HEADER_LEN, data.len());
        // Re-framing the payload reproduces the object (it is dword sized).
        let mut out = vec![0u8; data.len()];
        let len = doe::encode_object(header.vendor_id, header.object_type, payload, &mut out);
        assert_eq!(len.ok(), Some(data.len()));
        assert_eq!(&out[8..], payload);
    }
    let _ = doe::DiscoveryRequest::read(&mut Reader::new(data));
    let _ = doe::DiscoveryResponse::read(&mut Reader::new(data));
});
