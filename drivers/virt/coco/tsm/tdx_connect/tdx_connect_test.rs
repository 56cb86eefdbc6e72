// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `tdx_connect`: the TDX Connect backend's leaves against the firmware model of the
//! emulated platform (`../emu/tdx_connect_model.rs`), from the same files as `tsm_tdx_connect`:
//! the sizes the backend reads, HPA_ARRAY_T pages, the status of every malformed call, pages
//! the module did not hand out or owns, pages unknown to the module once returned, the errno
//! of each status class, and injected faults.
//!
//! What needs a device (TDH.SPDM.CREATE of a device of the platform, the DOE relay of
//! TDH.SPDM.CONNECT and everything after it, and the rollback of each failure there) runs in
//! the e2e suite `tsm_e2e_backends` against the device model, which KUnit's boot does not
//! start.

use kernel::prelude::*;

#[path = "commands.rs"]
mod commands;
#[path = "firmware.rs"]
#[allow(dead_code)]
mod firmware;
#[path = "../emu/fw_job.rs"]
#[allow(dead_code)]
mod fw_job;
#[path = "../emu/tdx_connect_model.rs"]
#[allow(dead_code)]
mod model;
#[path = "../emu/platform_fw.rs"]
#[allow(dead_code)]
mod platform_fw;

module! {
    type: TdxConnectTest,
    name: "tdx_connect_test",
    authors: ["tsm-rs developers"],
    description: "KUnit tests of the TDX Connect backend against its firmware model",
    license: "GPL",
}

struct TdxConnectTest;

impl kernel::Module for TdxConnectTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(tdx_connect)]
mod tests {
    use super::commands::{call, status_errno, write_spdm_config, PageArray, PAGE};
    use super::firmware::{Firmware, ModelFirmware, Page, Seam};
    use super::model::{Faults, Model};
    use kernel::{pci, prelude::*};
    use tsm_proto::vendor::tdx_connect::{
        func_id, leaf, operand, stream_info, Args, HpaArray, SpdmMngOp, Status, StatusClass,
        StreamKmOp, NO_PAGE,
    };

    /// An SPDM object ID the model has not handed out (its first is 1).
    const NO_OBJECT: u64 = 1;

    fn firmware(faults: Faults) -> ModelFirmware {
        ModelFirmware(Model::new(faults).unwrap())
    }

    /// Issues `args` once; its status.
    fn status(fw: &dyn Firmware, args: Args) -> Status {
        call(fw, args).unwrap().0
    }

    fn invalid(op: u32) -> Status {
        Status::new(StatusClass::OperandInvalid, op)
    }

    fn bad_page(op: u32) -> Status {
        Status::new(StatusClass::PageMetadataIncorrect, op)
    }

    fn pa(page: &dyn Page) -> u64 {
        page.pfn() << 12
    }

    /// The host's pages of a session leaf, as the backend allocates them.
    struct Pages {
        conf: KBox<dyn Page>,
        rsp: KBox<dyn Page>,
        req: KBox<dyn Page>,
        param: KBox<dyn Page>,
        dev_info: PageArray,
    }

    impl Pages {
        fn new(fw: &dyn Firmware) -> Self {
            let mut conf = fw.alloc().unwrap();
            write_spdm_config(&mut *conf).unwrap();
            Self {
                conf,
                rsp: fw.alloc().unwrap(),
                req: fw.alloc().unwrap(),
                param: fw.alloc().unwrap(),
                dev_info: PageArray::new(fw, fw.info().unwrap().dev_info_pages).unwrap(),
            }
        }

        fn connect(&self, spdm_id: u64) -> Args {
            Args::spdm_connect(
                spdm_id,
                pa(&*self.conf),
                pa(&*self.rsp),
                pa(&*self.req),
                self.dev_info.hpa(),
            )
            .unwrap()
        }

