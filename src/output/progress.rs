//! The live progress line: each completed second on stderr, when stderr is a terminal and the
//! run is not `-q`; cleared before the text report.

use std::io::IsTerminal;

use super::Output;
use crate::report::{Report, text};
use crate::stats::second::{Second, TimelineEntry};

pub struct Progress {
    enabled: bool,
}

impl Progress {
    pub fn new(wanted: bool) -> Self {
        Self {
            enabled: wanted && std::io::stderr().is_terminal(),
        }
    }
}

impl Output for Progress {
    fn target(&self) -> String {
        "the progress line".into()
    }

    fn second(&mut self, entry: &TimelineEntry, _: &Second) -> std::io::Result<()> {
        if self.enabled {
            eprint!("\r\x1b[K{}", text::progress_line(entry));
        }
        Ok(())
    }

    fn finish(&mut self, _: &Report) -> std::io::Result<()> {
        if self.enabled {
            eprint!("\r\x1b[K");
        }
        Ok(())
    }
}
