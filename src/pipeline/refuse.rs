//! The one table of what each load-running command honours among the flags they share: a flag
//! a command cannot honour is refused before anything starts, in one line, never ignored.

use crate::cli::{KernelStatsArg, RunArgs};
use crate::error::SetupError;

/// The commands that run load through the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadCommand {
    Run,
    Peak,
    LocustWorker,
    Demo,
}

impl LoadCommand {
    pub fn name(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Peak => "peak",
            Self::LocustWorker => "locust-worker",
            Self::Demo => "demo",
        }
    }
}

/// One shared flag: how to see it was given, and why `peak` and `locust-worker` refuse it
/// (None: honoured). `run` and `demo` honour every flag they take.
struct Rule {
    flag: &'static str,
    given: fn(&RunArgs) -> bool,
    peak: Option<&'static str>,
    locust_worker: Option<&'static str>,
}

const PEAK_LOAD: &str = "peak chooses the rates itself (use --step, --start-rate, --max-rate)";
const MASTER_LOAD: &str = "the Locust master sets the users, their spawn rate and the run's end";
const PEAK_ONE_RATE: &str = "peak runs many short steps; run one rate with `run`";

const RULES: &[Rule] = &[
    Rule {
        flag: "-R/--rate",
        given: |a| a.rate.is_some(),
        peak: Some(PEAK_LOAD),
        locust_worker: Some(MASTER_LOAD),
    },
    Rule {
        flag: "-u/--users",
        given: |a| a.users.is_some(),
        peak: Some(PEAK_LOAD),
        locust_worker: Some(MASTER_LOAD),
    },
    Rule {
        flag: "--spawn-rate",
        given: |a| a.spawn_rate.is_some(),
        peak: Some(PEAK_LOAD),
        locust_worker: Some(MASTER_LOAD),
    },
    Rule {
        flag: "--stages",
        given: |a| a.stages.is_some(),
        peak: Some(PEAK_LOAD),
        locust_worker: Some(MASTER_LOAD),
    },
    Rule {
        flag: "-n/--requests",
        given: |a| a.requests.is_some(),
        peak: Some(PEAK_LOAD),
        locust_worker: Some(MASTER_LOAD),
    },
    Rule {
        flag: "-d/--duration",
        given: |a| a.duration.is_some(),
        peak: Some(PEAK_LOAD),
        locust_worker: Some(MASTER_LOAD),
    },
    Rule {
        flag: "--shard",
        given: |a| a.shard.is_some(),
        peak: Some("peak searches one process's rate; shards are for `run`"),
        locust_worker: Some("the Locust master splits users among its workers itself"),
    },
    Rule {
        flag: "--start-at",
        given: |a| a.start_at.is_some(),
        peak: Some("peak searches one process's rate; a common start is for `run --shard`"),
        locust_worker: Some("the Locust master starts the run"),
    },
    Rule {
        flag: "--html",
        given: |a| a.html.is_some(),
        peak: Some(PEAK_ONE_RATE),
        locust_worker: None,
    },
    Rule {
        flag: "--csv-full-history",
        given: |a| a.csv_full_history,
        peak: Some(PEAK_ONE_RATE),
        locust_worker: None,
    },
    Rule {
        flag: "--csv",
        given: |a| a.csv.is_some(),
        peak: Some(PEAK_ONE_RATE),
        locust_worker: None,
    },
    Rule {
        flag: "--hlog",
        given: |a| a.hlog.is_some(),
        peak: Some(PEAK_ONE_RATE),
        locust_worker: None,
    },
    Rule {
        flag: "--metrics-listen",
        given: |a| a.metrics_listen.is_some(),
        peak: Some(PEAK_ONE_RATE),
        locust_worker: None,
    },
    Rule {
        flag: "--rounds",
        given: |a| a.rounds > 1,
        peak: Some("peak's search is its own repetition; repeat one rate with `run --rounds`"),
        locust_worker: Some(MASTER_LOAD),
    },
    Rule {
        flag: "--kernel-stats on",
        given: |a| a.kernel_stats == KernelStatsArg::On,
        peak: Some(PEAK_ONE_RATE),
        locust_worker: None,
    },
];

/// What `--rounds` cannot honour: outputs written as one run goes (they would mix rounds), and
/// shards (whose rounds would need a common start each).
/// Whether a flag was given.
type Given = fn(&RunArgs) -> bool;

const NOT_WITH_ROUNDS: &[(&str, Given)] = &[
    ("--csv", |a| a.csv.is_some()),
    ("--hlog", |a| a.hlog.is_some()),
    ("--metrics-listen", |a| a.metrics_listen.is_some()),
    ("--shard", |a| a.shard.is_some()),
    ("--start-at", |a| a.start_at.is_some()),
];

/// Refuses, in one line, the first flag given that `command` cannot honour.
pub fn check(command: LoadCommand, args: &RunArgs) -> Result<(), SetupError> {
    if args.rounds == 0 {
        return Err(SetupError::Usage("--rounds must be at least 1".into()));
    }
    if args.rounds > 1
        && let Some((flag, _)) = NOT_WITH_ROUNDS.iter().find(|(_, given)| given(args))
    {
        return Err(SetupError::Usage(format!(
            "--rounds does not take {flag}: it writes one run as it goes; the JSON and HTML \
             reports keep every round"
        )));
    }
    for rule in RULES {
        let why = match command {
            LoadCommand::Run | LoadCommand::Demo => None,
            LoadCommand::Peak => rule.peak,
            LoadCommand::LocustWorker => rule.locust_worker,
        };
        if let Some(why) = why
            && (rule.given)(args)
        {
            return Err(SetupError::Usage(format!(
                "{} does not take {}: {why}",
                command.name(),
                rule.flag
            )));
        }
    }
    Ok(())
}

/// Every shared flag the table knows, for tests and documentation.
pub fn flags() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.flag)
}
