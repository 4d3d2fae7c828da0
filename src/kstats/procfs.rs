//! The kernel's TCP counters from /proc/net/snmp and /proc/net/netstat: host-wide (this network
//! namespace), readable without privileges. Parses and subtracts; knows nothing of eBPF.

use std::collections::BTreeMap;

/// The counters reported, in the order the text report lists them.
pub const COUNTERS: [&str; 9] = [
    "ActiveOpens",
    "AttemptFails",
    "EstabResets",
    "OutRsts",
    "RetransSegs",
    "TCPSynRetrans",
    "TCPTimeouts",
    "ListenOverflows",
    "ListenDrops",
];

/// One reading of the counters above (absent ones are missing, not zero).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading(pub BTreeMap<&'static str, u64>);

impl Reading {
    /// Reads both files now; a file that cannot be read leaves its counters out.
    pub fn now() -> Self {
        let mut all = BTreeMap::new();
        for path in ["/proc/net/snmp", "/proc/net/netstat"] {
            if let Ok(text) = std::fs::read_to_string(path) {
                parse(&text, &mut all);
            }
        }
        Self::pick(&all)
    }

    fn pick(all: &BTreeMap<String, u64>) -> Self {
        Self(
            COUNTERS
                .iter()
                .filter_map(|&name| {
                    let v = all
                        .get(&format!("Tcp.{name}"))
                        .or_else(|| all.get(&format!("TcpExt.{name}")))?;
                    Some((name, *v))
                })
                .collect(),
        )
    }

    /// What each counter grew by since `earlier` (counters never shrink; a wrap reads as 0).
    pub fn since(&self, earlier: &Reading) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .map(|(k, v)| {
                let before = earlier.0.get(k).copied().unwrap_or(*v);
                (k.to_string(), v.saturating_sub(before))
            })
            .collect()
    }
}

/// Adds `Section.Name` → value for each pair of header and value lines (`Tcp: A B` / `Tcp: 1 2`).
fn parse(text: &str, out: &mut BTreeMap<String, u64>) {
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((section, names)), Some((section2, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        if section != section2 {
            continue;
        }
        for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
            // Gauges such as MaxConn are -1 on some kernels: not counters, skipped.
            if let Ok(v) = v.parse::<u64>() {
                out.insert(format!("{section}.{n}"), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_and_value_pairs() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
                    Tcp: RtoAlgorithm MaxConn ActiveOpens RetransSegs OutRsts\n\
                    Tcp: 1 -1 10 3 4\n";
        let netstat = "TcpExt: ListenOverflows ListenDrops TCPSynRetrans\nTcpExt: 5 6 7\n";
        let mut all = BTreeMap::new();
        parse(snmp, &mut all);
        parse(netstat, &mut all);
        let r = Reading::pick(&all);
        assert_eq!(r.0.get("ActiveOpens"), Some(&10));
        assert_eq!(r.0.get("ListenDrops"), Some(&6));
        assert!(!r.0.contains_key("MaxConn"));
        let mut later = r.clone();
        later.0.insert("RetransSegs", 13);
        assert_eq!(later.since(&r).get("RetransSegs"), Some(&10));
        assert_eq!(later.since(&r).get("OutRsts"), Some(&0));
    }

    #[test]
    fn this_host_has_the_tcp_counters() {
        let r = Reading::now();
        for name in ["ActiveOpens", "RetransSegs", "OutRsts", "ListenOverflows"] {
            assert!(r.0.contains_key(name), "{name} missing from {r:?}");
        }
    }
}
