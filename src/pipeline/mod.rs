//! One run of a plan, the same for every command that runs load: refuse what the command cannot
//! honour, choose the backend once, open the outputs, wait for the start, run, write everything.

mod refuse;
mod start;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use crate::cli::RunArgs;
use crate::engine::worker::BackendKind;
use crate::engine::{self, EngineConfig, RunResult, choose_backend};
use crate::error::{Exit, SetupError};
use crate::output::{Output, Outputs};
use crate::plan::RunPlan;
use crate::report::Report;

pub use refuse::{LoadCommand, check, flags};

/// Owns one run of a plan: its backend, its outputs and what the command adds to it.
pub struct Pipeline {
    pub plan: RunPlan,
    pub command: LoadCommand,
    backend: BackendKind,
    /// Why io_uring was not used, when `--io auto` fell back (said once, here).
    fallback: Option<String>,
    outputs: Outputs,
    /// Users set from outside while the run goes (a Locust master).
    live_users: Option<Arc<AtomicU64>>,
    /// Keep each second per endpoint even when no output here reads them (a round whose
    /// report goes into a JSON file written later).
    endpoint_seconds: bool,
}

impl Pipeline {
    /// Resolves `command`'s flags into a plan and opens the run's outputs, refusing first what
    /// the command cannot honour.
    pub fn from_args(command: LoadCommand, args: &RunArgs) -> Result<Self, SetupError> {
        refuse::check(command, args)?;
        Self::new(command, RunPlan::from_args(args)?)
    }

    /// Opens the outputs of a plan already made (checked against the table by its maker).
    pub fn new(command: LoadCommand, plan: RunPlan) -> Result<Self, SetupError> {
        let (backend, fallback) = choose_backend(plan.io)?;
        if let Some(why) = &fallback {
            eprintln!("ringblast: io_uring unavailable ({why}); using epoll");
        }
        // peak's steps have no outputs of their own: it reports the search.
        let outputs = match command {
            LoadCommand::Peak => Outputs::default(),
            _ => Outputs::for_plan(&plan)?,
        };
        Ok(Self {
            plan,
            command,
            backend,
            fallback,
            outputs,
            live_users: None,
            endpoint_seconds: false,
        })
    }

    /// One round of `--rounds`: the same plan with no outputs of its own (the rounds' report
    /// is written once, at the end); each second keeps its endpoints when the JSON will.
    pub fn round(plan: RunPlan) -> Result<Self, SetupError> {
        let endpoint_seconds = plan.json.is_some() && plan.program.endpoint_names().len() > 1;
        let mut p = Self::new(LoadCommand::Peak, plan)?;
        p.command = LoadCommand::Run;
        p.endpoint_seconds = endpoint_seconds;
        Ok(p)
    }

    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// The run's users are set from outside while it goes, not by its shape.
    pub fn set_live_users(&mut self, users: Arc<AtomicU64>) {
        self.live_users = Some(users);
    }

    /// One more output, fed like the others (a Locust master's stats).
    pub fn add_output(&mut self, output: Box<dyn Output>) {
        self.outputs.push(output);
    }

    /// Waits for `--start-at`, then runs the plan with kernel statistics around the engine and
    /// every output fed each second.
    pub fn run(&mut self, stop: Arc<AtomicBool>) -> Result<RunResult, SetupError> {
        let mut cfg = self.plan.engine();
        cfg.live_users = self.live_users.clone();
        cfg.per_endpoint_seconds = self.outputs.per_endpoint() || self.endpoint_seconds;
        let plan = &self.plan;
        let backend = self.backend;
        let mut result = crate::kernel::around(
            plan.kernel_stats,
            plan.target.addr,
            plan.connections,
            &mut self.outputs,
            |sink| {
                start::wait_until(plan.start_at, &stop);
                engine::run(&cfg, backend, stop, sink)
            },
        )?;
        result.fallback = self.fallback.clone();
        Ok(result)
    }

    /// Runs a variant of the plan (a step of `peak`) on the same backend, with no outputs.
    pub fn run_config(
        &self,
        cfg: &EngineConfig,
        stop: Arc<AtomicBool>,
    ) -> Result<RunResult, SetupError> {
        let mut result = engine::run(cfg, self.backend, stop, &mut |_: &_| {})?;
        result.fallback = self.fallback.clone();
        Ok(result)
    }

    /// The report of a finished (or interrupted) run, with its shard when it is one.
    pub fn report(&self, result: &RunResult) -> Report {
        let plan = &self.plan;
        let (method, scenario) = match &plan.scenario {
            Some(path) => ("SCENARIO", Some(path.display().to_string())),
            None => (plan.request.method.as_str(), None),
        };
        let mut report =
            Report::with_scenario(result, &plan.url, method, scenario, &plan.assertions);
        report.plan = Some(plan.load_fingerprint.clone());
        if plan.shard.count > 1 {
            report.shard = Some(crate::report::ShardReport {
                index: plan.shard.index,
                count: plan.shard.count,
                plan: plan.fingerprint.clone(),
                started_unix: result.started_unix,
            });
        }
        report
    }

    /// Writes every output whole and says how the process ends: 1 when an output could not be
    /// written or no connection was ever made, 3 when an assertion failed.
    pub fn finish(mut self, result: &RunResult) -> Exit {
        let report = self.report(result);
        if !self.outputs.finish(&report) {
            return Exit::Failed;
        }
        let t = &result.totals;
        if t.connects == 0 && t.counts.errors > 0 {
            let refusal = self.plan.tls.as_ref().and_then(|t| t.refusal());
            let hint = match &result.alpn_refused {
                Some(why) => format!(
                    "; the server did not agree to HTTP/2: {why}; use --http auto to speak \
                     what it offers, or --http 1.1"
                )
                .into(),
                None => tls_hint(t, refusal),
            };
            eprintln!(
                "ringblast: no connection to {} could be made{hint}",
                self.plan.target.addr,
            );
            return Exit::Failed;
        }
        if report.assertions_passed() {
            Exit::Completed
        } else {
            Exit::AssertionFailed
        }
    }
}

/// What to do about TLS failures that stopped every connection, if that is what happened; with
/// the verifier's own words for a refused certificate when it gave them.
fn tls_hint(t: &crate::stats::Totals, refusal: Option<String>) -> std::borrow::Cow<'static, str> {
    use crate::stats::ErrorKind as K;
    if t.error_count(K::TlsCertificate) > 0 {
        match refusal {
            Some(why) => format!(
                "; the server's certificate was refused (tls_certificate): {why}; or skip \
                 verification with --insecure"
            )
            .into(),
            None => "; the server's certificate was not trusted or does not name the host \
                (tls_certificate): trust its CA with --cacert FILE, use the name it was issued \
                for, or skip verification with --insecure"
                .into(),
        }
    } else if t.error_count(K::TlsProtocol) > 0 {
        "; the TLS handshake failed (tls_protocol): is the target speaking TLS, and does it \
         accept the --tls-version asked for?"
            .into()
    } else if t.error_count(K::TlsAlert) > 0 {
        "; the server refused the TLS session with an alert (tls_alert)".into()
    } else if t.error_count(K::TlsHandshakeTimeout) > 0 {
        "; the TLS handshake did not finish within --connect-timeout (tls_handshake_timeout)".into()
    } else {
        "".into()
    }
}
