// SPDX-License-Identifier: GPL-2.0

//! KUnit suite for hideable static sysfs groups declared with `kernel::sysfs`.
//!
//! Every check looks the directory or file up in kernfs below a faux device: nothing is mocked.

use kernel::prelude::*;

module! {
    type: SysfsHideTest,
    name: "sysfs_hide_test",
    authors: ["tsm-rs developers"],
    description: "KUnit tests for hideable static sysfs attribute groups",
    license: "GPL",
}

struct SysfsHideTest;

impl kernel::Module for SysfsHideTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(sysfs_hide)]
mod tests {
    use core::{
        fmt::Write,
        sync::atomic::{AtomicBool, Ordering},
    };
    use kernel::{
        device::Device,
        faux,
        prelude::*,
        str::Formatter,
        sysfs::{self, Entry},
    };

    // Conditions the visibility callbacks read; each test sets all of them first.
    static NAMED_SHOWN: AtomicBool = AtomicBool::new(false);
    static HIDE_OPTIONAL: AtomicBool = AtomicBool::new(false);
    static LOOSE_SHOWN: AtomicBool = AtomicBool::new(false);

    fn set_conditions(named: bool, hide_optional: bool, loose: bool) {
        NAMED_SHOWN.store(named, Ordering::Relaxed);
        HIDE_OPTIONAL.store(hide_optional, Ordering::Relaxed);
        LOOSE_SHOWN.store(loose, Ordering::Relaxed);
    }

    struct Value;
    #[vtable]
    impl sysfs::DeviceAttributeOps for Value {
        fn show(_dev: &Device, out: &mut Formatter<'_>) -> Result {
            Ok(writeln!(out, "1")?)
        }
        fn store(_dev: &Device, _input: &[u8]) -> Result {
            Ok(())
        }
    }

    struct Trigger;
    #[vtable]
    impl sysfs::DeviceAttributeOps for Trigger {
        fn store(_dev: &Device, _input: &[u8]) -> Result {
            Ok(())
        }
    }

    struct NamedVisibility;
    impl sysfs::GroupVisibility for NamedVisibility {
        fn group_visible(_dev: &Device) -> bool {
            NAMED_SHOWN.load(Ordering::Relaxed)
        }
        /// `optional` hides on its own when `HIDE_OPTIONAL` is set.
        fn attr_visible(_dev: &Device, attr: &sysfs::Attribute, mode: u16) -> u16 {
            if OPTIONAL.is(attr) && HIDE_OPTIONAL.load(Ordering::Relaxed) {
                0
            } else {
                mode
            }
        }
    }

    struct LooseVisibility;
    impl sysfs::GroupVisibility for LooseVisibility {
        fn group_visible(_dev: &Device) -> bool {
            LOOSE_SHOWN.load(Ordering::Relaxed)
        }
    }

    kernel::device_attribute_group! {
        static NAMED = {
            name: c"hideable",
            visibility: NamedVisibility,
            attributes: [
                READ_ONLY: Value = (c"read_only", 0o444),
                READ_WRITE: Value = (c"read_write", 0o644),
                WRITE_ONLY: Trigger = (c"write_only", 0o200),
                OPTIONAL: Value = (c"optional", 0o444),
            ],
        };
    }

    kernel::device_attribute_group! {
        static LOOSE = {
            visibility: LooseVisibility,
            attributes: [
                LOOSE_A: Value = (c"loose_a", 0o444),
                LOOSE_B: Value = (c"loose_b", 0o644),
            ],
        };
    }

    fn expect_named_files(dev: &Device, optional: Option<Entry>) {
        assert_eq!(sysfs::lookup(dev, &[c"hideable"]), Some(Entry::Dir));
        assert_eq!(
            sysfs::lookup(dev, &[c"hideable", c"read_only"]),
            Some(Entry::File(0o444))
        );
        assert_eq!(
            sysfs::lookup(dev, &[c"hideable", c"read_write"]),
            Some(Entry::File(0o644))
        );
        assert_eq!(
            sysfs::lookup(dev, &[c"hideable", c"write_only"]),
            Some(Entry::File(0o200))
        );
        assert_eq!(sysfs::lookup(dev, &[c"hideable", c"optional"]), optional);
    }

