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

impl SetupError {
    /// The process exit code for this error: 2 for usage and configuration, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) | Self::UringUnavailable(_) => 2,
            _ => 1,
        }
    }
}
