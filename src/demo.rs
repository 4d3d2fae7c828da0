//! `ringblast demo`: the built-in mock API on a free loopback port, a few seconds of a small
//! scenario (login, list, read, create) against it on the same CPUs, and the report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::{DemoArgs, RunArgs, TlsArgs, WorkerArgs};
use crate::engine::{self, choose_backend};
use crate::error::SetupError;
use crate::plan::{RunPlan, ServePlan, online_cpus};
use crate::serve;
use crate::serve::routes::Routes;

const ROUTES: &str = include_str!("../examples/demo/routes.toml");
const SCENARIO: &str = include_str!("../examples/demo/scenario.toml");

/// Starts the mock, runs the scenario, stops the mock; returns the plan, the result and how many
/// requests the mock answered.
pub fn run(
    args: &DemoArgs,
    stop: Arc<AtomicBool>,
    mut progress: impl FnMut(&engine::collect::TimelineEntry),
) -> Result<(RunPlan, engine::RunResult, u64), SetupError> {
    let (kind, fallback) = choose_backend(args.io.into())?;
    let routes = Routes::parse(ROUTES, std::path::Path::new("the demo's embedded routes"))?;
    let serve_plan = ServePlan {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        cpus: online_cpus(),
        status: 200,
        body_size: 13,
        delay: Duration::ZERO,
        unique_heads: false,
        limits: crate::plan::Limits::default(),
        routes: Some(Arc::new(routes)),
        tls: if args.tls {
            Some(crate::tls::ServerTls::new(&Default::default())?)
        } else {
            None
        },
        io: args.io.into(),
    };
    // The scenario goes through the same path as any user's file.
    let dir = std::env::temp_dir().join(format!("ringblast-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| SetupError::Worker(format!("cannot write the demo scenario: {e}")))?;
    let scenario_path = dir.join("demo-scenario.toml");
    std::fs::write(&scenario_path, SCENARIO)
        .map_err(|e| SetupError::Worker(format!("cannot write the demo scenario: {e}")))?;
    // Over TLS the client trusts the certificate the target just made, and nothing else extra.
    let mut tls = TlsArgs::default();
    if let Some(pem) = serve_plan.tls.as_ref().and_then(|t| t.self_signed.as_ref()) {
        let path = dir.join("demo-cert.pem");
        std::fs::write(&path, pem)
            .map_err(|e| SetupError::Worker(format!("cannot write the demo certificate: {e}")))?;
        tls.cacert = Some(path);
    }
    let scheme = if args.tls { "https" } else { "http" };
    let server_stop = Arc::new(AtomicBool::new(false));
    let server = serve::start(&serve_plan, kind, server_stop.clone())?;
    let run_args = RunArgs {
        url: None,
        scenario: Some(scenario_path),
        host: Some(format!("{scheme}://{}", server.addr)),
        connections: None,
        duration: Some(args.duration),
        requests: None,
        pipeline: None,
        rate: None,
        stages: None,
        users: Some(u64::from(args.connections)),
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
        capture_max: "1m".into(),
        no_resend: false,
        requests_per_conn: None,
        tls,
        kernel_stats: args.kernel_stats,
        latency_clock: crate::cli::LatencyClockArg::Auto,
        batch_window: None,
        metrics_listen: None,
        shard: None,
        start_at: None,
        json: args.json.clone(),
        csv: None,
        csv_full_history: false,
        html: args.html.clone(),
        hlog: None,
        quiet: false,
    };
    let outcome = RunPlan::from_args(&run_args).and_then(|plan| {
        let mut result = crate::kernel::around(
            plan.kernel_stats,
            plan.target.addr,
            plan.connections,
            &mut progress,
            |sink| engine::run(&plan.engine(), kind, stop, sink),
        )?;
        result.fallback = fallback;
        Ok((plan, result))
    });
    server_stop.store(true, Ordering::Relaxed);
    let answered = server.join()?;
    let _ = std::fs::remove_dir_all(&dir);
    let (plan, result) = outcome?;
    Ok((plan, result, answered))
}
