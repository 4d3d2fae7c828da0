//! Loads bpf/kstats.bpf.o with aya, points it at the target and this process, attaches each hook
//! (tp_btf first, then the classic tracepoint) and reads its per-CPU maps. No report logic here.

pub use super::model::Hook;
use std::net::SocketAddr;

use aya::maps::PerCpuArray;
use aya::programs::{BtfTracePoint, TracePoint};
use aya::{Btf, Ebpf, EbpfLoader};

/// The object scripts/build-bpf.sh builds from bpf/kstats.bpf.c.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../bpf/kstats.bpf.o");

/// Counter slots, as bpf/kstats.bpf.c numbers them.
pub mod slot {
    pub const OPENED: usize = 0;
    pub const HANDSHAKES: usize = 1;
    pub const CLOSED: usize = 2;
    pub const RETRANSMITS: usize = 3;
    pub const SYN_RETRANSMITS: usize = 4;
    pub const RESETS_RECEIVED: usize = 5;
    pub const RESETS_SENT: usize = 6;
    pub const REFUSED: usize = 7;
    pub const HANDSHAKE_FAILED: usize = 8;
    pub const UNTRACKED: usize = 9;
    pub const DROPS: usize = 10;
    pub const HANDSHAKE_MAX_NS: usize = 11;
    pub const LIFETIME_MAX_NS: usize = 12;
    pub const CLOSE_FROM: usize = 16;
    /// Slots that hold a per-CPU maximum, not a count.
    pub const MAXIMA: [usize; 2] = [HANDSHAKE_MAX_NS, LIFETIME_MAX_NS];
}
pub const N_COUNTERS: usize = 32;
pub const N_BUCKETS: usize = 1024;
pub const N_REASONS: usize = 512;

/// The hooks: (tracepoint, its category, the tp_btf program, the classic program).
const HOOKS: [(&str, &str, &str, &str); 5] = [
    (
        "inet_sock_set_state",
        "sock",
        "btf_set_state",
        "tp_set_state",
    ),
    (
        "tcp_retransmit_skb",
        "tcp",
        "btf_retransmit",
        "tp_retransmit",
    ),
    (
        "tcp_receive_reset",
        "tcp",
        "btf_receive_reset",
        "tp_receive_reset",
    ),
    ("tcp_send_reset", "tcp", "btf_send_reset", "tp_send_reset"),
    ("kfree_skb", "skb", "btf_kfree_skb", "tp_kfree_skb"),
];

/// Which attach type to try first (`RINGBLAST_KSTATS_ATTACH=tracepoint` starts with the classic
/// one, to check the fallback on a kernel where tp_btf works).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    BtfFirst,
    TracepointOnly,
}

/// The loaded programs and their maps; detached when dropped (links are file descriptors).
pub struct Probe {
    bpf: Ebpf,
    /// Each hook and how it attached.
    pub hooks: Vec<(String, Hook)>,
}

/// Why eBPF cannot be used, or a map cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EbpfError {
    #[error(
        "this kernel exposes no BTF at /sys/kernel/btf/vmlinux (it needs CONFIG_DEBUG_INFO_BTF=y, Linux 5.5 or later)"
    )]
    NoBtf,
    /// This process may not load tracing programs: what it lacks and how to grant it.
    #[error("{0}")]
    Privilege(String),
    #[error("cannot read the kernel's BTF: {0}")]
    Btf(String),
    /// The object did not load (the verifier's last line when it rejected a program).
    #[error("{0}")]
    Load(String),
    #[error("the hook that finds ringblast's connections could not attach ({hook}: {why})")]
    FirstHook { hook: String, why: String },
    /// `--kernel-stats on` and a hook did not attach.
    #[error("the {hook} hook could not attach: {why}")]
    Hook { hook: String, why: String },
    #[error("the BPF map {map}: {why}")]
    Map { map: String, why: String },
}

/// Summed counters (maxima: the largest per-CPU value) and drops by reason number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub c: Vec<u64>,
    pub drops: Vec<u64>,
}

impl Counters {
    pub fn get(&self, slot: usize) -> u64 {
        self.c.get(slot).copied().unwrap_or(0)
    }
}

