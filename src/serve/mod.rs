//! `ringblast serve`: the built-in HTTP/1.1 (and with `--http2`, HTTP/2) target on the same engine,
//! one pinned worker per CPU with its own SO_REUSEPORT listener: the demo's, tests' and benchmarks'.

pub mod h2;
pub mod handler;

use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;

use crate::engine::worker::{self, BackendKind};
use crate::error::SetupError;
use crate::plan::ServePlan;
use crate::sys::socket;
use handler::{Responses, Server};

/// A running target: its address and its worker threads.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub backend: BackendKind,
    handles: Vec<JoinHandle<Result<u64, SetupError>>>,
}

impl RunningServer {
    /// Waits for the workers (after `stop` was set) and returns how many requests were answered.
    pub fn join(self) -> Result<u64, SetupError> {
        let mut answered = 0;
        for h in self.handles {
            match h.join() {
                Ok(Ok(n)) => answered += n,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(SetupError::Worker("a server thread panicked".into())),
            }
        }
        Ok(answered)
    }
}

/// Binds one listener per worker (port 0 picks a free port shared by all) and starts the workers.
pub fn start(
    plan: &ServePlan,
    kind: BackendKind,
    stop: Arc<AtomicBool>,
) -> Result<RunningServer, SetupError> {
    crate::engine::ensure_open_files(4096)?;
    let listen_err = |source| SetupError::Listen {
        addr: plan.listen.to_string(),
        source,
    };
    // Port 0 with SO_REUSEPORT may be given a port another process's reuseport listener holds
    // (and then share its connections): find a port nobody holds first, then bind it.
    let mut listen = plan.listen;
    if listen.port() == 0 {
        let probe = std::net::TcpListener::bind(listen).map_err(listen_err)?;
        listen = probe.local_addr().map_err(listen_err)?;
    }
    let first = socket::listener(&listen, true).map_err(listen_err)?;
    let addr = socket::local_addr(first.as_raw_fd()).map_err(listen_err)?;
    let mut listeners = vec![first];
    for _ in 1..plan.cpus.len() {
        match socket::listener(&addr, true) {
            Ok(fd) => listeners.push(fd),
            // Dropping the listeners made so far closes them.
            Err(e) => return Err(listen_err(e)),
        }
    }
    let responses = Responses::new(plan.status, plan.body_size, plan.delay, plan.unique_heads);
    let mut handles = Vec::new();
    for (&cpu, fd) in plan.cpus.iter().zip(listeners) {
        let (responses, stop, routes) = (responses.clone(), stop.clone(), plan.routes.clone());
        let (limits, http2) = (plan.limits, plan.http2);
        let tls = plan.tls.as_ref().map(|t| t.config.clone());
        let handle = std::thread::Builder::new()
            .name(format!("ringblast-serve-{cpu}"))
            .spawn(move || {
                worker::pin(cpu);
                let seed = cpu as u64 + 1;
                let server = Server::new(responses, routes, limits, seed, stop, http2);
                let listener = Some(fd.as_fd());
                let answered = match tls {
                    Some(config) => {
                        let mut w = crate::tls::Tls::server(server, config);
                        worker::run(kind, 1024, listener, &mut w)
                    }
                    None => worker::run(kind, 1024, listener, &mut { server }),
                };
                drop(fd);
                answered
            })
            .map_err(|e| SetupError::Worker(format!("cannot start a thread: {e}")))?;
        handles.push(handle);
    }
    Ok(RunningServer {
        addr,
        backend: kind,
        handles,
    })
}
