//! `--start-at`: the wait before a shard's load starts, cut short by a stop request, with a
//! line saying when it starts, or that the start has already passed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Sleeps until `at` (a stop request ends the wait early); says so when it has passed.
pub fn wait_until(at: Option<SystemTime>, stop: &AtomicBool) {
    let Some(at) = at else { return };
    match at.duration_since(SystemTime::now()) {
        Ok(wait) => {
            // A start more than a moment away says when it is, so a wait is never silent.
            if wait >= Duration::from_secs(2) {
                eprintln!(
                    "ringblast: waiting for --start-at {} (in {:.0}s)",
                    crate::plan::shard::rfc3339(at),
                    wait.as_secs_f64()
                );
            }
            let end = Instant::now() + wait;
            while !stop.load(Ordering::Relaxed) {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(Duration::from_millis(50)));
            }
        }
        Err(late) => eprintln!(
            "ringblast: --start-at was {:.1}s ago; starting now",
            late.duration().as_secs_f64()
        ),
    }
}
