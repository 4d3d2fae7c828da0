//! The HdrHistogram interval log (`--hlog`): one histogram per second, untagged for all requests
//! and tagged per endpoint, V2-deflate encoded, as HdrHistogram's log tools read it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::engine::RunResult;

/// A tag the log format accepts: no commas, spaces or line breaks.
pub fn tag_for(method: &str, name: &str) -> String {
    format!("{method}_{name}")
        .chars()
        .map(|c| {
            if c == ',' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Writes the log whole (temporary file, then rename).
pub fn write(path: &Path, result: &RunResult) -> std::io::Result<()> {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(result.started_unix);
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut writer = IntervalLogWriterBuilder::new()
            .add_comment(concat!(
                "ringblast ",
                env!("CARGO_PKG_VERSION"),
                ": latency in microseconds, one interval per second"
            ))
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut serializer)?;
        let tags: Vec<String> = result
            .endpoints
            .iter()
            .map(|(name, method)| tag_for(method, name))
            .collect();
        let fail = |e| std::io::Error::other(format!("interval log: {e:?}"));
        for (i, second) in result.seconds.iter().enumerate() {
            let at = Duration::from_secs(i as u64);
            writer
                .write_histogram(&second.latency, at, Duration::from_secs(1), None)
                .map_err(fail)?;
            for (h, tag) in second.endpoints.iter().zip(&tags) {
                writer
                    .write_histogram(h, at, Duration::from_secs(1), Tag::new(tag))
                    .map_err(fail)?;
            }
        }
    }
    let tmp = path.with_extension("hlog.partial");
    std::fs::write(&tmp, out)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_legal() {
        assert_eq!(tag_for("GET", "/a b,c"), "GET_/a_b_c");
        assert!(Tag::new(&tag_for("POST", "x y")).is_some());
    }
}
