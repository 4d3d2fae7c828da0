//! Setup errors: typed, each saying how to fix the problem. Per-request failures never come here;
//! they are counters in `stats`. `main` maps these to exit code 2 (usage) or 1 (runtime).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SetupError {
    /// A flag or its combination is wrong.
    #[error("{0}")]
    Usage(String),
    #[error(
        "need {need} open files but the hard limit is {hard} (soft {soft}); raise it with 'ulimit -n {need}' (or LimitNOFILE= for a service) and retry"
    )]
    OpenFiles { need: u64, soft: u64, hard: u64 },
    #[error(
        "io_uring was requested (--io uring) but cannot be used: {0}; use --io epoll or --io auto"
    )]
    UringUnavailable(String),
    #[error("cannot listen on {addr}: {source}; pick another port with --listen")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("worker setup failed: {0}")]
    Worker(String),
    #[error("cannot write {path}: {source}; check the directory exists and is writable")]
    Output {
        path: String,
        source: std::io::Error,
    },
}

/// How a command ended, as the process exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The run completed (whatever the server answered).
    Completed = 0,
    /// A runtime failure: no connection could ever be made, a report could not be written.
    Failed = 1,
    /// A usage or configuration error.
    Usage = 2,
    /// An `--assert` failed (or `peak` found no rate that meets the SLO).
    AssertionFailed = 3,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

impl SetupError {
    /// How the process ends for this error: usage and configuration, or a runtime failure.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Usage(_) | Self::UringUnavailable(_) => Exit::Usage,
            _ => Exit::Failed,
        }
    }
}
