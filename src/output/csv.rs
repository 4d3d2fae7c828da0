//! `--csv PREFIX`: Locust's files. The stats history is written a second at a time as the run
//! goes; the stats, failures and exceptions files are written whole from the report.

use std::path::{Path, PathBuf};

use super::Output;
use crate::error::SetupError;
use crate::report::Report;
use crate::report::stream;
use crate::stats::second::{Second, TimelineEntry};

/// `PREFIX_stats.csv`, `PREFIX_failures.csv` and `PREFIX_exceptions.csv`.
pub struct Stats(pub PathBuf);

impl Output for Stats {
    fn target(&self) -> String {
        format!("{}_*.csv", self.0.display())
    }

    fn finish(&mut self, report: &Report) -> std::io::Result<()> {
        crate::report::csv::write(&self.0, report)
    }
}

/// `PREFIX_stats_history.csv`, a row a second.
pub struct History {
    name: String,
    full: bool,
    history: Option<stream::History>,
}

impl History {
    pub fn create(
        prefix: &Path,
        endpoints: Vec<(String, String)>,
        full: bool,
        connections: u64,
    ) -> Result<Self, SetupError> {
        let name = format!("{}_stats_history.csv", prefix.display());
        let history =
            stream::History::create(prefix, endpoints, full, connections).map_err(|source| {
                SetupError::Output {
                    path: name.clone(),
                    source,
                }
            })?;
        Ok(Self {
            name,
            full,
            history: Some(history),
        })
    }
}

impl Output for History {
    fn target(&self) -> String {
        self.name.clone()
    }

    fn per_endpoint(&self) -> bool {
        self.full
    }

    fn start(&mut self, started_unix: u64) -> std::io::Result<()> {
        if let Some(h) = &mut self.history {
            h.start(started_unix);
        }
        Ok(())
    }

    fn second(&mut self, entry: &TimelineEntry, second: &Second) -> std::io::Result<()> {
        match &mut self.history {
            Some(h) => h.second(entry, second),
            None => Ok(()),
        }
    }

    fn finish(&mut self, _: &Report) -> std::io::Result<()> {
        match self.history.take() {
            Some(h) => h.finish(),
            None => Ok(()),
        }
    }
}
