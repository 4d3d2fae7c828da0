//! The commands behind `main`: wire signals, build plans, run, render reports, choose exit codes
//! (0 completed, 1 runtime failure, 2 usage or configuration error, 3 an assertion failed).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::{
    Cli, Command, CompareArgs, DemoArgs, LocustWorkerArgs, MergeArgs, PeakArgs, ReportArgs,
    RunArgs, ServeArgs,
};
use crate::engine::choose_backend;
use crate::error::{Exit, SetupError};
use crate::output::Outputs;
use crate::pipeline::{LoadCommand, Pipeline};
use crate::plan::{RunPlan, ServePlan};
use crate::report::Report;

/// Runs one command and returns how the process ends.
pub fn main_with(cli: Cli) -> Exit {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping exits at once; the first asks for a clean stop.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone());
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let result = match cli.command {
        Command::Run(args) => run(&args, stop),
        Command::Peak(args) => peak(&args, stop),
        Command::Serve(args) => serve(&args, stop),
        Command::Compare(args) => compare(&args),
        Command::Ab(args) => crate::rounds::ab(&args, stop),
        Command::Report(args) => report(&args),
        Command::Merge(args) => merge(&args),
        Command::LocustWorker(args) => locust_worker(&args, stop),
        Command::Demo(args) => demo(&args, stop),
        Command::Convert(args) => convert(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ringblast: {}", one_line(&e.to_string()));
            e.exit()
        }
    }
}

/// Escapes control characters so an error echoing user input stays on one line.
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn run(args: &RunArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    if args.rounds > 1 {
        return crate::rounds::run(args, stop);
    }
    let mut pipeline = Pipeline::from_args(LoadCommand::Run, args)?;
    let result = pipeline.run(stop)?;
    Ok(pipeline.finish(&result))
}

/// `convert`: the summary to standard error, the TOML to -o or standard output.
fn convert(args: &crate::cli::ConvertArgs) -> Result<Exit, SetupError> {
    let text = std::fs::read_to_string(&args.locustfile).map_err(|e| {
        SetupError::Usage(format!("cannot read {}: {e}", args.locustfile.display()))
    })?;
    let c = crate::locustfile::convert(&text, &args.locustfile, &args.classes, args.strict)?;
    eprint!("{}", c.summary(&args.locustfile));
    c.require_classes(&args.locustfile)?;
    match &args.output {
        Some(path) => std::fs::write(path, &c.toml)
            .map_err(|e| SetupError::Usage(format!("cannot write {}: {e}", path.display())))?,
        None => print!("{}", c.toml),
    }
    Ok(Exit::Completed)
}

fn demo(args: &DemoArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    crate::demo::run(args, stop)
}

fn serve(args: &ServeArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    let plan = ServePlan::from_args(args)?;
    let (kind, fallback) = choose_backend(plan.io)?;
    if let Some(why) = &fallback {
        eprintln!("ringblast: io_uring unavailable ({why}); using epoll");
    }
    let server = crate::serve::start(&plan, kind, stop)?;
    let (scheme, note) = match &plan.tls {
        Some(t) if t.self_signed.is_some() => (
            "https",
            "; a self-signed certificate for localhost, 127.0.0.1 and ::1 (clients need --insecure)",
        ),
        Some(_) => ("https", ""),
        None => ("http", ""),
    };
    eprintln!(
        "ringblast serve: listening on {scheme}://{} ({} workers, {}){note}, Ctrl-C to stop",
        server.addr,
        plan.cpus.len(),
        kind.name()
    );
    let answered = server.join()?;
    println!("answered {answered} requests");
    Ok(Exit::Completed)
}

