//! Kernel-side statistics for a run (`--kernel-stats`): what the kernel saw of ringblast's own
//! connections, from eBPF when allowed, else host-wide /proc counters. Sampled on the main thread.

pub mod btf;
pub mod ebpf;
pub mod procfs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use ebpf::{Counters, Probe, slot};

/// `--kernel-stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// eBPF when the process may load it; otherwise say why and use /proc.
    #[default]
    Auto,
    /// eBPF or a setup error.
    On,
    Off,
}

/// The TCP states by number (include/net/tcp_states.h).
const TCP_STATES: [&str; 13] = [
    "0",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
];

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
    pub hooks: BTreeMap<String, String>,
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

enum Source {
    Ebpf(Box<Probe>),
    Procfs,
}

/// A run's kernel statistics, from before the workers start to after they stop.
pub struct Session {
    source: Source,
    note: Option<String>,
    target_local: bool,
    start: procfs::Reading,
    last_host: procfs::Reading,
    last: Counters,
    /// The kernel's drop reasons by number, from its BTF.
    reasons: BTreeMap<u64, String>,
}

/// Drop reasons that free a closing socket's queues rather than lose packets.
const PURGE: &str = "QUEUE_PURGE";

impl Session {
    /// Starts collecting for connections to `target`, of which up to `capacity` are open at
    /// once. `Ok(None)` for `Mode::Off`; with `Mode::On`, a missing privilege or kernel feature
    /// is the error.
    pub fn start(mode: Mode, target: SocketAddr, capacity: u32) -> Result<Option<Self>, String> {
        if mode == Mode::Off {
            return Ok(None);
        }
        let attach = match std::env::var("RINGBLAST_KSTATS_ATTACH").as_deref() {
            Ok("tracepoint") => ebpf::Attach::TracepointOnly,
            _ => ebpf::Attach::BtfFirst,
        };
        let (source, note) = match Probe::attach(target, capacity, attach) {
            Ok(p) => {
                if mode == Mode::On
                    && let Some((hook, why)) =
                        p.hooks.iter().find(|(_, h)| h.starts_with("unavailable"))
                {
                    return Err(format!("the {hook} hook could not attach: {why}"));
                }
                (Source::Ebpf(Box::new(p)), None)
            }
            Err(why) if mode == Mode::On => return Err(why),
            Err(why) => (Source::Procfs, Some(why)),
        };
        let start = procfs::Reading::now();
        let mut s = Self {
            source,
            note,
            target_local: is_local(target),
            last_host: start.clone(),
            start,
            last: Counters::default(),
            reasons: btf::drop_reasons(),
        };
        s.last = s.counters();
        Ok(Some(s))
    }

    /// Why eBPF is not used, if it is not.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Hooks that could not attach, as (hook, why).
    pub fn skipped_hooks(&self) -> Vec<(String, String)> {
        match &self.source {
            Source::Ebpf(p) => p
                .hooks
                .iter()
                .filter(|(_, h)| h.starts_with("unavailable"))
                .cloned()
                .collect(),
            Source::Procfs => Vec::new(),
        }
    }

    fn counters(&self) -> Counters {
        match &self.source {
            // A failed read of a loaded map is not expected; it reads as no change.
            Source::Ebpf(p) => p.read().unwrap_or_else(|_| self.last.clone()),
            Source::Procfs => Counters::default(),
        }
    }

    /// The counts since the last call: one second of the timeline.
    pub fn second(&mut self) -> KernelSecond {
        match &self.source {
            Source::Ebpf(_) => {
                let now = self.counters();
                let d = |s: usize| now.get(s).saturating_sub(self.last.get(s));
                let purged = |c: &Counters| {
                    self.reasons
                        .iter()
                        .filter(|(_, n)| n.as_str() == PURGE)
                        .map(|(r, _)| c.drops.get(*r as usize).copied().unwrap_or(0))
                        .sum::<u64>()
                };
                let drops =
                    d(slot::DROPS).saturating_sub(purged(&now).saturating_sub(purged(&self.last)));
                let second = KernelSecond {
                    handshakes: Some(d(slot::HANDSHAKES)),
                    opened: d(slot::OPENED),
                    closed: Some(d(slot::CLOSED)),
                    retransmits: d(slot::RETRANSMITS),
                    syn_retransmits: d(slot::SYN_RETRANSMITS),
                    resets_sent: d(slot::RESETS_SENT),
                    resets_received: Some(d(slot::RESETS_RECEIVED)),
                    drops: Some(drops),
                };
                self.last = now;
                second
            }
            Source::Procfs => {
                let now = procfs::Reading::now();
                let d = now.since(&self.last_host);
                let g = |k: &str| d.get(k).copied().unwrap_or(0);
                self.last_host = now;
                KernelSecond {
                    opened: g("ActiveOpens"),
                    retransmits: g("RetransSegs"),
                    syn_retransmits: g("TCPSynRetrans"),
                    resets_sent: g("OutRsts"),
                    ..KernelSecond::default()
                }
            }
        }
    }

