//! The commands behind `main`: wire signals, build plans, run, render reports, choose exit codes
//! (0 completed, 1 runtime failure, 2 usage or configuration error, 3 an assertion failed).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::{Cli, Command, DemoArgs, RunArgs, ServeArgs};
use crate::engine::collect::TimelineEntry;
use crate::engine::{self, RunResult, choose_backend};
use crate::error::SetupError;
use crate::plan::{RunPlan, ServePlan};
use crate::report::{Report, text};

/// Runs one command and returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping exits at once; the first asks for a clean stop.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone());
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let result = match cli.command {
        Command::Run(args) => run(&args, stop),
        Command::Serve(args) => serve(&args, stop),
        Command::Demo(args) => demo(&args, stop),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ringblast: {}", one_line(&e.to_string()));
            e.exit_code()
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
fn finish(plan: &RunPlan, result: &RunResult, progress: bool) -> Result<i32, SetupError> {
    if progress && std::io::stderr().is_terminal() {
        eprint!("\r\x1b[K");
    }
    let report = Report::new(result, &plan.url, &plan.request.method, &plan.assertions);
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(text::render(&report).as_bytes())
        .and_then(|_| out.flush());
    if let Some(path) = &plan.json
        && let Err(e) = report.write_json(path)
    {
        eprintln!("ringblast: cannot write {}: {e}", path.display());
        return Ok(1);
    }
    let t = &result.totals;
    if t.connects == 0 && t.counts.errors > 0 {
        eprintln!(
            "ringblast: no connection to {} could be made",
            plan.target.addr
        );
        return Ok(1);
    }
    if !report.assertions_passed() {
        return Ok(3);
    }
    Ok(0)
}

fn run(args: &RunArgs, stop: Arc<AtomicBool>) -> Result<i32, SetupError> {
    let plan = RunPlan::from_args(args)?;
    let (kind, fallback) = choose_backend(plan.io)?;
    if let Some(why) = &fallback {
        eprintln!("ringblast: io_uring unavailable ({why}); using epoll");
    }
    let mut result = engine::run(&plan, kind, stop, progress_printer(plan.progress))?;
    result.fallback = fallback;
    finish(&plan, &result, plan.progress)
}

fn demo(args: &DemoArgs, stop: Arc<AtomicBool>) -> Result<i32, SetupError> {
    let (plan, result, answered) = crate::demo::run(args, stop, progress_printer(true))?;
    let code = finish(&plan, &result, true)?;
    println!("  built-in target answered {answered} requests");
    Ok(code)
}

fn serve(args: &ServeArgs, stop: Arc<AtomicBool>) -> Result<i32, SetupError> {
    let plan = ServePlan::from_args(args)?;
    let (kind, fallback) = choose_backend(plan.io)?;
    if let Some(why) = &fallback {
        eprintln!("ringblast: io_uring unavailable ({why}); using epoll");
    }
    let server = crate::serve::start(&plan, kind, stop)?;
    eprintln!(
        "ringblast serve: listening on http://{} ({} workers, {}), Ctrl-C to stop",
        server.addr,
        plan.cpus.len(),
        kind.name()
    );
    let answered = server.join()?;
    println!("answered {answered} requests");
    Ok(0)
}