    #[test]
    fn hidden_named_group_has_no_directory() -> Result {
        set_conditions(false, false, false);
        let faux = faux::Registration::new(c"sysfs_hide_hidden", None)?;
        let dev = faux.as_ref().as_ref();
        let _group = NAMED.register(dev)?;
        assert_eq!(sysfs::lookup(dev, &[c"hideable"]), None);
        assert_eq!(sysfs::lookup(dev, &[c"read_only"]), None);
        // The device directory itself is there, so the lookups above are meaningful.
        assert_eq!(sysfs::lookup(dev, &[c"uevent"]), Some(Entry::File(0o644)));
        Ok(())
    }

    #[test]
    fn update_creates_directory_with_visible_attributes() -> Result {
        set_conditions(false, false, false);
        let faux = faux::Registration::new(c"sysfs_hide_create", None)?;
        let dev = faux.as_ref().as_ref();
        let _group = NAMED.register(dev)?;

        set_conditions(true, true, false);
        NAMED.update(dev)?;
        expect_named_files(dev, None);

        HIDE_OPTIONAL.store(false, Ordering::Relaxed);
        NAMED.update(dev)?;
        expect_named_files(dev, Some(Entry::File(0o444)));
        Ok(())
    }

    #[test]
    fn hiding_again_removes_directory() -> Result {
        set_conditions(true, false, false);
        let faux = faux::Registration::new(c"sysfs_hide_toggle", None)?;
        let dev = faux.as_ref().as_ref();
        let _group = NAMED.register(dev)?;
        expect_named_files(dev, Some(Entry::File(0o444)));

        NAMED_SHOWN.store(false, Ordering::Relaxed);
        NAMED.update(dev)?;
        assert_eq!(sysfs::lookup(dev, &[c"hideable"]), None);

        NAMED_SHOWN.store(true, Ordering::Relaxed);
        NAMED.update(dev)?;
        expect_named_files(dev, Some(Entry::File(0o444)));
        Ok(())
    }

    #[test]
    fn unnamed_group_hides_file_by_file() -> Result {
        set_conditions(false, false, false);
        let faux = faux::Registration::new(c"sysfs_hide_loose", None)?;
        let dev = faux.as_ref().as_ref();
        let _group = LOOSE.register(dev)?;
        assert_eq!(sysfs::lookup(dev, &[c"loose_a"]), None);
        assert_eq!(sysfs::lookup(dev, &[c"loose_b"]), None);
        assert_eq!(sysfs::lookup(dev, &[c"uevent"]), Some(Entry::File(0o644)));

        LOOSE_SHOWN.store(true, Ordering::Relaxed);
        LOOSE.update(dev)?;
        assert_eq!(sysfs::lookup(dev, &[c"loose_a"]), Some(Entry::File(0o444)));
        assert_eq!(sysfs::lookup(dev, &[c"loose_b"]), Some(Entry::File(0o644)));

        LOOSE_SHOWN.store(false, Ordering::Relaxed);
        LOOSE.update(dev)?;
        assert_eq!(sysfs::lookup(dev, &[c"loose_a"]), None);
        assert_eq!(sysfs::lookup(dev, &[c"uevent"]), Some(Entry::File(0o644)));
        Ok(())
    }

    #[test]
    fn unregister_removes_visible_group() -> Result {
        set_conditions(true, false, false);
        let faux = faux::Registration::new(c"sysfs_hide_unregister", None)?;
        let dev = faux.as_ref().as_ref();
        let group = NAMED.register(dev)?;
        assert_eq!(sysfs::lookup(dev, &[c"hideable"]), Some(Entry::Dir));
        drop(group);
        assert_eq!(sysfs::lookup(dev, &[c"hideable"]), None);
        Ok(())
    }
}
