//! A run's outputs as one list behind one trait: each is fed the completed seconds as they come
//! and the whole report at the end. A new format is one file here and one flag in the plan.

mod csv;
mod hlog;
mod html;
mod json;
mod locust;
mod metrics;
mod progress;
mod text;

use crate::error::SetupError;
use crate::plan::RunPlan;
use crate::report::Report;
use crate::stats::second::{Second, SecondSink, TimelineEntry};

pub use locust::LocustStats;
pub use metrics::Metrics;

/// One output of a run or a merge: the text on stdout, a file, the metrics listener, the
/// progress line or a Locust master's stats.
pub trait Output {
    /// Where it writes, for the message when it cannot.
    fn target(&self) -> String;
    /// It needs each second per endpoint (latency, counts, statuses), which workers then keep.
    fn per_endpoint(&self) -> bool {
        false
    }
    /// Measurement starts at this Unix time (whole seconds); called once, before any second.
    fn start(&mut self, _started_unix: u64) -> std::io::Result<()> {
        Ok(())
    }
    /// One completed second, in order.
    fn second(&mut self, _entry: &TimelineEntry, _second: &Second) -> std::io::Result<()> {
        Ok(())
    }
    /// The run is over (or interrupted): write what is left, whole.
    fn finish(&mut self, _report: &Report) -> std::io::Result<()> {
        Ok(())
    }
}

/// The outputs of one run, in the order they are written. A write error is kept (the run goes
/// on, and that output is written no more) and said at the end.
#[derive(Default)]
pub struct Outputs {
    list: Vec<Box<dyn Output>>,
    failed: Vec<Option<std::io::Error>>,
}

impl Outputs {
    pub fn push(&mut self, output: Box<dyn Output>) {
        self.list.push(output);
        self.failed.push(None);
    }

    /// Whether some output needs each second per endpoint.
    pub fn per_endpoint(&self) -> bool {
        self.list.iter().any(|o| o.per_endpoint())
    }

    /// Every output of a run that the plan asks for, opened now (files created, the metrics
    /// listener bound), so that an unwritable path or a busy port fails before the run starts.
    pub fn for_plan(plan: &RunPlan) -> Result<Self, SetupError> {
        let endpoints = plan.program.endpoint_names();
        let mut outputs = Self::default();
        outputs.push(Box::new(progress::Progress::new(plan.progress)));
        if let Some(addr) = plan.metrics_listen {
            outputs.push(Box::new(Metrics::listen(addr, endpoints.clone())?));
        }
        if let Some(prefix) = &plan.csv {
            let history = csv::History::create(
                prefix,
                endpoints.clone(),
                plan.csv_full_history,
                u64::from(plan.connections),
            )?;
            outputs.push(Box::new(history));
        }
        if let Some(path) = &plan.hlog {
            outputs.push(Box::new(hlog::Hlog::create(path, &endpoints)?));
        }
        outputs.finals(
            endpoints.len(),
            plan.json.as_deref(),
            plan.html.as_deref(),
            plan.csv.as_deref(),
        );
        Ok(outputs)
    }

    /// The outputs written once, from the report: the text on stdout, then `--json`, `--html`
    /// and the final `--csv` files. `merge` uses just these.
    pub fn finals(
        &mut self,
        endpoints: usize,
        json: Option<&std::path::Path>,
        html: Option<&std::path::Path>,
        csv: Option<&std::path::Path>,
    ) {
        self.push(Box::new(text::Text));
        if let Some(p) = json {
            self.push(Box::new(json::Json(p.to_path_buf(), endpoints > 1)));
        }
        if let Some(p) = html {
            self.html(p);
        }
        if let Some(p) = csv {
            self.push(Box::new(csv::Stats(p.to_path_buf())));
        }
    }

    /// The HTML page alone (`report`).
    pub fn html(&mut self, path: &std::path::Path) {
        self.push(Box::new(html::Html(path.to_path_buf())));
    }

    /// Writes every output from the report; false (having said which and why, one line each)
    /// when any could not be written, now or while the run went.
    pub fn finish(&mut self, report: &Report) -> bool {
        let mut ok = true;
        for (output, failed) in self.list.iter_mut().zip(&mut self.failed) {
            let result = match failed.take() {
                Some(e) => Err(e),
                None => output.finish(report),
            };
            if let Err(e) = result {
                eprintln!("ringblast: cannot write {}: {e}", output.target());
                ok = false;
            }
        }
        ok
    }

    fn each(&mut self, mut f: impl FnMut(&mut dyn Output) -> std::io::Result<()>) {
        for (output, failed) in self.list.iter_mut().zip(&mut self.failed) {
            if failed.is_none()
                && let Err(e) = f(output.as_mut())
            {
                *failed = Some(e);
            }
        }
    }
}

impl SecondSink for Outputs {
    fn start(&mut self, started_unix: u64) {
        self.each(|o| o.start(started_unix));
    }

    fn second(&mut self, entry: &TimelineEntry, second: &Second) {
        self.each(|o| o.second(entry, second));
    }
}
