// SPDX-License-Identifier: GPL-2.0

//! The evidence of PCI device security connections, kept for user space.
//!
//! A TSM (native CMA or a platform TSM) that connected a PCI device publishes what the
//! connection produced, the device's certificate chains, the SPDM VCA transcript, the signed
//! measurements and, once a TDI is locked, the TDISP interface report, with [`publish`] (or
//! [`publish_for`]), and withdraws it with [`clear`] when it disconnects. The PCI/TSM core
//! serves it to user space through the `pci-tsm` generic netlink family
//! (`Documentation/netlink/specs/pci-tsm.yaml`, operation `evidence-read`).
//!
//! # The store
//!
//! One store for the whole system, keyed by PCI device, lives here in the kernel crate so that
//! every producer (TSM modules, which run on either PCI/TSM core) and the core's netlink family
//! reach it; with upstream's C core nothing reads it. Each device has at most one [`Snapshot`]:
//! an immutable set of objects with a generation number, unique across the system and
//! increasing with every publication. Publishing replaces a device's snapshot, so a reader that
//! started on the old one (a dump holds no lock between its calls) sees a different generation
//! on its next call and ends with `EAGAIN`; [`clear`] removes it, so a later connect starts a
//! new generation. The store holds a reference to each device it has evidence for: producers
//! clear a device when they disconnect it, which every PCI/TSM core does before the device is
//! removed, and the Rust core also clears it when the device goes away.
//!
//! Objects are at most [`MAX_OBJECT_SIZE`] bytes (the spec's `max-object-size`); their digests,
//! with the hash the producer names (the negotiated SPDM base hash), are computed once, when
//! they are published.

use crate::{
    crypto::sha2::{Sha256, Sha384},
    new_mutex, pci,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex, SetOnce},
};

use super::{adapters::LinkAdapter, context::Context, LinkTsm, TsmDevice};

/// Largest evidence object, in bytes (`max-object-size`, 16 MiB).
pub const MAX_OBJECT_SIZE: usize = 0x0100_0000;

/// Largest nonce a caller may pass to refresh measurements (`max-nonce-size`).
pub const MAX_NONCE_SIZE: usize = 256;

/// Size of the Nonce field of SPDM GET_MEASUREMENTS (`spdm-nonce-size`).
pub const SPDM_NONCE_SIZE: usize = 32;

/// An evidence object type (`evidence-type` of the spec; the value is the type number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Kind {
    /// SPDM certificate chain of slot 0, as the device returned it.
    Cert0 = 0,
    /// Slot 1.
    Cert1 = 1,
    /// Slot 2.
    Cert2 = 2,
    /// Slot 3.
    Cert3 = 3,
    /// Slot 4.
    Cert4 = 4,
    /// Slot 5.
    Cert5 = 5,
    /// Slot 6.
    Cert6 = 6,
    /// Slot 7.
    Cert7 = 7,
    /// The VCA messages (GET_VERSION .. ALGORITHMS).
    Vca = 8,
    /// GET_MEASUREMENTS / MEASUREMENTS pairs, the last one signed.
    Measurements = 9,
    /// The TDISP DEVICE_INTERFACE_REPORT of the locked TDI.
    Report = 10,
}

impl Kind {
    /// Number of object types.
    pub const COUNT: usize = 11;
    /// Every type, in number order.
    pub const ALL: [Kind; Self::COUNT] = [
        Self::Cert0,
        Self::Cert1,
        Self::Cert2,
        Self::Cert3,
        Self::Cert4,
        Self::Cert5,
        Self::Cert6,
        Self::Cert7,
        Self::Vca,
        Self::Measurements,
        Self::Report,
    ];

    /// The certificate chain type of SPDM slot `slot` (0 to 7).
    pub fn cert(slot: u8) -> Option<Self> {
        Self::ALL
            .get(usize::from(slot))
            .copied()
            .filter(|_| slot < 8)
    }

