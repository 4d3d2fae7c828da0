//! Resolves raw flags into plain-data plans before any worker starts: URL → address, CPU list,
//! request bytes, stop rule. Nothing below this layer reads argv, the environment or files.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{IoArg, RunArgs, ServeArgs, WorkerArgs};
use crate::error::SetupError;
use crate::http::request::{RequestSpec, validate_header};
use crate::io::IoChoice;
use crate::target::Target;
use crate::units::{parse_cpu_list, parse_size};

/// When a run stops: whichever limit comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopRule {
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
}

/// Everything a load run needs, resolved.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub url: String,
    pub target: Target,
    pub request: RequestSpec,
    pub connections: u32,
    pub pipeline: u32,
    pub cpus: Vec<usize>,
    pub stop: StopRule,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub io: IoChoice,
    pub json: Option<PathBuf>,
    pub progress: bool,
}

/// Everything the built-in target needs, resolved.
#[derive(Debug, Clone)]
pub struct ServePlan {
    pub listen: SocketAddr,
    pub cpus: Vec<usize>,
    pub status: u16,
    pub body_size: usize,
    pub delay: Duration,
    /// Add a per-response counter header, so no two response heads are the same.
    pub unique_heads: bool,
    pub io: IoChoice,
}

fn usage(msg: impl Into<String>) -> SetupError {
    SetupError::Usage(msg.into())
}

impl From<IoArg> for IoChoice {
    fn from(a: IoArg) -> Self {
        match a {
            IoArg::Auto => IoChoice::Auto,
            IoArg::Uring => IoChoice::Uring,
            IoArg::Epoll => IoChoice::Epoll,
        }
    }
}

/// The CPUs workers are pinned to: `--cpus`, the first `--threads`, or every online CPU.
pub fn resolve_cpus(args: &WorkerArgs, online: &[usize]) -> Result<Vec<usize>, SetupError> {
    if online.is_empty() {
        return Err(usage("cannot list the online CPUs"));
    }
    if let Some(list) = &args.cpus {
        let cpus = parse_cpu_list(list).map_err(usage)?;
        if let Some(bad) = cpus.iter().find(|c| !online.contains(c)) {
            return Err(usage(format!(
                "--cpus: CPU {bad} is not online (online: {online:?})"
            )));
        }
        return Ok(cpus);
    }
    match args.threads {
        Some(0) => Err(usage("--threads must be at least 1")),
        Some(n) if n > online.len() => Err(usage(format!(
            "--threads {n} exceeds the {} online CPUs (one pinned worker per CPU)",
            online.len()
        ))),
        Some(n) => Ok(online[..n].to_vec()),
        None => Ok(online.to_vec()),
    }
}

/// Online CPU ids, as the affinity API sees them.
pub fn online_cpus() -> Vec<usize> {
    core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

impl RunPlan {
    pub fn from_args(args: &RunArgs) -> Result<Self, SetupError> {
        let target = Target::resolve(&args.url).map_err(usage)?;
        if args.connections == 0 {
            return Err(usage("-c/--connections must be at least 1"));
        }
        if args.pipeline == 0 || args.pipeline > 1024 {
            return Err(usage("-p/--pipeline must be between 1 and 1024"));
        }
        if args.requests == Some(0) {
            return Err(usage("-n/--requests must be at least 1"));
        }
        if args.duration.is_some_and(|d| d.is_zero()) {
            return Err(usage("-d/--duration must be greater than zero"));
        }
        if args.timeout.is_zero() || args.connect_timeout.is_zero() {
            return Err(usage(
                "--timeout and --connect-timeout must be greater than zero",
            ));
        }
        let method = args.method.to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(usage(format!(
                "-m: '{}' is not an HTTP method",
                args.method
            )));
        }
        let mut headers = Vec::new();
        for h in &args.headers {
            let (k, v) = h.split_once(':').ok_or_else(|| {
                usage(format!("-H '{}': expected 'Name: value'", h.escape_debug()))
            })?;
            let (k, v) = (k.trim(), v.trim());
            validate_header(k, v).map_err(usage)?;
            headers.push((k.to_string(), v.to_string()));
        }
        let body = match (&args.body, &args.body_file) {
            (Some(b), _) => b.clone().into_bytes(),
            (None, Some(path)) => std::fs::read(path)
                .map_err(|e| usage(format!("--body-file {}: {e}", path.display())))?,
            (None, None) => Vec::new(),
        };
        let mut cpus = resolve_cpus(&args.workers, &online_cpus())?;
        if (args.connections as usize) < cpus.len() {
            if args.workers.threads.is_some() || args.workers.cpus.is_some() {
                return Err(usage(format!(
                    "-c {} is fewer than the {} workers; every worker needs a connection",
                    args.connections,
                    cpus.len()
                )));
            }
            cpus.truncate(args.connections as usize);
        }
        let stop = StopRule {
            duration: match (args.duration, args.requests) {
                (None, None) => Some(Duration::from_secs(10)),
                (d, _) => d,
            },
            requests: args.requests,
        };
        Ok(Self {
            url: args.url.clone(),
            request: RequestSpec {
                method,
                path: target.path.clone(),
                host: target.authority.clone(),
                headers,
                body,
            },
            target,
            connections: args.connections,
            pipeline: args.pipeline,
            cpus,
            stop,
            timeout: args.timeout,
            connect_timeout: args.connect_timeout,
            io: args.workers.io.into(),
            json: args.json.clone(),
            progress: !args.quiet,
        })
    }
}

