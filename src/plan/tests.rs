//! The run plan's unit tests: flags resolved into a plan, and the one-line errors of flags
//! that cannot be. Test-only; the plan itself is mod.rs.

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
    assert_eq!(
        p.shape,
        Shape::constant(Kind::Connections, 64.0, Duration::from_secs(10))
    );
}

#[test]
fn load_models_resolve_into_one_shape() {
    let p = run_plan(&["http://127.0.0.1:9/", "-R", "2000", "-d", "5s"]).unwrap();
    assert_eq!(
        p.shape,
        Shape::constant(Kind::Rate, 2000.0, Duration::from_secs(5))
    );
    let p = run_plan(&[
        "http://127.0.0.1:9/",
        "-R",
        "1000:20000",
        "-d",
        "10s",
        "--warmup",
        "2s",
    ])
    .unwrap();
    assert_eq!(p.shape.kind, Kind::Rate);
    assert_eq!(p.shape.end(), 12.0);
    assert_eq!(p.shape.value_at(1.0), 1000.0);
    assert_eq!(p.shape.value_at(12.0), 20000.0);
    let p = run_plan(&["http://127.0.0.1:9/", "--stages", "30s:1000,1m:20000,30s:0"]).unwrap();
    assert_eq!(p.shape.end(), 120.0);
    let p = run_plan(&[
        "http://127.0.0.1:9/",
        "--stages",
        "1m:100u,4m:1000u,30s:0u",
        "--think",
        "500ms..1500ms",
    ])
    .unwrap();
    assert_eq!((p.shape.kind, p.connections), (Kind::Users, 1000));
    assert_eq!(
        p.think,
        Think::Uniform(Duration::from_millis(500), Duration::from_millis(1500))
    );
    let p = run_plan(&[
        "http://127.0.0.1:9/",
        "--users",
        "1000",
        "--spawn-rate",
        "100",
        "-d",
        "60s",
    ])
    .unwrap();
    assert_eq!(p.shape.value_at(5.0), 500.0);
    assert_eq!(p.shape.value_at(30.0), 1000.0);
    assert_eq!(p.connections, 1000);
    let p = run_plan(&[
        "http://127.0.0.1:9/",
        "--users",
        "1000",
        "--spawn-rate",
        "10",
        "-d",
        "10s",
    ])
    .unwrap();
    assert_eq!(p.shape.peak(), 100.0, "the ramp is cut off by the duration");
    assert_eq!(p.assertions.len(), 0);
    let p = run_plan(&[
        "http://127.0.0.1:9/",
        "--assert",
        "p99<500ms",
        "--assert",
        "success>=99%",
    ])
    .unwrap();
    assert_eq!(p.assertions.len(), 2);
}

#[test]
fn load_model_conflicts_are_usage_errors() {
    for argv in [
        &["http://127.0.0.1:9/", "-R", "100", "--users", "10"][..],
        &["http://127.0.0.1:9/", "--stages", "1s:10,1s:5u"],
        &["http://127.0.0.1:9/", "--stages", "1s:10", "-d", "5s"],
        &["http://127.0.0.1:9/", "--think", "1s"],
        &["http://127.0.0.1:9/", "--users", "10", "-p", "4"],
        &["http://127.0.0.1:9/", "--spawn-rate", "10"],
        &["http://127.0.0.1:9/", "-R", "abc"],
        &["http://127.0.0.1:9/", "-R", "0"],
        &["http://127.0.0.1:9/", "-R", "1:100", "-n", "10"],
        &["http://127.0.0.1:9/", "--users", "10", "--think", "2s..1s"],
        &["http://127.0.0.1:9/", "--assert", "p99<fast"],
        &["http://127.0.0.1:9/", "--stages", "30s"],
    ] {
        let err = run_plan(argv).unwrap_err();
        assert_eq!(err.exit(), crate::error::Exit::Usage, "{argv:?}: {err}");
    }
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
        &["ftp://127.0.0.1:9/"],
        &["http://127.0.0.1:9/", "-k"],
        &["https://127.0.0.1:9/", "--tls-version", "1.1"],
        &["http://127.0.0.1:9/", "--body-file", "/nonexistent/x"],
        &["http://127.0.0.1:9/", "--threads", "100000"],
        &["http://127.0.0.1:9/", "--cpus", "99999"],
        &["http://127.0.0.1:9/", "-d", "0s"],
        &["http://127.0.0.1:9/", "--batch-window", "2s"],
    ] {
        let err = run_plan(argv).unwrap_err();
        assert_eq!(err.exit(), crate::error::Exit::Usage, "{argv:?}: {err}");
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