    /// The type numbered `n`.
    pub fn from_u32(n: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(n).ok()?).copied()
    }

    /// The type's number (its bit in a type mask).
    pub fn number(self) -> u32 {
        self as u32
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The hash a TSM digests its objects with (the negotiated SPDM base hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Result<KVec<u8>> {
        let mut out = KVec::new();
        match self {
            Self::Sha256 => out.extend_from_slice(&Sha256::digest(data), GFP_KERNEL)?,
            Self::Sha384 => out.extend_from_slice(&Sha384::digest(data), GFP_KERNEL)?,
        }
        Ok(out)
    }
}

/// How the producer of a snapshot refreshes its measurements: the TSM that published it and
/// that TSM's [`LinkTsm::refresh_evidence`].
///
/// # Invariants
///
/// `tsm` was registered as a link TSM of the backend whose adapter `refresh` is, so every
/// context `tsm` made is one that `refresh` may be called with.
struct Refresher {
    tsm: ARef<TsmDevice>,
    refresh: unsafe fn(ctx: &Context, nonce: &[u8]) -> Result,
}

/// The SPDM Nonce of a measurement refresh for the caller's `nonce`: the nonce itself when it
/// is [`SPDM_NONCE_SIZE`] bytes long, else its SHA-256, so a verifier can recognise it.
pub fn spdm_nonce(nonce: &[u8]) -> [u8; SPDM_NONCE_SIZE] {
    match nonce.try_into() {
        Ok(n) => n,
        Err(_) => Sha256::digest(nonce),
    }
}

/// Evidence being put together by a producer, published with [`publish`].
///
/// # Examples
///
/// ```
/// use kernel::tsm::evidence::{Evidence, Hash, Kind, MAX_OBJECT_SIZE};
///
/// let mut ev = Evidence::new(Some(Hash::Sha384));
/// ev.set(Kind::Vca, b"\x10\x84\x00\x00")?;
/// ev.append(Kind::Measurements, b"request")?;
/// ev.append(Kind::Measurements, b"response")?;
/// assert_eq!(ev.get(Kind::Measurements), Some(&b"requestresponse"[..]));
/// assert_eq!(ev.get(Kind::Report), None);
/// let mut big = KVVec::new();
/// big.resize(MAX_OBJECT_SIZE + 1, 0, GFP_KERNEL)?;
/// assert_eq!(ev.set_vec(Kind::Cert0, big).err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
pub struct Evidence {
    hash: Option<Hash>,
    objects: [Option<KVVec<u8>>; Kind::COUNT],
}

impl Evidence {
    /// No objects yet; their digests will use `hash` (`None`: the TSM keeps no digests, so the
    /// `digest` flag reads empty objects).
    pub fn new(hash: Option<Hash>) -> Self {
        Self {
            hash,
            objects: [const { None }; Kind::COUNT],
        }
    }

    /// Sets object `kind` to a copy of `data`; `EINVAL` above [`MAX_OBJECT_SIZE`].
    pub fn set(&mut self, kind: Kind, data: &[u8]) -> Result {
        if data.len() > MAX_OBJECT_SIZE {
            return Err(EINVAL);
        }
        let mut v = KVVec::with_capacity(data.len(), GFP_KERNEL)?;
        v.extend_from_slice(data, GFP_KERNEL)?;
        self.objects[kind.index()] = Some(v);
        Ok(())
    }

    /// Sets object `kind` to `data`, without copying; `EINVAL` above [`MAX_OBJECT_SIZE`].
    pub fn set_vec(&mut self, kind: Kind, data: KVVec<u8>) -> Result {
        if data.len() > MAX_OBJECT_SIZE {
            return Err(EINVAL);
        }
        self.objects[kind.index()] = Some(data);
        Ok(())
    }

    /// Appends `data` to object `kind` (creating it); `EINVAL` if it would exceed
    /// [`MAX_OBJECT_SIZE`], leaving the object unchanged.
    pub fn append(&mut self, kind: Kind, data: &[u8]) -> Result {
        let object = self.objects[kind.index()].get_or_insert_with(KVVec::new);
        if object.len().checked_add(data.len()).ok_or(EINVAL)? > MAX_OBJECT_SIZE {
            return Err(EINVAL);
        }
        Ok(object.extend_from_slice(data, GFP_KERNEL)?)
    }

    /// Object `kind`, if set.
    pub fn get(&self, kind: Kind) -> Option<&[u8]> {
        self.objects[kind.index()].as_deref()
    }
}

/// One published object and its digest.
struct Object {
    data: KVVec<u8>,
    digest: KVec<u8>,
}

/// A device's published evidence: immutable, shared with readers.
pub struct Snapshot {
    generation: u64,
    objects: [Option<Object>; Kind::COUNT],
    refresher: Option<Refresher>,
}

impl Snapshot {
    /// The generation: unique, and higher for every later publication.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Object `kind`, `None` if the TSM does not have it.
    pub fn object(&self, kind: Kind) -> Option<&[u8]> {
        self.objects[kind.index()].as_ref().map(|o| &o.data[..])
    }

    /// The digest of object `kind`, `None` if the TSM does not have the object; empty if the
    /// TSM named no hash.
    pub fn digest(&self, kind: Kind) -> Option<&[u8]> {
        self.objects[kind.index()].as_ref().map(|o| &o.digest[..])
    }

    /// Asks the producer for fresh signed measurements with `nonce` (1 to [`MAX_NONCE_SIZE`]
    /// bytes; the SPDM Nonce is [`spdm_nonce`] of it), which it publishes as a new snapshot.
    /// `ctx` is the context of the device the snapshot belongs to, which the caller (a PCI/TSM
    /// core, holding the DSM's lock) keeps alive. `EOPNOTSUPP` if the producer cannot refresh
    /// or no longer manages the device through `ctx`.
    pub fn refresh(&self, ctx: &Context, nonce: &[u8]) -> Result {
        let Some(refresher) = &self.refresher else {
            return Err(EOPNOTSUPP);
        };
        if !core::ptr::eq(ctx.tsm_dev(), &*refresher.tsm) {
            return Err(EOPNOTSUPP);
        }
        // SAFETY: `ctx` was made by `refresher.tsm`, whose contexts `refresh` takes (type
        // invariant), and is alive for the call (the caller's promise).
        unsafe { (refresher.refresh)(ctx, nonce) }
    }
}

struct Entry {
    pdev: ARef<pci::Device>,
    snapshot: Arc<Snapshot>,
}

struct Store {
    /// The generation of the next publication.
    next: u64,
    entries: KVec<Entry>,
}

impl Store {
    fn position(&self, pdev: &pci::Device) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| core::ptr::eq(e.pdev.as_raw(), pdev.as_raw()))
    }
}

