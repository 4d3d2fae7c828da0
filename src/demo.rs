//! `ringblast demo`: the built-in target on a free loopback port, a few seconds of load against
//! it on the same CPUs, and the report. The first thing a new user runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::{DemoArgs, RunArgs, WorkerArgs};
use crate::engine::{self, choose_backend};
use crate::error::SetupError;
use crate::plan::{RunPlan, ServePlan, online_cpus};
use crate::serve;

/// Starts the target, runs the load, stops the target; returns the plan and result.
pub fn run(
    args: &DemoArgs,
    stop: Arc<AtomicBool>,
    progress: impl FnMut(&engine::collect::TimelineEntry),
) -> Result<(RunPlan, engine::RunResult, u64), SetupError> {
    let (kind, fallback) = choose_backend(args.io.into())?;
    let serve_plan = ServePlan {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        cpus: online_cpus(),
        status: 200,
        body_size: 13,
        delay: Duration::ZERO,
        unique_heads: false,
        routes: None,
        io: args.io.into(),
    };
    let server_stop = Arc::new(AtomicBool::new(false));
    let server = serve::start(&serve_plan, kind, server_stop.clone())?;
    let run_args = RunArgs {
        url: Some(format!("http://{}/demo", server.addr)),
        scenario: None,
        host: None,
        connections: Some(args.connections),
        duration: Some(args.duration),
        requests: None,
        pipeline: None,
        rate: None,
        stages: None,
        users: None,
        spawn_rate: None,
        think: None,
        warmup: None,
        asserts: Vec::new(),
        workers: WorkerArgs {
            threads: None,
            cpus: None,
            io: args.io,
        },
        method: None,
        headers: Vec::new(),
        body: None,
        body_file: None,
        timeout: None,
        connect_timeout: None,
        json: args.json.clone(),
        quiet: false,
    };
    let outcome = RunPlan::from_args(&run_args).and_then(|plan| {
        let mut result = engine::run(&plan, kind, stop, progress)?;
        result.fallback = fallback;
        Ok((plan, result))
    });
    server_stop.store(true, Ordering::Relaxed);
    let answered = server.join()?;
    let (plan, result) = outcome?;
    Ok((plan, result, answered))
}
