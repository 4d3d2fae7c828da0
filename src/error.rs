//! Setup errors: typed, each saying how to fix the problem. Per-request failures never come here;
//! they are counters in `stats`. `main` maps these to exit code 2 (usage) or 1 (runtime).

use std::path::PathBuf;

use thiserror::Error;

/// A file the user wrote (a scenario, the mock's routes, a report to compare) that cannot be
/// used: which file, the line when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{}: {what}", .file.display(), .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FileError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub what: String,
}

impl FileError {
    pub fn new(file: impl Into<PathBuf>, line: Option<usize>, what: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            what: what.into(),
        }
    }
}

/// A value that cannot be used (a flag, a URL, a duration, a header, a placeholder): what was
/// given and why, in one line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl From<String> for InvalidValue {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<InvalidValue> for String {
    fn from(e: InvalidValue) -> Self {
        e.0
    }
}

impl From<&str> for InvalidValue {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

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
    #[error("cannot listen on {addr} for --metrics-listen: {source}; pick another port")]
    MetricsListen {
        addr: String,
        source: std::io::Error,
    },
    /// The Locust master cannot be reached or does not take this worker.
    #[error("{0}")]
    Master(#[from] crate::locust::control::ControlError),
    #[error("worker setup failed: {0}")]
    Worker(String),
    /// The kernel interface failed a worker: setting it up, listening, or waiting.
    #[error("{what}: {source}")]
    Backend {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    File(#[from] FileError),
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    /// `--kernel-stats on` and eBPF cannot be used: what is missing.
    #[error("--kernel-stats on: {0}; use --kernel-stats auto to fall back to /proc counters")]
    KernelStats(#[from] crate::kstats::ebpf::EbpfError),
    /// TLS cannot be set up: roots, certificates, keys or versions.
    #[error("{0}")]
    Tls(String),
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
            Self::Usage(_)
            | Self::UringUnavailable(_)
            | Self::File(_)
            | Self::Invalid(_)
            | Self::Tls(_)
            | Self::KernelStats(_)
            | Self::MetricsListen { .. } => Exit::Usage,
            _ => Exit::Failed,
        }
    }
}