/// The store, set up by its first user (no initcall runs before every producer).
static STORE: SetOnce<Pin<KBox<Mutex<Store>>>> = SetOnce::new();

fn store() -> Result<&'static Mutex<Store>> {
    if STORE.as_ref().is_none() {
        let new = KBox::pin_init(
            new_mutex!(Store {
                next: 1,
                entries: KVec::new(),
            }),
            GFP_KERNEL,
        )?;
        // A loser of the race drops its copy and waits for the winner's short write.
        if !STORE.populate(new) {
            while STORE.as_ref().is_none() {
                core::hint::spin_loop();
            }
        }
    }
    STORE.as_ref().map(|s| &**s).ok_or(EINVAL)
}

/// Publishes `evidence` as `pdev`'s, replacing what it had, and returns its generation. A
/// read with a nonce answers `EOPNOTSUPP` (see [`publish_for`] for a producer that refreshes).
/// Computes the digests first; fails only for lack of memory, leaving the old evidence in
/// place.
///
/// # Examples
///
/// ```
/// use kernel::pci;
/// use kernel::tsm::evidence::{self, Evidence, Hash, Kind};
///
/// let Ok(pdev) = pci::Device::find_by_name(b"0000:00:00.0") else { return Ok(()) };
/// let mut ev = Evidence::new(Some(Hash::Sha256));
/// ev.set(Kind::Vca, b"abc")?;
/// let first = evidence::publish(&pdev, ev)?;
/// let snap = evidence::snapshot(&pdev).ok_or(ENXIO)?;
/// assert_eq!(snap.generation(), first);
/// assert_eq!(snap.object(Kind::Vca), Some(&b"abc"[..]));
/// assert_eq!(snap.digest(Kind::Vca).map(|d| d[0]), Some(0xba));
/// assert_eq!(snap.object(Kind::Cert0), None);
/// evidence::withdraw(&pdev, Kind::Vca)?;
/// let after = evidence::snapshot(&pdev).ok_or(ENXIO)?;
/// assert!(after.generation() > first);
/// assert_eq!(after.object(Kind::Vca), None);
/// let second = evidence::publish(&pdev, Evidence::new(None))?;
/// assert!(second > after.generation());
/// evidence::clear(&pdev);
/// assert!(evidence::snapshot(&pdev).is_none());
/// # Ok::<(), Error>(())
/// ```
pub fn publish(pdev: &pci::Device, evidence: Evidence) -> Result<u64> {
    publish_with(pdev, evidence, None)
}

fn publish_with(
    pdev: &pci::Device,
    evidence: Evidence,
    refresher: Option<Refresher>,
) -> Result<u64> {
    let mut objects: [Option<Object>; Kind::COUNT] = [const { None }; Kind::COUNT];
    for (slot, data) in objects.iter_mut().zip(evidence.objects) {
        if let Some(data) = data {
            let digest = match evidence.hash {
                Some(hash) => hash.digest(&data)?,
                None => KVec::new(),
            };
            *slot = Some(Object { data, digest });
        }
    }
    install(pdev, objects, refresher)
}

