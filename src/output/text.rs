//! The text report on stdout, printed whole at the end; a closed stdout (a pipe to `head`) is
//! not an error, so the files after it are still written.

use std::io::Write;

use super::Output;
use crate::report::{Report, text};

pub struct Text;

impl Output for Text {
    fn target(&self) -> String {
        "stdout".into()
    }

    fn finish(&mut self, report: &Report) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(text::render(report).as_bytes())
            .and_then(|_| out.flush());
        Ok(())
    }
}