fn peak(args: &PeakArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    let usage = |m: &str| SetupError::Usage(m.to_string());
    let r = &args.run;
    crate::pipeline::check(LoadCommand::Peak, r)?;
    let precision = match args.precision.trim().strip_suffix('%') {
        Some(p) => p.parse::<f64>().map(|p| p / 100.0),
        None => args.precision.trim().parse::<f64>(),
    }
    .ok()
    .filter(|p| *p > 0.0 && *p < 1.0)
    .ok_or_else(|| usage("--precision is a fraction or percentage between 0 and 100%, e.g. 5%"))?;
    if !(args.start_rate >= 1.0 && args.max_rate >= args.start_rate && args.max_rate.is_finite()) {
        return Err(usage(
            "--start-rate must be at least 1 and no more than --max-rate",
        ));
    }
    if args.step < std::time::Duration::from_secs(1) {
        return Err(usage("--step must be at least 1s"));
    }
    let mut run_args = r.clone();
    if run_args.asserts.is_empty() {
        run_args.asserts = vec!["p99<1s".into(), "success>=98%".into()];
    }
    run_args.duration = Some(args.step);
    // Every step opens its connections and runs its rate during a warm-up before it is judged,
    // so connection set-up never counts against the SLO.
    if run_args.warmup.is_none() {
        run_args.warmup = Some(std::time::Duration::from_secs(1));
    }
    let pipeline = Pipeline::new(LoadCommand::Peak, RunPlan::from_args(&run_args)?)?;
    let plan = &pipeline.plan;
    let cfg = crate::peak::PeakConfig {
        step: args.step,
        precision,
        start_rate: args.start_rate,
        max_rate: args.max_rate,
    };
    let slo = run_args.asserts.join(", ");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "ringblast peak {} {} (SLO: {slo}; {}s steps after a {}s warm-up; a failure is tried twice)",
        plan.request.method,
        plan.url,
        args.step.as_secs_f64(),
        plan.warmup.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  {:>12} {:>12} {:>10} {:>10} {:>9}  verdict",
        "rate", "achieved", "p50", "p99", "success"
    );
    let _ = out.flush();
    let report = crate::peak::run(&pipeline, cfg, stop, |s| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "  {:>12} {:>12} {:>10} {:>10} {:>8.2}%  {}",
            if s.attempt > 1 {
                "(again)".to_string()
            } else {
                crate::units::fmt_count(s.rate.round() as u64)
            },
            crate::units::fmt_count(s.achieved_rps.round() as u64),
            crate::units::fmt_us(s.p50_us as f64),
            crate::units::fmt_us(s.p99_us as f64),
            s.success,
            if s.ok {
                "pass".to_string()
            } else {
                format!("fail ({})", s.failed.join(", "))
            }
        );
        let _ = out.flush();
    })?;
    let why = match report.stopped {
        crate::peak::Stop::Converged => format!("a pass and a fail within {:.1}%", precision * 100.0),
        crate::peak::Stop::Ceiling => "the --max-rate ceiling passed".to_string(),
        crate::peak::Stop::Floor => "no rate tried met the SLO".to_string(),
        crate::peak::Stop::GeneratorBound => {
            "ringblast could not send the rate with a saturated core: its own limit, not the target's".to_string()
        }
        crate::peak::Stop::Interrupted => "interrupted".to_string(),
    };
    let _ = match report.peak_rps {
        Some(p) => writeln!(
            out,
            "peak sustainable rate: {} req/s (stopped: {why})",
            crate::units::fmt_count(p.round() as u64)
        ),
        None => writeln!(out, "no sustainable rate found (stopped: {why})"),
    };
    for (label, step) in [
        ("last pass", &report.last_pass),
        ("first fail", &report.first_fail),
    ] {
        if let Some(s) = step {
            let _ = writeln!(
                out,
                "  {label:<10} {} req/s: achieved {} req/s, p50 {}, p99 {}, success {:.2}%{}",
                crate::units::fmt_count(s.rate.round() as u64),
                crate::units::fmt_count(s.achieved_rps.round() as u64),
                crate::units::fmt_us(s.p50_us as f64),
                crate::units::fmt_us(s.p99_us as f64),
                s.success,
                if s.failed.is_empty() {
                    String::new()
                } else {
                    format!(" (failed: {})", s.failed.join(", "))
                }
            );
        }
    }
    if let Some(path) = &plan.json {
        let write = || -> std::io::Result<()> {
            let bytes = serde_json::to_vec_pretty(&report).map_err(std::io::Error::other)?;
            crate::report::write_whole(path, &bytes)
        };
        if let Err(e) = write() {
            eprintln!("ringblast: cannot write {}: {e}", path.display());
            return Ok(Exit::Failed);
        }
    }
    Ok(if report.peak_rps.is_none() {
        Exit::AssertionFailed
    } else {
        Exit::Completed
    })
}

