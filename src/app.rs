//! The commands behind `main`: wire signals, build plans, run, render reports, choose exit codes
//! (0 completed, 1 runtime failure, 2 usage or configuration error, 3 an assertion failed).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::{
    Cli, Command, CompareArgs, DemoArgs, LocustWorkerArgs, MergeArgs, PeakArgs, ReportArgs,
    RunArgs, ServeArgs,
};
use crate::engine::collect::TimelineEntry;
use crate::engine::{self, RunResult, choose_backend};
use crate::error::{Exit, SetupError};
use crate::plan::{RunPlan, ServePlan};
use crate::report::stream::{History, IntervalLog, Streams};
use crate::report::{Report, text};

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
        Command::Report(args) => report(&args),
        Command::Merge(args) => merge(&args),
        Command::LocustWorker(args) => locust_worker(&args, stop),
        Command::Demo(args) => demo(&args, stop),
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

/// Prints each completed second on stderr, when it is a terminal and not `-q`.
fn progress_printer(enabled: bool) -> impl FnMut(&TimelineEntry) {
    let enabled = enabled && std::io::stderr().is_terminal();
    move |e| {
        if enabled {
            eprint!("\r\x1b[K{}", text::progress_line(e));
        }
    }
}

/// Prints text (ignoring a closed stdout), writes JSON, and picks the exit code.
fn finish(plan: &RunPlan, result: &RunResult, progress: bool) -> Result<Exit, SetupError> {
    if progress && std::io::stderr().is_terminal() {
        eprint!("\r\x1b[K");
    }
    let (method, scenario) = match &plan.scenario {
        Some(path) => ("SCENARIO", Some(path.display().to_string())),
        None => (plan.request.method.as_str(), None),
    };
    let mut report = Report::with_scenario(result, &plan.url, method, scenario, &plan.assertions);
    if plan.shard.count > 1 {
        report.shard = Some(crate::report::ShardReport {
            index: plan.shard.index,
            count: plan.shard.count,
            plan: plan.fingerprint.clone(),
            started_unix: result.started_unix,
        });
    }
    if !emit(
        &report,
        plan.json.as_deref(),
        plan.html.as_deref(),
        plan.csv.as_deref(),
    ) {
        return Ok(Exit::Failed);
    }
    let t = &result.totals;
    if t.connects == 0 && t.counts.errors > 0 {
        eprintln!(
            "ringblast: no connection to {} could be made{}",
            plan.target.addr,
            tls_hint(t)
        );
        return Ok(Exit::Failed);
    }
    if !report.assertions_passed() {
        return Ok(Exit::AssertionFailed);
    }
    Ok(Exit::Completed)
}

/// Prints the text report (ignoring a closed stdout) and writes the JSON, HTML and CSV outputs
/// asked for, each whole; false (having said which and why) when one cannot be written.
fn emit(
    report: &Report,
    json: Option<&std::path::Path>,
    html: Option<&std::path::Path>,
    csv: Option<&std::path::Path>,
) -> bool {
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(text::render(report).as_bytes())
        .and_then(|_| out.flush());
    let results = [
        json.map(|p| (p.display().to_string(), report.write_json(p))),
        html.map(|p| (p.display().to_string(), write_html(p, report))),
        csv.map(|p| {
            let name = format!("{}_*.csv", p.display());
            (name, crate::report::csv::write(p, report))
        }),
    ];
    for (name, result) in results.into_iter().flatten() {
        if let Err(e) = result {
            eprintln!("ringblast: cannot write {name}: {e}");
            return false;
        }
    }
    true
}

/// What to do about TLS failures that stopped every connection, if that is what happened.
fn tls_hint(t: &crate::stats::Totals) -> &'static str {
    use crate::stats::ErrorKind as K;
    if t.error_count(K::TlsCertificate) > 0 {
        "; the server's certificate was not trusted or does not name the host (tls_certificate): \
         trust its CA with --cacert FILE, use the name it was issued for, or skip verification \
         with --insecure"
    } else if t.error_count(K::TlsProtocol) > 0 {
        "; the TLS handshake failed (tls_protocol): is the target speaking TLS, and does it \
         accept the --tls-version asked for?"
    } else if t.error_count(K::TlsAlert) > 0 {
        "; the server refused the TLS session with an alert (tls_alert)"
    } else if t.error_count(K::TlsHandshakeTimeout) > 0 {
        "; the TLS handshake did not finish within --connect-timeout (tls_handshake_timeout)"
    } else {
        ""
    }
}