/// Why this process may not load tracing programs, if it may not: root, or CAP_BPF with
/// CAP_PERFMON (CAP_SYS_ADMIN also allows it).
pub fn missing_privilege() -> Option<String> {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| eff & (1 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return None;
    }
    let lacking: Vec<&str> = [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .iter()
        .filter(|(c, _)| !has(*c))
        .map(|(_, n)| *n)
        .collect();
    Some(format!(
        "loading eBPF needs root or CAP_BPF and CAP_PERFMON, and this process lacks {} \
         (sudo setcap cap_bpf,cap_perfmon+ep on the binary grants them)",
        lacking.join(" and ")
    ))
}

impl Probe {
    /// Loads and attaches everything for connections from this process to `target`, tracking
    /// up to `capacity` connections at once. An error says what is missing.
    pub fn attach(target: SocketAddr, capacity: u32, attach: Attach) -> Result<Self, EbpfError> {
        if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
            return Err(EbpfError::NoBtf);
        }
        if let Some(why) = missing_privilege() {
            return Err(EbpfError::Privilege(why));
        }
        let btf = Btf::from_sys_fs().map_err(|e| EbpfError::Btf(e.to_string()))?;
        let (family, port, addr) = match target {
            SocketAddr::V4(a) => {
                let mut w = [0u32; 4];
                w[0] = u32::from_ne_bytes(a.ip().octets());
                (2u32, a.port(), w)
            }
            SocketAddr::V6(a) => {
                let o = a.ip().octets();
                let w = std::array::from_fn(|i| {
                    u32::from_ne_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]])
                });
                (10u32, a.port(), w)
            }
        };
        // The port as the kernel stores it (network order), read back as a native u16.
        let port = u32::from(u16::from_ne_bytes(port.to_be_bytes()));
        let tgid = std::process::id();
        let mut bpf = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global("rb_tgid", &tgid, true)
            .override_global("rb_family", &family, true)
            .override_global("rb_port", &port, true)
            .override_global("rb_addr", &addr, true)
            .map_max_entries("socks", capacity.clamp(1024, 1 << 20))
            .load(OBJECT)
            .map_err(|e| EbpfError::Load(load_error(&e.to_string())))?;
        let mut hooks = Vec::new();
        for (tp, category, btf_prog, classic) in HOOKS {
            let mut why = Vec::new();
            let mut how = None;
            if attach == Attach::BtfFirst {
                match attach_btf(&mut bpf, btf_prog, tp, &btf) {
                    Ok(()) => how = Some(Hook::TpBtf),
                    Err(e) => why.push(format!("tp_btf: {e}")),
                }
            }
            if how.is_none() {
                match attach_classic(&mut bpf, classic, category, tp) {
                    Ok(()) => how = Some(Hook::Tracepoint),
                    Err(e) => why.push(format!("tracepoint: {e}")),
                }
            }
            let state = how.unwrap_or_else(|| Hook::Unavailable(why.join("; ")));
            hooks.push((tp.to_string(), state));
        }
        if let Hook::Unavailable(why) = &hooks[0].1 {
            return Err(EbpfError::FirstHook {
                hook: hooks[0].0.clone(),
                why: why.clone(),
            });
        }
        Ok(Self { bpf, hooks })
    }

    /// The counters and drops now, summed over CPUs.
    pub fn read(&self) -> Result<Counters, EbpfError> {
        let per_cpu: PerCpuArray<_, [u64; N_COUNTERS]> = self.array("counters")?;
        let values = per_cpu.get(&0, 0).map_err(|e| map_error("counters", e))?;
        let mut c = vec![0u64; N_COUNTERS];
        for cpu in values.iter() {
            for (i, v) in cpu.iter().enumerate() {
                c[i] = if slot::MAXIMA.contains(&i) {
                    c[i].max(*v)
                } else {
                    c[i] + v
                };
            }
        }
        Ok(Counters {
            c,
            drops: self.sum::<N_REASONS>("drops")?,
        })
    }

    /// A histogram's buckets summed over CPUs: "handshake_ns" or "lifetime_ns".
    pub fn histogram(&self, name: &str) -> Result<Vec<u64>, EbpfError> {
        self.sum::<N_BUCKETS>(name)
    }

    fn sum<const N: usize>(&self, name: &str) -> Result<Vec<u64>, EbpfError> {
        let per_cpu: PerCpuArray<_, [u64; N]> = self.array(name)?;
        let values = per_cpu.get(&0, 0).map_err(|e| map_error(name, e))?;
        let mut out = vec![0u64; N];
        for cpu in values.iter() {
            for (o, v) in out.iter_mut().zip(cpu.iter()) {
                *o += v;
            }
        }
        Ok(out)
    }

    fn array<V: aya::Pod>(
        &self,
        name: &str,
    ) -> Result<PerCpuArray<&aya::maps::MapData, V>, EbpfError> {
        let map = self.bpf.map(name).ok_or_else(|| EbpfError::Map {
            map: name.into(),
            why: "not in the BPF object".into(),
        })?;
        PerCpuArray::try_from(map).map_err(|e| map_error(name, e))
    }
}

fn map_error(map: &str, e: impl std::fmt::Display) -> EbpfError {
    EbpfError::Map {
        map: map.into(),
        why: e.to_string(),
    }
}

fn attach_btf(bpf: &mut Ebpf, prog: &str, tp: &str, btf: &Btf) -> Result<(), String> {
    let p: &mut BtfTracePoint = bpf
        .program_mut(prog)
        .ok_or("not in the object")?
        .try_into()
        .map_err(|e: aya::programs::ProgramError| e.to_string())?;
    p.load(tp, btf).map_err(|e| program_error(&e))?;
    p.attach().map_err(|e| program_error(&e))?;
    Ok(())
}

fn attach_classic(bpf: &mut Ebpf, prog: &str, category: &str, tp: &str) -> Result<(), String> {
    let p: &mut TracePoint = bpf
        .program_mut(prog)
        .ok_or("not in the object")?
        .try_into()
        .map_err(|e: aya::programs::ProgramError| e.to_string())?;
    p.load().map_err(|e| program_error(&e))?;
    p.attach(category, tp).map_err(|e| program_error(&e))?;
    Ok(())
}

/// One line from a program error: aya's message, and the verifier's last line if it rejected
/// the program.
fn program_error(e: &aya::programs::ProgramError) -> String {
    match e {
        aya::programs::ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            let log = verifier_log.to_string();
            // The verifier's reason is its last line before the statistics it ends with.
            let last = log
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("processed ") && !l.starts_with("--"))
                .unwrap_or("");
            format!(
                "load failed ({io_error}){}",
                if last.is_empty() {
                    String::new()
                } else {
                    format!(": {last}")
                }
            )
        }
        other => {
            let mut s = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(inner) = src {
                s.push_str(&format!(": {inner}"));
                src = inner.source();
            }
            s
        }
    }
}

/// Says what to change when the object cannot be loaded at all.
fn load_error(e: &str) -> String {
    if e.contains("ermission") || e.contains("EPERM") {
        format!(
            "the kernel refused to load BPF ({e}); run as root, or grant CAP_BPF and CAP_PERFMON"
        )
    } else {
        format!("cannot load the BPF object: {e}")
    }
}
