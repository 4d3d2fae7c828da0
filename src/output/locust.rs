//! A Locust master's stats, as an output of a `locust-worker` run: each completed second is
//! added to the deltas that the control thread sends the master every 3 seconds.

use std::sync::{Arc, Mutex};

use super::Output;
use crate::locust::stats::Pending;
use crate::stats::second::{Second, TimelineEntry};

pub struct LocustStats {
    pending: Arc<Mutex<Pending>>,
    started_unix: u64,
}

impl LocustStats {
    pub fn new(pending: Arc<Mutex<Pending>>) -> Self {
        Self {
            pending,
            started_unix: 0,
        }
    }
}

impl Output for LocustStats {
    fn target(&self) -> String {
        "the Locust master's stats".into()
    }

    fn per_endpoint(&self) -> bool {
        true
    }

    fn start(&mut self, started_unix: u64) -> std::io::Result<()> {
        self.started_unix = started_unix;
        Ok(())
    }

    fn second(&mut self, entry: &TimelineEntry, second: &Second) -> std::io::Result<()> {
        if let Ok(mut p) = self.pending.lock() {
            p.add(self.started_unix, entry, second);
        }
        Ok(())
    }
}
