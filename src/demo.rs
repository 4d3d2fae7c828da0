//! `ringblast demo`: the built-in mock API on a free loopback port, a few seconds of a small
//! scenario (login, list, read, create) against it on the same CPUs, and the report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::ffi::OsString;

use clap::{Parser, ValueEnum};

use crate::cli::{DemoArgs, RunArgs};
use crate::engine::choose_backend;
use crate::error::{Exit, SetupError};
use crate::pipeline::{LoadCommand, Pipeline};
use crate::plan::{RunPlan, ServePlan, online_cpus};
use crate::routes::Routes;
use crate::scenario::Scenario;
use crate::serve;

const ROUTES: &str = include_str!("../examples/demo/routes.toml");
const SCENARIO: &str = include_str!("../examples/demo/scenario.toml");

/// The demo's load, as `run` flags would say it: parsed like a user's, so its defaults are the
/// CLI's.
#[derive(Parser)]
struct DemoRun {
    #[command(flatten)]
    run: RunArgs,
}

/// Starts the mock, runs the scenario through the run pipeline, stops the mock, and writes the
/// report with how many requests the mock answered.
pub fn run(args: &DemoArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    let (kind, _) = choose_backend(args.io.into())?;
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
            Some(crate::tls::ServerTls::new(&crate::tls::ServerTlsOptions {
                http2: args.http2,
                ..Default::default()
            })?)
        } else {
            None
        },
        io: args.io.into(),
        http2: args.http2,
    };
    let scenario = Scenario::parse(SCENARIO, std::path::Path::new("the demo's scenario"))?;
    // Over TLS the client trusts the certificate the target just made, and nothing else extra.
    let roots = match serve_plan.tls.as_ref().and_then(|t| t.self_signed.as_ref()) {
        Some(pem) => pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<pki_types::CertificateDer<'static>>, _>>()
            .map_err(|e| SetupError::Tls(format!("the demo's certificate: {e}")))?,
        None => Vec::new(),
    };
    let scheme = if args.tls { "https" } else { "http" };
    let server_stop = Arc::new(AtomicBool::new(false));
    let server = serve::start(&serve_plan, kind, server_stop.clone())?;
    let host = format!("{scheme}://{}", server.addr);
    let mut argv: Vec<OsString> = vec!["demo".into(), "--host".into(), host.into()];
    let mut flag = |name: &str, value: OsString| argv.extend([name.into(), value]);
    flag("--users", args.connections.to_string().into());
    flag("-d", format!("{}ms", args.duration.as_millis()).into());
    flag("--io", value_name(args.io).into());
    flag("--kernel-stats", value_name(args.kernel_stats).into());
    if let Some(p) = &args.json {
        flag("--json", p.into());
    }
    if let Some(p) = &args.html {
        flag("--html", p.into());
    }
    if args.http2 {
        argv.push("--http2".into());
    }
    let outcome = DemoRun::try_parse_from(argv)
        .map_err(|e| SetupError::Usage(e.to_string()))
        .and_then(|d| RunPlan::from_parts(&d.run, Some(scenario), roots))
        .and_then(|plan| Pipeline::new(LoadCommand::Demo, plan))
        .and_then(|mut pipeline| Ok((pipeline.run(stop)?, pipeline)));
    server_stop.store(true, Ordering::Relaxed);
    let answered = server.join()?;
    let (result, pipeline) = outcome?;
    let exit = pipeline.finish(&result);
    println!("  built-in target answered {answered} requests");
    Ok(exit)
}

/// A flag value as the command line spells it.
fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}
