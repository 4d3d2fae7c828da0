//! Joins kernel statistics to a run at the command level: starts the session before the
//! workers, adds its counts to each second as it completes, and says why eBPF was not used.

use std::net::SocketAddr;
use std::time::Duration;

use crate::engine::RunResult;
use crate::error::SetupError;
use crate::kstats::{Mode, Session};
use crate::stats::second::{Second, SecondSink, TimelineEntry};

/// How long the workers' last connections get to reach CLOSE in the kernel after the run, so
/// that opened and closed can be compared.
const SETTLE: Duration = Duration::from_millis(500);

/// Runs `run` (the engine) with kernel statistics for connections to `addr` around it: started
/// before the workers, added to each second as it completes, and to the result at the end.
pub fn around<S: SecondSink>(
    mode: Mode,
    addr: SocketAddr,
    connections: u32,
    sink: &mut S,
    run: impl FnOnce(&mut WithKernel<'_, S>) -> Result<RunResult, SetupError>,
) -> Result<RunResult, SetupError> {
    let mut session = start(mode, addr, connections)?;
    let mut result = run(&mut WithKernel {
        inner: sink,
        kernel: session.as_mut(),
    })?;
    result.kernel = session.map(|s| s.finish(SETTLE));
    Ok(result)
}

/// Starts kernel statistics (None when off), printing one line when eBPF is not used and one
/// per hook that could not attach.
fn start(mode: Mode, addr: SocketAddr, connections: u32) -> Result<Option<Session>, SetupError> {
    let capacity = connections.saturating_mul(2).saturating_add(1024);
    let session = Session::start(mode, addr, capacity)?;
    if let Some(s) = &session {
        if let Some(why) = s.note() {
            eprintln!("ringblast: kernel stats from host-wide /proc counters: {why}");
        }
        for (hook, why) in s.skipped_hooks() {
            eprintln!("ringblast: kernel stats: the {hook} hook is skipped ({why})");
        }
    }
    Ok(session)
}

/// A sink that adds the kernel's counts to each second, then hands it on.
pub struct WithKernel<'a, S> {
    inner: &'a mut S,
    kernel: Option<&'a mut Session>,
}

impl<S: SecondSink> SecondSink for WithKernel<'_, S> {
    fn start(&mut self, started_unix: u64) {
        self.inner.start(started_unix);
    }

    fn annotate(&mut self, entry: &mut TimelineEntry) {
        if let Some(k) = self.kernel.as_deref_mut() {
            entry.kernel = Some(k.second());
        }
        self.inner.annotate(entry);
    }

    fn second(&mut self, entry: &TimelineEntry, second: &Second) {
        self.inner.second(entry, second);
    }
}