    /// The whole run. Waits up to `settle` for connections closed at the end of the run to
    /// reach CLOSE in the kernel, so that opened and closed can be compared.
    pub fn finish(self, settle: Duration) -> KernelReport {
        let deadline = Instant::now() + settle;
        let mut c = self.counters();
        if let Source::Ebpf(_) = &self.source {
            while c.get(slot::OPENED) > c.get(slot::CLOSED) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
                c = self.counters();
            }
        }
        let host = procfs::Reading::now().since(&self.start);
        let g = |k: &str| host.get(k).copied().unwrap_or(0);
        let listen = self.target_local.then(|| Listen {
            overflows: g("ListenOverflows"),
            drops: g("ListenDrops"),
        });
        match &self.source {
            Source::Ebpf(p) => {
                let hist = |name: &str, max_slot: usize| {
                    p.histogram(name)
                        .ok()
                        .and_then(|b| quantiles(&b, c.get(max_slot)))
                };
                let mut drops: BTreeMap<String, u64> = c
                    .drops
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(r, n)| {
                        let name = match self.reasons.get(&(r as u64)) {
                            Some(name) if r + 1 < ebpf::N_REASONS => name.clone(),
                            _ => format!("reason_{r}"),
                        };
                        (name, *n)
                    })
                    .collect();
                let purged_at_close = drops.remove(PURGE).unwrap_or(0);
                let closed_from = (1..TCP_STATES.len())
                    .filter(|s| c.get(slot::CLOSE_FROM + s) > 0)
                    .map(|s| (TCP_STATES[s].to_string(), c.get(slot::CLOSE_FROM + s)))
                    .collect();
                KernelReport {
                    source: "ebpf".into(),
                    scope: "ringblast".into(),
                    note: None,
                    hooks: p.hooks.iter().cloned().collect(),
                    handshakes: Some(Handshakes {
                        count: c.get(slot::HANDSHAKES),
                        failed: c.get(slot::HANDSHAKE_FAILED),
                    }),
                    handshake_us: hist("handshake_ns", slot::HANDSHAKE_MAX_NS),
                    lifetime_us: hist("lifetime_ns", slot::LIFETIME_MAX_NS),
                    connections: Connections {
                        opened: c.get(slot::OPENED),
                        closed: Some(c.get(slot::CLOSED)),
                        refused: Some(c.get(slot::REFUSED)),
                        open_at_end: Some(c.get(slot::OPENED).saturating_sub(c.get(slot::CLOSED))),
                        closed_from,
                    },
                    retransmits: c.get(slot::RETRANSMITS),
                    syn_retransmits: c.get(slot::SYN_RETRANSMITS),
                    resets: Resets {
                        sent: c.get(slot::RESETS_SENT),
                        received: Some(c.get(slot::RESETS_RECEIVED)),
                    },
                    drops,
                    purged_at_close,
                    untracked: c.get(slot::UNTRACKED),
                    listen,
                    host,
                }
            }
            Source::Procfs => KernelReport {
                source: "procfs".into(),
                scope: "host".into(),
                note: self.note.clone(),
                hooks: BTreeMap::new(),
                handshakes: None,
                handshake_us: None,
                lifetime_us: None,
                connections: Connections {
                    opened: g("ActiveOpens"),
                    ..Connections::default()
                },
                retransmits: g("RetransSegs"),
                syn_retransmits: g("TCPSynRetrans"),
                resets: Resets {
                    sent: g("OutRsts"),
                    received: None,
                },
                drops: BTreeMap::new(),
                purged_at_close: 0,
                untracked: 0,
                listen,
                host,
            },
        }
    }
}

/// Whether `target` is an address of this host (so its listen queues are this kernel's).
fn is_local(target: SocketAddr) -> bool {
    let ip = target.ip();
    ip.is_loopback() || std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// A bucket's range of nanoseconds [low, high), as bpf/kstats.bpf.c's `record` numbers them.
pub fn bucket_range(i: usize) -> (u64, u64) {
    if i < 16 {
        return (i as u64, i as u64 + 1);
    }
    let shift = (i - 16) / 16;
    let low = (16 + ((i - 16) % 16) as u64) << shift;
    (low, low + (1 << shift))
}

/// p50, p99 and max in microseconds from log-linear buckets (each value read as its bucket's
/// middle, within 3 %), with the exact maximum; None when empty.
pub fn quantiles(buckets: &[u64], max_ns: u64) -> Option<Quantiles> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let at = |q: f64| {
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (lo, hi) = bucket_range(i);
                return (lo + (hi - lo) / 2).min(max_ns.max(lo));
            }
        }
        max_ns
    };
    let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
    Some(Quantiles {
        p50: us(at(0.5)),
        p99: us(at(0.99)),
        max: us(max_ns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bucketing as the BPF program, in Rust, to check the two agree.
    fn bucket(ns: u64) -> usize {
        if ns < 16 {
            return ns as usize;
        }
        let e = 63 - ns.leading_zeros() as usize;
        (16 + (e - 4) * 16 + ((ns >> (e - 4)) & 15) as usize).min(ebpf::N_BUCKETS - 1)
    }

    #[test]
    fn buckets_cover_their_values() {
        for ns in [
            0u64,
            15,
            16,
            31,
            32,
            33,
            1_000,
            25_000,
            999_999,
            123_456_789,
            1 << 40,
        ] {
            let (lo, hi) = bucket_range(bucket(ns));
            assert!(lo <= ns && ns < hi, "{ns} not in [{lo}, {hi})");
            assert!(
                (hi - lo) as f64 <= (lo as f64 / 16.0).max(1.0),
                "{ns}: too wide"
            );
        }
    }

    #[test]
    fn quantiles_from_buckets() {
        let mut b = vec![0u64; ebpf::N_BUCKETS];
        for ns in (1..=100).map(|i| i * 1_000) {
            b[bucket(ns)] += 1;
        }
        let q = quantiles(&b, 100_000).unwrap();
        assert!((q.p50 - 50.0).abs() <= 50.0 * 0.04, "{q:?}");
        assert!((q.p99 - 99.0).abs() <= 99.0 * 0.04, "{q:?}");
        assert_eq!(q.max, 100.0);
        assert!(quantiles(&[0; 4], 0).is_none());
    }

    #[test]
    fn loopback_is_local() {
        assert!(is_local("127.0.0.1:80".parse().unwrap()));
        assert!(!is_local("192.0.2.1:80".parse().unwrap()));
    }
}