/// Makes `objects` the device's new snapshot; returns its generation.
fn install(
    pdev: &pci::Device,
    objects: [Option<Object>; Kind::COUNT],
    refresher: Option<Refresher>,
) -> Result<u64> {
    let store = store()?;
    let mut guard = store.lock();
    let generation = guard.next;
    let snapshot = Arc::new(
        Snapshot {
            generation,
            objects,
            refresher,
        },
        GFP_KERNEL,
    )?;
    guard.next += 1;
    let old = match guard.position(pdev) {
        Some(i) => Some(core::mem::replace(&mut guard.entries[i].snapshot, snapshot)),
        None => {
            let entry = Entry {
                pdev: pdev.into(),
                snapshot,
            };
            guard.entries.push(entry, GFP_KERNEL)?;
            None
        }
    };
    drop(guard);
    // The replaced snapshot (if no reader holds it) is freed here, unlocked.
    drop(old);
    Ok(generation)
}

/// Withdraws object `kind` from `pdev`'s evidence (a TDI unbound: its report goes): the rest,
/// from the same producer, becomes a new generation. Nothing if the device has no such
/// object. The caller serialises the device's publications (a TSM holds the DSM lock).
pub fn withdraw(pdev: &pci::Device, kind: Kind) -> Result {
    let Some(old) = snapshot(pdev) else {
        return Ok(());
    };
    if old.objects[kind.index()].is_none() {
        return Ok(());
    }
    let copy = |bytes: &[u8]| -> Result<KVVec<u8>> {
        let mut v = KVVec::with_capacity(bytes.len(), GFP_KERNEL)?;
        v.extend_from_slice(bytes, GFP_KERNEL)?;
        Ok(v)
    };
    let mut objects: [Option<Object>; Kind::COUNT] = [const { None }; Kind::COUNT];
    for (kept, slot) in Kind::ALL.iter().zip(objects.iter_mut()) {
        if let (false, Some(o)) = (*kept == kind, &old.objects[kept.index()]) {
            let mut digest = KVec::with_capacity(o.digest.len(), GFP_KERNEL)?;
            digest.extend_from_slice(&o.digest, GFP_KERNEL)?;
            *slot = Some(Object {
                data: copy(&o.data)?,
                digest,
            });
        }
    }
    let refresher = old.refresher.as_ref().map(|r| Refresher {
        tsm: r.tsm.clone(),
        refresh: r.refresh,
    });
    install(pdev, objects, refresher).map(|_| ())
}

/// [`publish`] by link TSM backend `T` for the device `pdev` it manages with `function`
/// (the context [`LinkTsm::probe`] gave it): a read with a nonce then calls
/// [`LinkTsm::refresh_evidence`] with that context, for as long as the same TSM manages the
/// device. `EINVAL` if `function` is not `pdev`'s context of `T` (or `T::Function` is
/// zero-sized, so the two cannot be matched).
pub fn publish_for<T: LinkTsm>(
    pdev: &pci::Device,
    function: &T::Function,
    evidence: Evidence,
) -> Result<u64> {
    let tsm = LinkAdapter::<T>::tsm_of(pdev, function).ok_or(EINVAL)?;
    // INVARIANT: `tsm` made `pdev`'s context of `T`, so it is a link TSM of `T`.
    let refresher = Refresher {
        tsm,
        refresh: LinkAdapter::<T>::refresh_evidence,
    };
    publish_with(pdev, evidence, Some(refresher))
}

/// Withdraws `pdev`'s evidence (disconnect, removal); nothing if it has none.
pub fn clear(pdev: &pci::Device) {
    let Some(store) = STORE.as_ref() else { return };
    let removed = {
        let mut guard = store.lock();
        match guard.position(pdev) {
            Some(i) => guard.entries.remove(i).ok(),
            None => None,
        }
    };
    // The device reference and the snapshot (if no reader holds it) go here, unlocked.
    drop(removed);
}

/// `pdev`'s current evidence, `None` if it has none.
pub fn snapshot(pdev: &pci::Device) -> Option<Arc<Snapshot>> {
    let store = STORE.as_ref()?;
    let guard = store.lock();
    let i = guard.position(pdev)?;
    Some(guard.entries[i].snapshot.clone())
}