impl ServePlan {
    pub fn from_args(args: &ServeArgs) -> Result<Self, SetupError> {
        let listen = args
            .listen
            .to_socket_addrs()
            .map_err(|e| {
                usage(format!(
                    "--listen '{}': {e} (expected host:port)",
                    args.listen
                ))
            })?
            .next()
            .ok_or_else(|| usage(format!("--listen '{}' resolved to no address", args.listen)))?;
        if !(100..=999).contains(&args.status) || (100..200).contains(&args.status) {
            return Err(usage(format!(
                "--status {} is not a final status code (200-999)",
                args.status
            )));
        }
        let body_size = parse_size(&args.body_size).map_err(usage)?;
        if body_size > 64 * 1024 * 1024 {
            return Err(usage("--body-size is limited to 64m"));
        }
        Ok(Self {
            listen,
            cpus: resolve_cpus(&args.workers, &online_cpus())?,
            status: args.status,
            body_size,
            delay: args.delay,
            unique_heads: args.unique_heads,
            io: args.workers.io.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn run_plan(argv: &[&str]) -> Result<RunPlan, SetupError> {
        let mut full = vec!["ringblast", "run"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full)
            .map_err(|e| usage(e.to_string()))?
            .command
        {
            crate::cli::Command::Run(a) => RunPlan::from_args(&a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn defaults() {
        let p = run_plan(&["http://127.0.0.1:9/x"]).unwrap();
        assert_eq!(p.connections, 64);
        assert_eq!(p.pipeline, 1);
        assert_eq!(
            p.stop,
            StopRule {
                duration: Some(Duration::from_secs(10)),
                requests: None
            }
        );
        assert_eq!(p.request.method, "GET");
        assert_eq!(p.target.addr.port(), 9);
        assert!(!p.cpus.is_empty());
    }

    #[test]
    fn requests_replace_the_default_duration() {
        let p = run_plan(&["http://127.0.0.1:9/", "-n", "100"]).unwrap();
        assert_eq!(
            p.stop,
            StopRule {
                duration: None,
                requests: Some(100)
            }
        );
        let p = run_plan(&["http://127.0.0.1:9/", "-n", "100", "-d", "2s"]).unwrap();
        assert_eq!(p.stop.duration, Some(Duration::from_secs(2)));
    }

    #[test]
    fn headers_and_body() {
        let p = run_plan(&[
            "http://127.0.0.1:9/",
            "-m",
            "post",
            "-H",
            "Content-Type: application/json",
            "-b",
            "{}",
        ])
        .unwrap();
        assert_eq!(p.request.method, "POST");
        assert_eq!(
            p.request.headers,
            vec![("Content-Type".to_string(), "application/json".to_string())]
        );
        assert_eq!(p.request.body, b"{}");
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for argv in [
            &["http://127.0.0.1:9/", "-c", "0"][..],
            &["http://127.0.0.1:9/", "-p", "0"],
            &["http://127.0.0.1:9/", "-n", "0"],
            &["http://127.0.0.1:9/", "-H", "novalue"],
            &["http://127.0.0.1:9/", "-m", "G T"],
            &["https://127.0.0.1:9/"],
            &["http://127.0.0.1:9/", "--body-file", "/nonexistent/x"],
            &["http://127.0.0.1:9/", "--threads", "100000"],
            &["http://127.0.0.1:9/", "--cpus", "99999"],
            &["http://127.0.0.1:9/", "-d", "0s"],
        ] {
            let err = run_plan(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}: {err}");
        }
    }

    #[test]
    fn cpu_resolution() {
        let online = [0, 1, 2, 3];
        let args = |threads, cpus: Option<&str>| WorkerArgs {
            threads,
            cpus: cpus.map(String::from),
            io: IoArg::Auto,
        };
        assert_eq!(
            resolve_cpus(&args(None, None), &online).unwrap(),
            vec![0, 1, 2, 3]
        );
        assert_eq!(
            resolve_cpus(&args(Some(2), None), &online).unwrap(),
            vec![0, 1]
        );
        assert_eq!(
            resolve_cpus(&args(None, Some("1,3")), &online).unwrap(),
            vec![1, 3]
        );
        assert!(resolve_cpus(&args(Some(0), None), &online).is_err());
    }
}