        fn mng(&self, spdm_id: u64, op: SpdmMngOp) -> Args {
            let (param, out) = match op {
                SpdmMngOp::DevInfoRecollect => (pa(&*self.param), self.dev_info.raw().unwrap()),
                _ => (NO_PAGE, NO_PAGE),
            };
            Args::spdm_mng(spdm_id, op, param, pa(&*self.rsp), pa(&*self.req), out)
        }

        fn km(&self, spdm_id: u64, op: StreamKmOp) -> Args {
            Args::ide_stream_km(spdm_id, 0, op, pa(&*self.rsp), pa(&*self.req))
        }
    }

    fn stream_create(info: u64, spdm_id: u64, mt: HpaArray, ctrl: u32) -> Args {
        Args::ide_stream_create(info, spdm_id, mt, ctrl, [0, 0], [0; 3]).unwrap()
    }

    #[test]
    fn the_sizes_the_backend_reads_and_its_page_arrays() {
        // SEAMCALL: 7.3 has no TDX Module Extension, so the module does not load.
        assert_eq!(Seam.info().err(), Some(ENODEV));
        let fw = firmware(Faults::default());
        let info = fw.info().unwrap();
        let sizes = (
            info.spdm_mt_pages,
            info.dev_info_pages,
            info.stream_mt_pages,
        );
        assert_eq!(sizes, (2, 8, 1));
        // One page is named itself (count - 1 = 0 in bits 63:55).
        let one = PageArray::new(&fw, info.stream_mt_pages).unwrap();
        assert_eq!(one.hpa().count, 1);
        assert_eq!(one.raw(), Ok(one.root_pa()));
        assert_eq!(PageArray::new(&fw, 0).unwrap().hpa().count, 1);
        // More are listed in a root page, which the model reads: all are the host's pages.
        let many = PageArray::new(&fw, info.dev_info_pages).unwrap();
        assert_eq!(many.hpa().count, 8);
        assert_eq!(many.raw(), Ok(many.root_pa() | (7 << 55)));
        assert_ne!(many.root_pa(), one.root_pa());
        let read = many.read(8 * PAGE).unwrap();
        assert_eq!(read.len(), 8 * PAGE);
        assert!(read.iter().all(|&b| b == 0));
        assert_eq!(many.read(8 * PAGE + 1).err(), Some(EPROTO));
        let pages = Pages::new(&fw);
        let mut connect = pages.connect(NO_OBJECT);
        connect.r10 = many.raw().unwrap();
        assert_eq!(status(&fw, connect), invalid(operand::RCX));
    }

