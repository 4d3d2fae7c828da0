//! `--hlog FILE`: the HdrHistogram interval log, one histogram a second (all requests, and one
//! tagged per endpoint), renamed into place when the run ends.

use std::path::Path;

use super::Output;
use crate::error::SetupError;
use crate::report::Report;
use crate::report::stream::IntervalLog;
use crate::stats::second::{Second, TimelineEntry};

pub struct Hlog {
    name: String,
    log: Option<IntervalLog>,
}

impl Hlog {
    pub fn create(path: &Path, endpoints: &[(String, String)]) -> Result<Self, SetupError> {
        let name = path.display().to_string();
        let log = IntervalLog::create(path, endpoints).map_err(|source| SetupError::Output {
            path: name.clone(),
            source,
        })?;
        Ok(Self {
            name,
            log: Some(log),
        })
    }
}

impl Output for Hlog {
    fn target(&self) -> String {
        self.name.clone()
    }

    fn per_endpoint(&self) -> bool {
        true
    }

    fn start(&mut self, started_unix: u64) -> std::io::Result<()> {
        match &mut self.log {
            Some(log) => log.start(started_unix),
            None => Ok(()),
        }
    }

    fn second(&mut self, _: &TimelineEntry, second: &Second) -> std::io::Result<()> {
        match &mut self.log {
            Some(log) => log.second(second),
            None => Ok(()),
        }
    }

    fn finish(&mut self, _: &Report) -> std::io::Result<()> {
        match self.log.take() {
            Some(log) => log.finish(),
            None => Ok(()),
        }
    }
}
