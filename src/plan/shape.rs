//! Turns the load flags (-c, -R, -R A:B, --stages, --users/--spawn-rate, --think) into the one
//! load Shape and think time the engine reads. Pure apart from its error messages.

use super::{StopRule, UNBOUNDED, usage};
use crate::cli::RunArgs;
use crate::error::SetupError;
use crate::load::{Kind, Shape, Think};
use crate::units::parse_duration;

/// Parses a rate: a positive number of requests per second.
pub(super) fn parse_rate(text: &str) -> Result<f64, SetupError> {
    match text.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && (0.0..=1e9).contains(&r) => Ok(r),
        _ => Err(usage(format!(
            "'{text}' is not a rate (requests per second, e.g. 20000)"
        ))),
    }
}

/// `--think`: `1s` (constant) or `500ms..1500ms` (uniform).
pub(super) fn parse_think(text: &str) -> Result<Think, SetupError> {
    Think::parse(text).map_err(|e| usage(format!("--think: {e}")))
}

/// Turns -R, --stages, --users/--spawn-rate or -c into the one load shape.
pub(super) fn resolve_shape(args: &RunArgs, stop: StopRule) -> Result<Shape, SetupError> {
    let duration = stop.duration.unwrap_or(UNBOUNDED);
    if let Some(text) = &args.stages {
        let mut stages = Vec::new();
        let mut kinds = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (d, v) = part.split_once(':').ok_or_else(|| {
                usage(format!(
                    "--stages '{part}': expected DURATION:VALUE, e.g. 30s:1000 or 1m:100u"
                ))
            })?;
            let d = parse_duration(d).map_err(|e| usage(format!("--stages: {e}")))?;
            let (v, kind) = match v.strip_suffix('u') {
                Some(users) => (users, Kind::Users),
                None => (v, Kind::Rate),
            };
            stages.push((d, parse_rate(v)?));
            kinds.push(kind);
        }
        let kind = kinds[0];
        if kinds.iter().any(|k| *k != kind) {
            return Err(usage("--stages mixes rates and users (u); use one kind"));
        }
        if kind == Kind::Users && args.spawn_rate.is_some() {
            return Err(usage(
                "--spawn-rate does not combine with user --stages (the stages are the ramp)",
            ));
        }
        if stages.iter().all(|(d, _)| d.is_zero()) {
            return Err(usage("--stages must last longer than zero"));
        }
        return Ok(Shape::stages(kind, &stages));
    }
    if let Some(rate) = &args.rate {
        if args.spawn_rate.is_some() {
            return Err(usage("--spawn-rate applies to --users"));
        }
        return match rate.split_once(':') {
            Some((a, b)) => {
                if stop.duration.is_none() {
                    return Err(usage("-R A:B ramps over -d; give a duration"));
                }
                Ok(Shape::ramp(
                    Kind::Rate,
                    parse_rate(a)?,
                    parse_rate(b)?,
                    duration,
                ))
            }
            None => {
                let r = parse_rate(rate)?;
                if r <= 0.0 {
                    return Err(usage("-R must be above zero"));
                }
                Ok(Shape::constant(Kind::Rate, r, duration))
            }
        };
    }
    if let Some(users) = args.users {
        if users == 0 {
            return Err(usage("--users must be at least 1"));
        }
        let users = users as f64;
        return Ok(match args.spawn_rate {
            Some(r) if !(r > 0.0 && r.is_finite()) => {
                return Err(usage("--spawn-rate must be above zero"));
            }
            Some(r) => {
                let ramp = users / r;
                let total = duration.as_secs_f64();
                if ramp >= total {
                    Shape::ramp(Kind::Users, 0.0, r * total, duration)
                } else {
                    Shape {
                        kind: Kind::Users,
                        start: 0.0,
                        points: vec![(ramp, users), (total, users)],
                    }
                }
            }
            None => Shape::constant(Kind::Users, users, duration),
        });
    }
    if args.spawn_rate.is_some() {
        return Err(usage("--spawn-rate applies to --users"));
    }
    Ok(Shape::constant(
        Kind::Connections,
        f64::from(args.connections.unwrap_or(64)),
        duration,
    ))
}