    #[test]
    fn malformed_calls() {
        let fw = firmware(Faults::default());
        let pages = Pages::new(&fw);
        // No leaf, one the model does not run (TDH.IOMMU.SETUP), and one that does not exist.
        for l in [0, leaf::IOMMU_SETUP, 0xffff] {
            let args = Args {
                leaf: l,
                ..Args::default()
            };
            assert_eq!(status(&fw, args), invalid(0));
        }
        let mt = PageArray::new(&fw, 2).unwrap();
        let create = Args::spdm_create(1 << 25, mt.hpa()).unwrap();
        assert_eq!(status(&fw, create), invalid(operand::RCX));

        // TDH.SPDM.CONNECT: a configuration page not page-aligned, or without slot 0.
        let mut connect = pages.connect(NO_OBJECT);
        connect.rdx += 8;
        assert_eq!(status(&fw, connect), invalid(operand::RDX));
        let blank = fw.alloc().unwrap();
        connect.rdx = pa(&*blank);
        assert_eq!(status(&fw, connect), invalid(operand::RDX));
        // More DEV_INFO pages than the module takes.
        let nine = PageArray::new(&fw, 9).unwrap();
        let mut connect = pages.connect(NO_OBJECT);
        connect.r10 = nine.raw().unwrap();
        assert_eq!(status(&fw, connect), invalid(operand::R10));

        // DEV_INFO_RECOLLECT without output pages.
        let mut recollect = pages.mng(NO_OBJECT, SpdmMngOp::DevInfoRecollect);
        recollect.r11 = NO_PAGE;
        assert_eq!(status(&fw, recollect), invalid(operand::R11));

        // TDH.IDE.STREAM.CREATE: reserved bits of stream_info, a Link IDE stream, Control bits
        // the module owns (Enable) or beyond 32 bits, two metadata pages.
        let one = PageArray::new(&fw, 1).unwrap();
        let selective = stream_info(0x08, true);
        let cases = [
            (
                stream_create(selective | (1 << 9), NO_OBJECT, one.hpa(), 0),
                operand::RCX,
            ),
            (
                stream_create(stream_info(0x08, false), NO_OBJECT, one.hpa(), 0),
                operand::RCX,
            ),
            (
                stream_create(selective, NO_OBJECT, one.hpa(), 1),
                operand::R9,
            ),
            (
                stream_create(selective, NO_OBJECT, mt.hpa(), 0),
                operand::R8,
            ),
        ];
        for (args, op) in cases {
            assert_eq!(status(&fw, args), invalid(op));
        }
        let mut wide = stream_create(selective, NO_OBJECT, one.hpa(), 0);
        wide.r9 = 1 << 32;
        assert_eq!(status(&fw, wide), invalid(operand::R9));
        // The Traffic Class is the host's to choose: only the object is missing.
        let tc = stream_create(selective, NO_OBJECT, one.hpa(), 7 << 19);
        assert_eq!(status(&fw, tc), invalid(operand::RDX));
    }

    #[test]
    fn spdm_create_for_a_device_not_on_the_platform() {
        let fw = firmware(Faults::default());
        let mut rid = None;
        pci::for_each_device(false, |pdev| {
            if rid.is_none() {
                rid = Some(pdev.dev_id());
            }
        });
        // QEMU's machine has PCI devices, none of the emulated platform.
        assert!(rid.is_some());
        let mt = PageArray::new(&fw, fw.info().unwrap().spdm_mt_pages).unwrap();
        for rid in [rid.unwrap_or(0), 0xfff8] {
            let create = Args::spdm_create(func_id(rid, None), mt.hpa()).unwrap();
            // A failed leaf returns no object: the registers are as they were.
            assert_eq!(call(&fw, create), Ok((invalid(operand::RCX), create)));
        }
        // The module did not take the metadata pages: they are still the host's.
        let pages = Pages::new(&fw);
        let mut connect = pages.connect(NO_OBJECT);
        connect.r10 = mt.raw().unwrap();
        assert_eq!(status(&fw, connect), invalid(operand::RCX));
    }

    #[test]
    fn calls_on_objects_that_do_not_exist() {
        let fw = firmware(Faults::default());
        let pages = Pages::new(&fw);
        let mt = PageArray::new(&fw, 1).unwrap();
        let rcx = invalid(operand::RCX);
        let cases = [
            (pages.connect(NO_OBJECT), rcx),
            (
                Args::spdm_disconnect(NO_OBJECT, pa(&*pages.rsp), pa(&*pages.req)),
                rcx,
            ),
            (pages.mng(NO_OBJECT, SpdmMngOp::Heartbeat), rcx),
            (pages.mng(NO_OBJECT, SpdmMngOp::KeyUpdate), rcx),
            (pages.mng(NO_OBJECT, SpdmMngOp::DevInfoRecollect), rcx),
            (Args::spdm_delete(NO_OBJECT, mt.root_pa()), rcx),
            (pages.km(NO_OBJECT, StreamKmOp::Setup), rcx),
            (pages.km(NO_OBJECT, StreamKmOp::Stop), rcx),
            (Args::ide_stream_block(NO_OBJECT, 0), rcx),
            (Args::ide_stream_delete(NO_OBJECT, 0, mt.root_pa()), rcx),
            // The SPDM object is its second operand.
            (
                stream_create(stream_info(0x08, true), NO_OBJECT, mt.hpa(), 0),
                invalid(operand::RDX),
            ),
        ];
        // No job starts: nothing waits for a relay, so no call finds the module busy.
        for (args, expected) in cases {
            assert_eq!(status(&fw, args), expected);
        }
        assert_eq!(status_errno(rcx), EINVAL);
    }