fn run(args: &RunArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    let plan = RunPlan::from_args(args)?;
    let (kind, fallback) = choose_backend(plan.io)?;
    if let Some(why) = &fallback {
        eprintln!("ringblast: io_uring unavailable ({why}); using epoll");
    }
    let mut streams = open_streams(&plan, progress_printer(plan.progress))?;
    let metrics = match plan.metrics_listen {
        Some(addr) => {
            let endpoints = plan
                .program
                .endpoints
                .iter()
                .map(|e| (e.name.clone(), e.method.clone()))
                .collect();
            let server = crate::metrics::serve(addr, endpoints)?;
            eprintln!("ringblast: metrics on http://{}/metrics", server.addr);
            Some(server)
        }
        None => None,
    };
    let mut live = crate::metrics::WithMetrics::new(&mut streams, metrics.as_ref());
    let mut result = crate::kernel::around(
        plan.kernel_stats,
        plan.target.addr,
        plan.connections,
        &mut live,
        |sink| {
            wait_until(plan.start_at, &stop);
            engine::run(&plan.engine(), kind, stop, sink)
        },
    )?;
    result.fallback = fallback;
    if let Err(e) = streams.finish() {
        eprintln!("ringblast: cannot write the per-second outputs: {e}");
        finish(&plan, &result, plan.progress)?;
        return Ok(Exit::Failed);
    }
    finish(&plan, &result, plan.progress)
}

/// Sleeps until `--start-at` (a stop request ends the wait early); says so when it has passed.
fn wait_until(at: Option<std::time::SystemTime>, stop: &AtomicBool) {
    let Some(at) = at else { return };
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(wait) => {
            let end = std::time::Instant::now() + wait;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let left = end.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
            }
        }
        Err(late) => eprintln!(
            "ringblast: --start-at was {:.1}s ago; starting now",
            late.duration().as_secs_f64()
        ),
    }
}

/// Opens the outputs written as the run goes (`--csv` history, `--hlog`), before it starts, so
/// an unwritable path fails at once.
fn open_streams<P: FnMut(&TimelineEntry)>(
    plan: &RunPlan,
    progress: P,
) -> Result<Streams<P>, SetupError> {
    let endpoints: Vec<(String, String)> = plan
        .program
        .endpoints
        .iter()
        .map(|e| (e.name.clone(), e.method.clone()))
        .collect();
    let mut streams = Streams::new(progress);
    if let Some(prefix) = &plan.csv {
        let history = History::create(
            prefix,
            endpoints.clone(),
            plan.csv_full_history,
            u64::from(plan.connections),
        );
        streams.history = Some(history.map_err(|source| SetupError::Output {
            path: format!("{}_stats_history.csv", prefix.display()),
            source,
        })?);
    }
    if let Some(path) = &plan.hlog {
        let log = IntervalLog::create(path, &endpoints);
        streams.hlog = Some(log.map_err(|source| SetupError::Output {
            path: path.display().to_string(),
            source,
        })?);
    }
    Ok(streams)
}

