//! Combines a scenario file with the command line: flags win, and the load model is taken whole
//! from one or the other. Produces the same raw arguments a flags-only run would have.

use std::time::Duration;

use super::usage;
use crate::cli::RunArgs;
use crate::error::SetupError;
use crate::scenario::{RateValue, Scenario};
use crate::units::parse_duration;

/// Fills what the command line left out from the scenario file (flags win; one load model wins
/// whole: the flags' if they give one, else the file's).
pub(super) fn merge(cli: &RunArgs, scenario: Option<&Scenario>) -> Result<RunArgs, SetupError> {
    let mut a = cli.clone();
    let Some(s) = scenario else {
        if a.url.is_none() {
            a.url = cli.host.clone();
        }
        return Ok(a);
    };
    let f = &s.file;
    let l = &f.load;
    let in_file = |what: &str, e: String| usage(format!("{}: {what}: {e}", s.path.display()));
    let duration = |field: &str, v: &Option<String>| -> Result<Option<Duration>, SetupError> {
        v.as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| in_file(field, e.into()))
    };
    a.url = cli
        .host
        .clone()
        .or_else(|| cli.url.clone())
        .or_else(|| f.host.clone())
        .map(|h| h.trim_end_matches('/').to_string() + "/");
    if a.url.is_none() {
        return Err(usage(format!(
            "{}: no host; set host = \"http://...\" in it or pass --host",
            s.path.display()
        )));
    }
    a.connections = cli.connections.or(l.connections);
    a.pipeline = cli.pipeline.or(l.pipeline);
    a.timeout = cli.timeout.or(duration("timeout", &f.timeout)?);
    a.connect_timeout = cli
        .connect_timeout
        .or(duration("connect_timeout", &f.connect_timeout)?);
    a.requests = cli.requests.or(l.requests);
    a.warmup = cli.warmup.or(duration("warmup", &l.warmup)?);
    let cli_load = cli.rate.is_some() || cli.users.is_some() || cli.stages.is_some();
    if !cli_load {
        a.rate = l.rate.as_ref().map(|r| match r {
            RateValue::Number(n) => n.to_string(),
            RateValue::Text(t) => t.clone(),
        });
        a.users = l.users;
        a.stages = l.stages.clone();
        a.spawn_rate = cli.spawn_rate.or(l.spawn_rate);
    }
    let file_duration = duration("duration", &l.duration)?;
    a.duration = match (cli.duration, &a.stages) {
        (Some(d), None) => Some(d),
        (Some(_), Some(_)) => {
            return Err(usage(
                "-d conflicts with the scenario's stages (they set the length)",
            ));
        }
        (None, Some(_)) if file_duration.is_some() => {
            return Err(in_file("load", "give stages or duration, not both".into()));
        }
        (None, _) => file_duration,
    };
    if [a.rate.is_some(), a.users.is_some(), a.stages.is_some()]
        .iter()
        .filter(|x| **x)
        .count()
        > 1
    {
        return Err(in_file("load", "give one of rate, users or stages".into()));
    }
    if a.asserts.is_empty() {
        a.asserts = f.asserts.clone();
    }
    Ok(a)
}
