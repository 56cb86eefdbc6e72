#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Packs the Wycheproof JSON files the KUnit suite spdm_wycheproof runs into one binary blob.

usage: wycheproof_pack.py VECTOR_DIR OUT

VECTOR_DIR is ../shared/vectors/wycheproof (next to the repository); OUT goes to the cache,
never into the repository.  The kernel loads it as the firmware file tsm-rs/wycheproof.bin
(drivers/virt/coco/tsm/crypto_test/wycheproof.rs parses it).

Format, all integers little endian:

    blob   := magic "TSMWYCH1" (8 bytes), u32 record count, record * count
    record := u8 kind, u8 result, u8 field count, u8 0, u32 tcId, u32 param,
              field * field count
    field  := u32 length, the bytes (a hex field of the JSON file, decoded)

A FILE record (kind 0) starts the cases of one JSON file: result is the kind of its cases,
param its numberOfTests, tcId 0, one field: the file name.  Every case of the file follows,
in file order, one record each; result is 0 valid, 1 invalid, 2 acceptable.

    kind  file                                    param             fields
    1, 2  hmac_sha256_test, hmac_sha384_test      tag size, bytes   key, msg, tag
    3, 4  hkdf_sha256_test, hkdf_sha384_test      output size       ikm, salt, info, okm
    5     aes_gcm_test                            0                 key, iv, aad, msg, ct, tag
    6, 7  ecdh_secp256r1_ecpoint_test, ..384..    0                 public, private, shared
    8, 9  ecdsa_secp256r1_sha256_p1363_test,      test group index  public key (SEC 1
          ecdsa_secp384r1_sha384_p1363_test                         uncompressed), msg, sig
"""

import json
import os
import struct
import sys

MAGIC = b"TSMWYCH1"
RESULTS = {"valid": 0, "invalid": 1, "acceptable": 2}

HMAC = ("key", "msg", "tag")
HKDF = ("ikm", "salt", "info", "okm")
GCM = ("key", "iv", "aad", "msg", "ct", "tag")
ECDH = ("public", "private", "shared")

# (file, kind, case fields, param of a case from its group and test)
FILES = [
    ("hmac_sha256_test.json", 1, HMAC, lambda g, t, i: g["tagSize"] // 8),
    ("hmac_sha384_test.json", 2, HMAC, lambda g, t, i: g["tagSize"] // 8),
    ("hkdf_sha256_test.json", 3, HKDF, lambda g, t, i: t["size"]),
    ("hkdf_sha384_test.json", 4, HKDF, lambda g, t, i: t["size"]),
    ("aes_gcm_test.json", 5, GCM, lambda g, t, i: 0),
    ("ecdh_secp256r1_ecpoint_test.json", 6, ECDH, lambda g, t, i: 0),
    ("ecdh_secp384r1_ecpoint_test.json", 7, ECDH, lambda g, t, i: 0),
    ("ecdsa_secp256r1_sha256_p1363_test.json", 8, None, lambda g, t, i: i),
    ("ecdsa_secp384r1_sha384_p1363_test.json", 9, None, lambda g, t, i: i),
]


def record(kind, result, tc_id, param, fields):
    out = struct.pack("<BBBBII", kind, result, len(fields), 0, tc_id, param)
    for f in fields:
        out += struct.pack("<I", len(f)) + f
    return out


def pack(vector_dir):
    records = []
    for name, kind, names, param in FILES:
        with open(os.path.join(vector_dir, name), encoding="utf-8") as f:
            data = json.load(f)
        cases = []
        for index, group in enumerate(data["testGroups"]):
            for test in group["tests"]:
                if names is None:
                    pub = bytes.fromhex(group["publicKey"]["uncompressed"])
                    fields = [pub, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])]
                else:
                    fields = [bytes.fromhex(test[n]) for n in names]
                cases.append(record(kind, RESULTS[test["result"]], test["tcId"],
                                    param(group, test, index), fields))
        if len(cases) != data["numberOfTests"]:
            sys.exit(f"{name}: {len(cases)} cases, numberOfTests {data['numberOfTests']}")
        records.append(record(0, kind, 0, len(cases), [name.encode()]))
        records.extend(cases)
    return MAGIC + struct.pack("<I", len(records)) + b"".join(records)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    blob = pack(sys.argv[1])
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, sys.argv[2])
    print(f"{sys.argv[2]}: {len(blob)} bytes, {len(FILES)} files")


if __name__ == "__main__":
    main()
