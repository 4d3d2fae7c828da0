//! `--html FILE`: the self-contained report page, rendered from the report alone and written
//! whole.

use std::path::PathBuf;

use super::Output;
use crate::report::{Report, html, write_whole};

pub struct Html(pub PathBuf);

impl Output for Html {
    fn target(&self) -> String {
        self.0.display().to_string()
    }

    fn finish(&mut self, report: &Report) -> std::io::Result<()> {
        write_whole(&self.0, html::render(report).as_bytes())
    }
}
