//! Kernel-side statistics for a run (`--kernel-stats`): what the kernel saw of ringblast's own
//! connections, from eBPF when allowed, else host-wide /proc counters. Sampled on the main thread.

pub mod btf;
pub mod buckets;
pub mod ebpf;
pub mod model;
pub mod procfs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use buckets::quantiles;
use ebpf::{Counters, Probe, slot};
pub use model::*;

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
    pub fn start(
        mode: Mode,
        target: SocketAddr,
        capacity: u32,
    ) -> Result<Option<Self>, ebpf::EbpfError> {
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
                    && let Some((hook, ebpf::Hook::Unavailable(why))) = p
                        .hooks
                        .iter()
                        .find(|(_, h)| matches!(h, ebpf::Hook::Unavailable(_)))
                {
                    return Err(ebpf::EbpfError::Hook {
                        hook: hook.clone(),
                        why: why.clone(),
                    });
                }
                (Source::Ebpf(Box::new(p)), None)
            }
            Err(why) if mode == Mode::On => return Err(why),
            Err(why) => (Source::Procfs, Some(why.to_string())),
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
                .filter_map(|(hook, h)| match h {
                    ebpf::Hook::Unavailable(why) => Some((hook.clone(), why.clone())),
                    _ => None,
                })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_local() {
        assert!(is_local("127.0.0.1:80".parse().unwrap()));
        assert!(!is_local("192.0.2.1:80".parse().unwrap()));
    }
}
