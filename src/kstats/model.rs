//! The report's `kernel` object and the timeline's per-second kernel counts: plain data, as
//! written to JSON and read back. Filled by the session (mod.rs); rendered by report/kernel.rs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How one hook attached, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Hook {
    TpBtf,
    Tracepoint,
    Unavailable(String),
}

impl std::fmt::Display for Hook {
    /// The report's spelling: "tp_btf", "tracepoint", or "unavailable: why".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TpBtf => f.write_str("tp_btf"),
            Self::Tracepoint => f.write_str("tracepoint"),
            Self::Unavailable(why) => write!(f, "unavailable: {why}"),
        }
    }
}

impl From<Hook> for String {
    fn from(h: Hook) -> Self {
        h.to_string()
    }
}

impl TryFrom<String> for Hook {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "tp_btf" => Ok(Self::TpBtf),
            "tracepoint" => Ok(Self::Tracepoint),
            _ => s
                .strip_prefix("unavailable: ")
                .map(|why| Self::Unavailable(why.to_string()))
                .ok_or_else(|| format!("not a hook state: {s}")),
        }
    }
}

/// One second of kernel counts in the timeline. eBPF fills every field; /proc only those with
/// a host-wide counter (opened, retransmits, SYN retransmits, resets sent).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KernelSecond {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub handshakes: Option<u64>,
    pub opened: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub closed: Option<u64>,
    pub retransmits: u64,
    pub syn_retransmits: u64,
    pub resets_sent: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resets_received: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub drops: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Quantiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Handshakes {
    /// SYN_SENT → ESTABLISHED transitions.
    pub count: u64,
    /// SYN_SENT → CLOSE: refused, timed out or abandoned.
    pub failed: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Connections {
    /// eBPF: connect() calls of ours; /proc: the host's ActiveOpens.
    pub opened: u64,
    pub closed: Option<u64>,
    /// A reset answered our SYN (no listener).
    pub refused: Option<u64>,
    /// Not closed by the kernel when the report was made (still closing, or left open).
    pub open_at_end: Option<u64>,
    /// The state each connection left for CLOSE: LAST_ACK (the server closed first),
    /// FIN_WAIT2 or FIN_WAIT1 (ringblast closed first), ESTABLISHED (reset), SYN_SENT (failed).
    #[serde(default)]
    pub closed_from: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Resets {
    pub sent: u64,
    pub received: Option<u64>,
}

/// The target's host, when it is this host: its listen queues.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Listen {
    pub overflows: u64,
    pub drops: u64,
}

/// What the kernel saw, for the report's `kernel` object.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KernelReport {
    /// "ebpf" or "procfs".
    pub source: String,
    /// "ringblast" (its own connections) or "host" (every TCP socket in this network namespace).
    pub scope: String,
    /// Why eBPF was not used, when it was not.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Each hook and how it attached (eBPF only).
    #[serde(default)]
    pub hooks: BTreeMap<String, Hook>,
    pub handshakes: Option<Handshakes>,
    /// Kernel-measured SYN_SENT → ESTABLISHED time, microseconds.
    pub handshake_us: Option<Quantiles>,
    /// SYN_SENT → CLOSE, microseconds.
    pub lifetime_us: Option<Quantiles>,
    pub connections: Connections,
    pub retransmits: u64,
    pub syn_retransmits: u64,
    pub resets: Resets,
    /// Packets of ours the kernel dropped, by its drop reason (eBPF; empty from /proc).
    #[serde(default)]
    pub drops: BTreeMap<String, u64>,
    /// Unread segments freed when a connection of ours closed (the kernel's QUEUE_PURGE, usually
    /// the peer's FIN): housekeeping, not loss, so not among `drops`.
    #[serde(default)]
    pub purged_at_close: u64,
    /// Connections the kernel saw that did not fit the tracking table (not counted above).
    #[serde(default)]
    pub untracked: u64,
    /// Listen-queue overflows and drops of this host, when the target is on it.
    pub listen: Option<Listen>,
    /// Host-wide /proc counter deltas over the run, for comparison (always present).
    #[serde(default)]
    pub host: BTreeMap<String, u64>,
}