fn compare(args: &CompareArgs) -> Result<Exit, SetupError> {
    let sources = args
        .inputs
        .iter()
        .map(|a| crate::compare::load(a))
        .collect::<Result<Vec<_>, _>>()?;
    let v = &args.verdict;
    let usage = SetupError::Usage;
    let gates = v
        .fail_if
        .iter()
        .map(|g| crate::verdict::gate::Gate::parse(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let settings = crate::verdict::Settings {
        confidence: crate::compare::parse_confidence(&v.confidence).map_err(usage)?,
        ..Default::default()
    };
    // Each input after the first, judged against the first.
    let base = &sources[0];
    let comparisons: Vec<_> = sources[1..]
        .iter()
        .map(|s| {
            crate::compare::verdicts::compare(
                (&base.label, &base.judged),
                (&s.label, &s.judged),
                settings,
                &gates,
            )
        })
        .collect();
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(crate::compare::render(&sources, args.markdown).as_bytes());
    for c in &comparisons {
        let _ = writeln!(out);
        let _ = out.write_all(c.render(args.markdown).as_bytes());
    }
    let write = |path: &std::path::Path, text: String| {
        crate::compare::write_whole(path, &text)
            .map_err(|e| SetupError::Usage(format!("cannot write {}: {e}", path.display())))
    };
    if let Some(path) = &v.json {
        let doc = serde_json::json!({
            "ringblast_version": env!("CARGO_PKG_VERSION"),
            "inputs": sources.iter().map(|s| &s.label).collect::<Vec<_>>(),
            "comparisons": comparisons,
        });
        write(path, serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    }
    if let Some(path) = &v.html {
        write(path, crate::compare::html::render_all(&comparisons))?;
    }
    let breached = comparisons
        .iter()
        .any(|c| c.exit() == Exit::AssertionFailed);
    Ok(if breached {
        Exit::AssertionFailed
    } else {
        Exit::Completed
    })
}

/// Reads a report written by `run --json`, through the report's own types.
fn read_report(path: &std::path::Path) -> Result<Report, SetupError> {
    let usage = |e: String| SetupError::Usage(format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| usage(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("not JSON: {e}")))?;
    if value.get("ringblast_version").is_none() {
        return Err(usage(
            "not a ringblast report (written by run --json)".into(),
        ));
    }
    // Read through the report's own types: a field renamed or of the wrong type is an error
    // here, not a silent zero on the page.
    serde_json::from_value(value)
        .map_err(|e| usage(format!("not a ringblast report of this version: {e}")))
}

fn report(args: &ReportArgs) -> Result<Exit, SetupError> {
    let report = read_report(&args.json)?;
    let mut outputs = Outputs::default();
    outputs.html(&args.html);
    Ok(if outputs.finish(&report) {
        Exit::Completed
    } else {
        Exit::Failed
    })
}

fn merge(args: &MergeArgs) -> Result<Exit, SetupError> {
    let reports = args
        .reports
        .iter()
        .map(|p| Ok((p.display().to_string(), read_report(p)?)))
        .collect::<Result<Vec<_>, SetupError>>()?;
    let merged = crate::merge::merge(reports).map_err(SetupError::Usage)?;
    let mut outputs = Outputs::default();
    outputs.finals(
        merged.endpoints.len(),
        args.json.as_deref(),
        args.html.as_deref(),
        args.csv.as_deref(),
    );
    if !outputs.finish(&merged) {
        return Ok(Exit::Failed);
    }
    Ok(if merged.assertions_passed() {
        Exit::Completed
    } else {
        Exit::AssertionFailed
    })
}

fn locust_worker(args: &LocustWorkerArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    use crate::locust::control::{Config, ControlPlane, Shared};
    let r = &args.run;
    crate::pipeline::check(LoadCommand::LocustWorker, r)?;
    if args.max_users == 0 {
        return Err(SetupError::Usage("--max-users must be at least 1".into()));
    }
    // host:port, checked before any retrying: without a port nothing can ever connect.
    let port_ok = args
        .master
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !port_ok {
        return Err(SetupError::Usage(format!(
            "--master '{}': expected HOST:PORT, e.g. 127.0.0.1:5557 (the master's --master-bind-port)",
            args.master
        )));
    }
    let mut run_args = r.clone();
    run_args.users = Some(args.max_users);
    run_args.spawn_rate = Some(1e9);
    // Until the master says quit: a year is the longest it will be asked to run.
    run_args.duration = Some(std::time::Duration::from_secs(365 * 86_400));
    let mut pipeline = Pipeline::new(LoadCommand::LocustWorker, RunPlan::from_args(&run_args)?)?;
    let plan = &pipeline.plan;
    let program = &plan.program;
    let pending = Arc::new(std::sync::Mutex::new(crate::locust::stats::Pending::new(
        program.endpoint_names(),
    )));
    let users = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let shared = Shared {
        users: users.clone(),
        stop: stop.clone(),
        pending: pending.clone(),
        finished: finished.clone(),
    };
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "ringblast".into());
    let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|u| u.trim().replace('-', ""))
        .unwrap_or_else(|_| format!("{:032x}", std::process::id()));
    // A scenario's [[user]] names are the master's classes; a plain URL runs any class.
    let plain = program.classes.len() == 1
        && program.classes[0].name == "default"
        && plan.scenario.is_none();
    let cfg = Config {
        master: args.master.clone(),
        identity: format!("{host}_{uuid}"),
        classes: program.classes.iter().map(|c| c.name.clone()).collect(),
        class_cycle: program.class_cycle.clone(),
        max_users: args.max_users,
        connect_timeout: args.master_timeout,
        cpus: plan.cpus.len(),
        any_class: plain,
    };
    let control = ControlPlane::join(cfg, shared)?;
    eprintln!(
        "ringblast: a worker of the Locust master at {}",
        args.master
    );
    let control = std::thread::Builder::new()
        .name("ringblast-locust".into())
        .spawn(move || control.run())
        .map_err(|e| SetupError::Worker(format!("cannot start a thread: {e}")))?;
    pipeline.set_live_users(users);
    pipeline.add_output(Box::new(crate::output::LocustStats::new(pending)));
    let result = pipeline.run(stop.clone());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    finished.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = control.join();
    Ok(pipeline.finish(&result?))
}