fn demo(args: &DemoArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    let (plan, result, answered) = crate::demo::run(args, stop, progress_printer(true))?;
    let code = finish(&plan, &result, true)?;
    println!("  built-in target answered {answered} requests");
    Ok(code)
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
    if r.sets_load() {
        return Err(usage(
            "peak chooses the rates itself: drop -R, --users, --stages, -n and -d (use --step)",
        ));
    }
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
    if r.shard.is_some() || r.start_at.is_some() {
        return Err(usage(
            "peak searches one process's rate: --shard and --start-at are for `run`",
        ));
    }
    if r.metrics_listen.is_some() {
        return Err(usage(
            "peak does not serve --metrics-listen; run one rate with `run --metrics-listen`",
        ));
    }
    if r.kernel_stats == crate::cli::KernelStatsArg::On {
        return Err(usage(
            "peak does not collect kernel statistics; run one rate with `run --kernel-stats on`",
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
    let plan = RunPlan::from_args(&run_args)?;
    let (kind, fallback) = choose_backend(plan.io)?;
    if let Some(why) = &fallback {
        eprintln!("ringblast: io_uring unavailable ({why}); using epoll");
    }
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
    let report = crate::peak::run(&plan, kind, cfg, stop, |s| {
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
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(crate::compare::render(&sources, args.markdown).as_bytes());
    Ok(Exit::Completed)
}

/// Writes the HTML page whole.
fn write_html(path: &std::path::Path, report: &Report) -> std::io::Result<()> {
    crate::report::write_whole(path, crate::report::html::render(report).as_bytes())
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
    if let Err(e) = write_html(&args.html, &report) {
        eprintln!("ringblast: cannot write {}: {e}", args.html.display());
        return Ok(Exit::Failed);
    }
    Ok(Exit::Completed)
}

fn merge(args: &MergeArgs) -> Result<Exit, SetupError> {
    let reports = args
        .reports
        .iter()
        .map(|p| Ok((p.display().to_string(), read_report(p)?)))
        .collect::<Result<Vec<_>, SetupError>>()?;
    let merged = crate::merge::merge(reports).map_err(SetupError::Usage)?;
    if !emit(
        &merged,
        args.json.as_deref(),
        args.html.as_deref(),
        args.csv.as_deref(),
    ) {
        return Ok(Exit::Failed);
    }
    Ok(if merged.assertions_passed() {
        Exit::Completed
    } else {
        Exit::AssertionFailed
    })
}

/// Feeds each completed second to the stats a Locust worker reports.
struct LocustSink {
    pending: Arc<std::sync::Mutex<crate::locust::stats::Pending>>,
    started_unix: u64,
}

impl crate::engine::collect::SecondSink for LocustSink {
    fn start(&mut self, started_unix: u64) {
        self.started_unix = started_unix;
    }

    fn second(&mut self, entry: &TimelineEntry, second: &crate::engine::collect::Second) {
        if let Ok(mut p) = self.pending.lock() {
            p.add(self.started_unix, entry, second);
        }
    }
}

fn locust_worker(args: &LocustWorkerArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    use crate::locust::worker::{Config, Shared, Worker};
    let r = &args.run;
    if r.sets_load() || r.shard.is_some() {
        return Err(SetupError::Usage(
            "the Locust master sets users and time: drop -R, -u, --stages, -n, -d and --shard"
                .into(),
        ));
    }
    if args.max_users == 0 {
        return Err(SetupError::Usage("--max-users must be at least 1".into()));
    }
    let mut run_args = r.clone();
    run_args.users = Some(args.max_users);
    run_args.spawn_rate = Some(1e9);
    // Until the master says quit: a year is the longest it will be asked to run.
    run_args.duration = Some(std::time::Duration::from_secs(365 * 86_400));
    let plan = RunPlan::from_args(&run_args)?;
    let (kind, fallback) = choose_backend(plan.io)?;
    if let Some(why) = &fallback {
        eprintln!("ringblast: io_uring unavailable ({why}); using epoll");
    }
    let program = &plan.program;
    let endpoints: Vec<(String, String)> = program
        .endpoints
        .iter()
        .map(|e| (e.name.clone(), e.method.clone()))
        .collect();
    let expect = (0..endpoints.len())
        .map(|ep| {
            program
                .tasks
                .iter()
                .find(|t| t.endpoint == ep)
                .and_then(|t| t.expect.clone())
        })
        .collect();
    let pending = Arc::new(std::sync::Mutex::new(crate::locust::stats::Pending::new(
        endpoints, expect,
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
    let worker = Worker::join(cfg, shared).map_err(SetupError::Master)?;
    eprintln!(
        "ringblast: a worker of the Locust master at {}",
        args.master
    );
    let control = std::thread::Builder::new()
        .name("ringblast-locust".into())
        .spawn(move || worker.run())
        .map_err(|e| SetupError::Worker(format!("cannot start a thread: {e}")))?;
    let mut engine = plan.engine();
    engine.live_users = Some(users);
    engine.per_endpoint_seconds = true;
    let mut sink = LocustSink {
        pending,
        started_unix: 0,
    };
    let result = engine::run(&engine, kind, stop.clone(), &mut sink);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    finished.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = control.join();
    let mut result = result?;
    result.fallback = fallback;
    finish(&plan, &result, false)
}
