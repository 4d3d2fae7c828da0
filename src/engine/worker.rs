//! One pinned worker thread: builds its backend (io_uring or epoll) and turns the loop until its
//! driver says stop. Generic over the driver, so the client and the built-in target share it.

use std::os::fd::BorrowedFd;

use crate::error::SetupError;
use crate::io::{Backend, Driver, Ops, Wait};
use crate::sys::epoll::Epoll;
use crate::sys::ring::{RingConfig, Uring};

/// Which backend the workers of a run use (decided once, before they start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Uring,
    Epoll,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Uring => "uring",
            Self::Epoll => "epoll",
        }
    }
}

/// What the backend counted over a worker's run.
#[derive(Debug, Clone, Copy)]
pub struct BackendReport {
    /// Times the receive buffers ran out (io_uring only).
    pub buffer_exhaustions: u64,
    /// Which setup flags the kernel accepted, for reports.
    pub flags: &'static str,
}

/// What a pinned worker thread plays: a driver that also keeps time (timers, deadlines,
/// snapshots): the client or the built-in target.
pub trait Role: Driver {
    /// What the worker hands back when it stops.
    type Outcome;
    /// Called before every turn. Returns how the backend may wait, or None to stop.
    fn tick(&mut self, ops: &mut Ops) -> Option<Wait>;
    /// Called once after the loop ends, with what the backend counted: the worker's result.
    fn finish(&mut self, backend: BackendReport) -> Self::Outcome;
}

/// A role played over TLS keeps time exactly as it would in the clear.
impl<W: Role> Role for crate::tls::Tls<W> {
    type Outcome = W::Outcome;

    fn tick(&mut self, ops: &mut Ops) -> Option<Wait> {
        self.inner_mut().tick(ops)
    }

    fn finish(&mut self, backend: BackendReport) -> W::Outcome {
        self.inner_mut().finish(backend)
    }
}

/// Ring sizes for a worker that will hold about `connections` sockets.
pub fn ring_config(connections: usize) -> RingConfig {
    let entries = (connections * 2).clamp(256, 16384).next_power_of_two() as u32;
    RingConfig {
        entries,
        buffers: 1024,
        buffer_size: 16 * 1024,
    }
}

/// Pins the calling thread to `cpu` (best effort: a failure only costs locality).
pub fn pin(cpu: usize) {
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
}

/// Builds the backend, runs `worker` until it stops, and returns its outcome. `listener` is
/// adopted for accepting.
pub fn run<W: Role>(
    kind: BackendKind,
    connections: usize,
    listener: Option<BorrowedFd<'_>>,
    worker: &mut W,
) -> Result<W::Outcome, SetupError> {
    match kind {
        BackendKind::Uring => {
            let mut ring = Uring::new(ring_config(connections))
                .map_err(|source| backend_error("io_uring setup", source))?;
            drive(&mut ring, listener, worker)?;
            let report = BackendReport {
                buffer_exhaustions: ring.take_buffer_exhaustions(),
                flags: ring.flags,
            };
            Ok(worker.finish(report))
        }
        BackendKind::Epoll => {
            let mut ep =
                Epoll::new(64 * 1024).map_err(|source| backend_error("epoll setup", source))?;
            drive(&mut ep, listener, worker)?;
            let report = BackendReport {
                buffer_exhaustions: 0,
                flags: "edge-triggered",
            };
            Ok(worker.finish(report))
        }
    }
}

fn drive<B: Backend, W: Role>(
    backend: &mut B,
    listener: Option<BorrowedFd<'_>>,
    worker: &mut W,
) -> Result<(), SetupError> {
    if let Some(fd) = listener {
        backend
            .listen(fd)
            .map_err(|source| backend_error("listen", source))?;
    }
    while let Some(wait) = worker.tick(backend.ops()) {
        let name = backend.name();
        backend
            .turn(worker, wait)
            .map_err(|source| backend_error(&format!("{name} wait failed"), source))?;
    }
    Ok(())
}

fn backend_error(what: &str, source: std::io::Error) -> SetupError {
    SetupError::Backend {
        what: what.to_string(),
        source,
    }
}