    #[test]
    fn pages_the_module_did_not_hand_out() {
        let fw = firmware(Faults::default());
        let pages = Pages::new(&fw);
        let unknown = 0x1000;
        let base = pages.connect(NO_OBJECT);
        let cases = [
            (
                Args {
                    rdx: unknown,
                    ..base
                },
                operand::RDX,
            ),
            (
                Args {
                    r8: unknown,
                    ..base
                },
                operand::R8,
            ),
            (
                Args {
                    r9: unknown,
                    ..base
                },
                operand::R9,
            ),
        ];
        for (args, op) in cases {
            assert_eq!(status(&fw, args), bad_page(op));
        }
        let dev_info = |raw: u64| Args { r10: raw, ..base };
        let one_unknown = HpaArray { pfn: 1, count: 1 }.raw().unwrap();
        assert_eq!(status(&fw, dev_info(one_unknown)), bad_page(operand::R10));
        let two_unknown = HpaArray { pfn: 1, count: 2 }.raw().unwrap();
        assert_eq!(status(&fw, dev_info(two_unknown)), bad_page(operand::R10));

        // A root page listing a page twice, a page not handed out, an address within a page.
        let mut root = fw.alloc().unwrap();
        let page = fw.alloc().unwrap();
        let other = fw.alloc().unwrap();
        let listed = HpaArray {
            pfn: root.pfn(),
            count: 2,
        }
        .raw()
        .unwrap();
        for (second, expected) in [
            (pa(&*page), bad_page(operand::R10)),
            (unknown, bad_page(operand::R10)),
            (pa(&*page) + 8, invalid(operand::R10)),
            // Two pages of the host's: only the object is missing.
            (pa(&*other), invalid(operand::RCX)),
        ] {
            root.write(0, &pa(&*page).to_le_bytes()).unwrap();
            root.write(8, &second.to_le_bytes()).unwrap();
            assert_eq!(status(&fw, dev_info(listed)), expected);
        }

        // TDH.IDE.STREAM.CREATE's metadata page and DEV_INFO_RECOLLECT's parameter page.
        let mt = HpaArray { pfn: 1, count: 1 };
        let create = stream_create(stream_info(0x08, true), NO_OBJECT, mt, 0);
        assert_eq!(status(&fw, create), bad_page(operand::R8));
        let mut recollect = pages.mng(NO_OBJECT, SpdmMngOp::DevInfoRecollect);
        recollect.r8 = unknown;
        assert_eq!(status(&fw, recollect), bad_page(operand::R8));
        assert_eq!(status_errno(bad_page(operand::R8)), EINVAL);
    }

    #[test]
    fn a_returned_page_is_unknown_to_the_module() {
        let fw = firmware(Faults::default());
        let Pages {
            conf,
            rsp,
            req,
            param: _,
            dev_info,
        } = Pages::new(&fw);
        let connect =
            Args::spdm_connect(NO_OBJECT, pa(&*conf), pa(&*rsp), pa(&*req), dev_info.hpa())
                .unwrap();
        assert_eq!(status(&fw, connect), invalid(operand::RCX));
        // The model checks the response, request, configuration, then DEV_INFO pages.
        drop(dev_info);
        assert_eq!(status(&fw, connect), bad_page(operand::R10));
        drop(conf);
        assert_eq!(status(&fw, connect), bad_page(operand::RDX));
        drop(req);
        assert_eq!(status(&fw, connect), bad_page(operand::R9));
        drop(rsp);
        assert_eq!(status(&fw, connect), bad_page(operand::R8));
        // Page frame numbers are not reused: a new page is not a returned one.
        let again = fw.alloc().unwrap();
        assert!(pa(&*again) != connect.r8);
    }

