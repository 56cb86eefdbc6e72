// SPDX-License-Identifier: GPL-2.0

//! How a vendor firmware model talks to the device through the host: the firmware cannot reach
//! the device, so a command that needs it runs as a job on a workqueue (with the kernel's SPDM
//! requester), and each DOE object the job sends waits in a [`Relay`] until the command side
//! hands it to the host and, on the command's reissue, brings back the host's answer. The job's
//! end comes back through the relay the same way. Also the steps every vendor model's connect
//! job takes. Used by the SEV-TIO, TDX Connect and CoVE-IO models.

use crate::platform_fw::{self, KeyStep};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    alloc::KVVec,
    new_condvar, new_mutex, pci,
    prelude::*,
    sync::{Arc, CondVar, Mutex},
    workqueue,
};
use tsm_proto::spdm::crypto::Supported;
use tsm_spdm::{AuthError, Authenticated, Connection, DoeTransfer};

/// What a job sends the command side, and back.
pub(crate) enum Exchange<E> {
    /// The job runs.
    Running,
    /// The job waits for the answer to this DOE object (its DOE type, its payload).
    Request(u8, KVVec<u8>),
    /// The host's answer (the payload).
    Response(KVVec<u8>),
    /// No answer will come: the host gave the command up.
    Abort,
    /// The job ended, thus.
    Done(E),
}

/// The rendezvous between one job and the commands that relay its objects.
#[pin_data]
pub(crate) struct Relay<E> {
    #[pin]
    exchange: Mutex<Exchange<E>>,
    #[pin]
    changed: CondVar,
    /// Exchanges so far.
    relayed: AtomicU64,
    /// The exchange (counted from 1) that fails as a device error would; the job may still
    /// clean up through the relay (0: none fails).
    fail_at: u64,
}

impl<E: Send + Unpin + 'static> Relay<E> {
    /// Runs `job` on the unbound system workqueue with a new relay, which it returns; the
    /// exchange `fail_at` fails (0: none).
    pub(crate) fn start(
        fail_at: u64,
        job: impl FnOnce(&Self) -> E + Send + 'static,
    ) -> Result<Arc<Self>> {
        let relay = Arc::pin_init(
            pin_init!(Self {
                exchange <- new_mutex!(Exchange::Running),
                changed <- new_condvar!(),
                relayed: AtomicU64::new(0),
                fail_at,
            }),
            GFP_KERNEL,
        )?;
        let worker = relay.clone();
        workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
            let end = job(&worker);
            *worker.exchange.lock() = Exchange::Done(end);
            worker.changed.notify_all();
        })?;
        Ok(relay)
    }

    /// Waits until the job asks for a relay (the object stays pending until answered; the
    /// caller gets a copy) or ends.
    pub(crate) fn next(&self) -> Exchange<E> {
        let mut guard = self.exchange.lock();
        loop {
            match &*guard {
                Exchange::Request(object_type, object) => {
                    let mut copy = KVVec::new();
                    if copy.extend_from_slice(object, GFP_KERNEL).is_ok() {
                        return Exchange::Request(*object_type, copy);
                    }
                    // Without memory the command is given up.
                    *guard = Exchange::Abort;
                    self.changed.notify_all();
                }
                Exchange::Done(_) => return core::mem::replace(&mut *guard, Exchange::Abort),
                _ => {}
            }
            self.changed.wait(&mut guard);
        }
    }

    /// Hands the host's answer (`None`: none will come) to the waiting job.
    pub(crate) fn answer(&self, response: Option<KVVec<u8>>) {
        let mut guard = self.exchange.lock();
        *guard = response.map_or(Exchange::Abort, Exchange::Response);
        self.changed.notify_all();
    }

    /// Gives the job up: every object it still sends fails; returns how it ended.
    pub(crate) fn abandon(&self) -> E {
        loop {
            self.answer(None);
            if let Exchange::Done(end) = self.next() {
                return end;
            }
        }
    }
}

/// A job's DOE transport: each exchange goes to the host through the relay.
pub(crate) struct RelayDoe<'a, E>(pub(crate) &'a Relay<E>);

impl<E: Unpin> DoeTransfer for RelayDoe<'_, E> {
    fn transfer(&mut self, object_type: u8, request: &[u8], response: &mut [u8]) -> Result<usize> {
        let relay = self.0;
        let n = relay.relayed.fetch_add(1, Ordering::Relaxed) + 1;
        if n == relay.fail_at {
            return Err(EIO);
        }
        let mut object = KVVec::new();
        object.extend_from_slice(request, GFP_KERNEL)?;
        let mut guard = relay.exchange.lock();
        if matches!(*guard, Exchange::Abort) {
            return Err(EIO);
        }
        *guard = Exchange::Request(object_type, object);
        relay.changed.notify_all();
        loop {
            match &*guard {
                Exchange::Response(answer) => {
                    let out = response.get_mut(..answer.len()).ok_or(EMSGSIZE)?;
                    out.copy_from_slice(answer);
                    let len = answer.len();
                    *guard = Exchange::Running;
                    return Ok(len);
                }
                Exchange::Abort => return Err(EIO),
                _ => relay.changed.wait(&mut guard),
            }
        }
    }
}

/// What a vendor firmware model does first to connect the DSM `pdev`: authenticate it and open
/// a secure session, with HEARTBEAT advertised if the model's host drives heartbeats
/// (`heartbeat`). A failure is logged as the failure of `model`'s SPDM.
pub(crate) fn authenticated_session<T: DoeTransfer>(
    pdev: &pci::Device,
    doe: &mut T,
    model: &str,
    heartbeat: bool,
) -> Result<(Connection, Authenticated)> {
    let failed = |e: AuthError| {
        dev_warn!(
            pdev.as_ref(),
            "{} model: SPDM failed: {:?}\n",
            model,
            e.errno()
        );
        e.errno()
    };
    let spdm = if heartbeat {
        Connection::with_heartbeat(Supported::ALL)
    } else {
        Connection::new(Supported::ALL, true)
    };
    let mut spdm = spdm.map_err(failed)?;
    let shown = spdm.authenticate(doe, None).map_err(failed)?;
    spdm.open_session(doe).map_err(failed)?;
    Ok((spdm, shown))
}

/// The fault points of a vendor firmware model's `fail_key` parameter for
/// [`platform_fw::key_stream`]: 1 fails after the device's KEY_PROGs, 2 before K_SET_GO,
/// anything else never.
pub(crate) fn key_fault(fail_key: u32) -> impl Fn(KeyStep) -> Result {
    move |step| {
        let at = match step {
            KeyStep::KeyProg => 1,
            KeyStep::KeySetGo => 2,
        };
        if fail_key == at {
            Err(EIO)
        } else {
            Ok(())
        }
    }
}

/// [`platform_fw::key_stream`] for a vendor firmware model, with the failure of
/// [`key_fault`]`(fail_key)` injected; a failure ends the session too.
pub(crate) fn key_stream_or_end<T: DoeTransfer>(
    pdev: &pci::Device,
    spdm: &mut Connection,
    doe: &mut T,
    stream_id: u8,
    fail_key: u32,
) -> Result {
    let keyed = platform_fw::key_stream(pdev, spdm, doe, stream_id, key_fault(fail_key));
    if keyed.is_err() {
        platform_fw::end_session(pdev, spdm, doe);
    }
    keyed
}
