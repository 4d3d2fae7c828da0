//! `--json FILE`: the whole report (docs/report.schema.json), written under a `.partial` name
//! and renamed into place, so a reader never sees half of it.

use std::path::PathBuf;

use super::Output;
use crate::report::Report;

/// The path, and whether the run has several endpoints (then each second keeps them, for
/// `compare`'s per-endpoint verdicts).
pub struct Json(pub PathBuf, pub bool);

impl Output for Json {
    fn target(&self) -> String {
        self.0.display().to_string()
    }

    fn per_endpoint(&self) -> bool {
        self.1
    }

    fn finish(&mut self, report: &Report) -> std::io::Result<()> {
        report.write_json(&self.0)
    }
}