    #[test]
    fn the_host_writes_only_its_own_pages() {
        let fw = firmware(Faults::default());
        let mut page = fw.alloc().unwrap();
        page.write(0x10, b"host").unwrap();
        assert_eq!(page.write(PAGE - 2, b"host"), Err(EINVAL));
        // The model never handed out page 1: it cannot become the module's.
        assert!(!fw.0.take_for_test(1));
        assert!(fw.0.take_for_test(page.pfn()));
        assert_eq!(page.write(0x10, b"HOST"), Err(EPERM));
        assert_eq!(write_spdm_config(&mut *page), Err(EPERM));
        let mut back = [0u8; 4];
        page.read(0x10, &mut back).unwrap();
        assert_eq!(&back, b"host");
        // A page of the module's is no host page of a leaf, nor one of an HPA_ARRAY_T.
        let pages = Pages::new(&fw);
        let connect = pages.connect(NO_OBJECT);
        let as_conf = Args {
            rdx: pa(&*page),
            ..connect
        };
        assert_eq!(status(&fw, as_conf), bad_page(operand::RDX));
        let as_dev_info = Args {
            r10: HpaArray {
                pfn: page.pfn(),
                count: 1,
            }
            .raw()
            .unwrap(),
            ..connect
        };
        assert_eq!(status(&fw, as_dev_info), bad_page(operand::R10));
        // The others are still the host's.
        assert_eq!(status(&fw, connect), invalid(operand::RCX));
    }

    #[test]
    fn status_to_errno() {
        let cases = [
            (StatusClass::OperandInvalid, EINVAL),
            (StatusClass::PageMetadataIncorrect, EINVAL),
            (StatusClass::OperandBusy, EBUSY),
            (StatusClass::DeviceFailure, EIO),
            (StatusClass::Other, EIO),
            // Classes the relay loop handles itself are failures when they reach the errno.
            (StatusClass::InterruptedResumable, EIO),
            (StatusClass::SpdmRequest, EIO),
            (StatusClass::SessionKeyRequireRefresh, EIO),
        ];
        for (class, errno) in cases {
            for detail in [0, operand::R10] {
                let status = Status::new(class, detail);
                assert_eq!(status.class(), class);
                assert_eq!(status_errno(status), errno);
            }
        }
        // A status of no known class.
        assert_eq!(status_errno(Status(0xC000_0001_0000_0000)), EIO);
    }

    #[test]
    fn an_injected_fault_fails_the_named_leaf_only() {
        let injected = Status::new(StatusClass::DeviceFailure, 7);
        let fw = firmware(Faults {
            // CAST: leaf numbers are small.
            leaf: leaf::SPDM_DELETE as u32,
            status: injected.0,
            ..Faults::default()
        });
        let delete = Args::spdm_delete(NO_OBJECT, 0);
        let block = Args::ide_stream_block(NO_OBJECT, 0);
        assert_eq!(status(&fw, block), invalid(operand::RCX));
        assert_eq!(call(&fw, delete), Ok((injected, delete)));
        assert_eq!(status_errno(injected), EIO);
        // It fires once.
        assert_eq!(status(&fw, delete), invalid(operand::RCX));

        // Every third call is interrupted, whichever leaf it is.
        let fw = firmware(Faults {
            interrupt: 3,
            ..Faults::default()
        });
        let interrupted = Status::new(StatusClass::InterruptedResumable, 0);
        let rcx = invalid(operand::RCX);
        let expected = [rcx, rcx, interrupted, rcx, rcx, interrupted];
        for (i, want) in expected.into_iter().enumerate() {
            let args = if i % 2 == 0 { block } else { delete };
            assert_eq!(status(&fw, args), want);
        }
    }
}
