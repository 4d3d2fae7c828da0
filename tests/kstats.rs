//! Kernel statistics (`--kernel-stats`), checked against what the test's own servers saw: the
//! kernel's handshake count, resets, refusals, retransmits under loss made in a network
//! namespace, and the /proc fallback without privileges. Where eBPF cannot load (not root, no
//! BTF) the eBPF tests say they skip, unless CI=true or RINGBLAST_REQUIRE_ALL=1, where they fail.

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Mode, TempDir, TestServer, run_bounded};
use serde_json::Value;

/// Whether this process may load ringblast's BPF programs (a real load, then dropped).
fn ebpf_available() -> bool {
    let addr = "127.0.0.1:9".parse().unwrap();
    match ringblast::kstats::ebpf::Probe::attach(
        addr,
        1024,
        ringblast::kstats::ebpf::Attach::BtfFirst,
    ) {
        Ok(_) => true,
        Err(why) => {
            common::skip("an eBPF test", &format!("eBPF is unavailable here: {why}"));
            false
        }
    }
}

struct KRun {
    code: i32,
    stdout: String,
    stderr: String,
    json: Value,
}

/// Runs `ringblast run ARGS --kernel-stats on --json F -q` with extra environment, bounded in
/// time.
fn krun(env: &[(&str, &str)], args: &[&str]) -> KRun {
    let dir = TempDir::new("kstats");
    let json = dir.join("r.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringblast"));
    cmd.arg("run")
        .args(args)
        .args(["--kernel-stats", "on", "--json"])
        .arg(&json)
        .arg("-q");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_bounded(cmd, Duration::from_secs(60));
    KRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        json: std::fs::read_to_string(&json)
            .map(|s| serde_json::from_str(&s).unwrap())
            .unwrap_or(Value::Null),
    }
}

fn n(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {pointer} in {v}"))
}

/// The committed object is the one scripts/build-bpf.sh made from the committed source.
#[test]
fn bpf_object_matches_its_source() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/bpf");
    let stamp = std::fs::read_to_string(format!("{dir}/kstats.bpf.sha256")).unwrap();
    let mut checked = 0;
    for line in stamp
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("  "))
    {
        let (hash, file) = line.split_once("  ").unwrap();
        let out = Command::new("sha256sum")
            .arg(format!("{dir}/{file}"))
            .output()
            .expect("sha256sum (coreutils) runs");
        let actual = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            actual.split_whitespace().next(),
            Some(hash),
            "bpf/{file} changed since the object was built: run scripts/build-bpf.sh"
        );
        checked += 1;
    }
    assert_eq!(
        checked, 3,
        "the stamp lists the source, its header and the object"
    );
}

per_backend! {
    fn kernel_handshakes_equal_the_connections_opened(io) {
        if !ebpf_available() {
            return;
        }
        let server = TestServer::start(Mode::Plain);
        let url = server.url("/");
        let r = krun(&[], &[&url, "--io", io, "-c", "6", "-n", "1200", "--requests-per-conn", "40"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let k = &r.json["kernel"];
        assert_eq!(k["source"], "ebpf");
        assert_eq!(k["hooks"]["inet_sock_set_state"], "tp_btf", "{k}");
        let accepted = server.counts.connections.load(Ordering::Relaxed);
        let opened = n(&r.json, "/connections_detail/opened");
        assert_eq!(n(k, "/handshakes/count"), opened, "{k}");
        assert_eq!(opened, accepted, "the server accepted {accepted}");
        assert_eq!(n(k, "/connections/opened"), opened);
        assert_eq!(n(k, "/connections/closed"), opened, "every connection closed: {k}");
        assert_eq!(n(k, "/handshakes/failed"), 0);
        assert_eq!(n(k, "/retransmits"), 0, "no loss on loopback: {k}");
        assert!(k["handshake_us"]["p50"].as_f64().unwrap() > 0.0, "{k}");
        assert!(k["handshake_us"]["max"].as_f64() >= k["handshake_us"]["p99"].as_f64());
        // ringblast closed them after 40 requests each: FIN_WAIT2 (or FIN_WAIT1) at close.
        let from = k["connections"]["closed_from"].as_object().unwrap();
        assert!(from.keys().any(|s| s.starts_with("FIN_WAIT")), "{k}");
        assert!(k["listen"].is_object(), "the target is on this host: {k}");
        // The timeline's per-second counts add up to no more than the whole.
        let per_second: u64 = r.json["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| n(e, "/kernel/opened"))
            .sum();
        assert!(per_second > 0 && per_second <= opened, "{per_second} of {opened}");
        assert!(r.stdout.contains("SYN→ESTABLISHED"), "{}", r.stdout);
        common::validate(&common::report_schema(), &r.json, "$").unwrap();
    }
}

/// The classic tracepoints count the same as tp_btf (the fallback is real code, tried here).
#[test]
fn classic_tracepoints_count_the_same() {
    if !ebpf_available() {
        return;
    }
    if !std::path::Path::new("/sys/kernel/tracing/events/sock").exists() {
        let _ = Command::new("mount")
            .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            .status();
    }
    if !std::path::Path::new("/sys/kernel/tracing/events/sock").exists() {
        common::skip(
            "the classic tracepoints test",
            "tracefs is not mounted at /sys/kernel/tracing and cannot be",
        );
        return;
    }
    let server = TestServer::start(Mode::Plain);
    let url = server.url("/");
    let r = krun(
        &[("RINGBLAST_KSTATS_ATTACH", "tracepoint")],
        &[&url, "-c", "4", "-n", "400", "--requests-per-conn", "20"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let k = &r.json["kernel"];
    for hook in [
        "inet_sock_set_state",
        "tcp_retransmit_skb",
        "tcp_receive_reset",
        "tcp_send_reset",
        "kfree_skb",
    ] {
        assert_eq!(k["hooks"][hook], "tracepoint", "{k}");
    }
    let accepted = server.counts.connections.load(Ordering::Relaxed);
    assert_eq!(n(k, "/handshakes/count"), accepted, "{k}");
    assert_eq!(n(k, "/connections/closed"), accepted, "{k}");
}

/// A target that resets every connection once it has a request (closing with the request
/// unread makes the kernel send RST): the kernel shows each reset received.
#[test]
fn a_resetting_target_shows_resets_received() {
    if !ebpf_available() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (a, s) = (accepted.clone(), stop.clone());
    let server = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    a.fetch_add(1, Ordering::Relaxed);
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(2)))
                        .unwrap();
                    let mut b = [0u8; 1];
                    // Wait for the request without consuming it, then close: RST.
                    let interrupted = |r: std::io::Result<usize>| {
                        r.is_err_and(|e| e.kind() == std::io::ErrorKind::Interrupted)
                    };
                    while interrupted(stream.peek(&mut b)) {}
                    drop(stream);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    });
    let url = format!("http://{addr}/");
    let r = krun(&[], &[&url, "-c", "2", "-n", "20", "--no-resend"]);
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    assert!(r.json.is_object(), "{}", r.stderr);
    let k = &r.json["kernel"];
    let accepted = accepted.load(Ordering::Relaxed);
    assert!(accepted > 0);
    assert_eq!(
        n(k, "/resets/received"),
        accepted,
        "one reset per connection: {k}"
    );
    assert_eq!(
        n(k, "/connections/closed_from/ESTABLISHED"),
        accepted,
        "{k}"
    );
    assert_eq!(n(k, "/connections/refused"), 0);
    assert!(
        n(&r.json, "/errors/reset") > 0,
        "ringblast saw the resets too"
    );
}

/// Connecting to a port nobody listens on: every SYN is answered by a reset, which the kernel
/// counts as refusals, with the SYN's drop at the target named NO_SOCKET.
#[test]
fn a_refused_port_shows_the_refusals() {
    if !ebpf_available() {
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let r = krun(&[], &[&url, "-c", "2", "-n", "4"]);
    assert_eq!(r.code, 1, "no connection could be made: {}", r.stderr);
    let k = &r.json["kernel"];
    let refused = n(k, "/connections/refused");
    assert!(refused >= 2, "{k}");
    assert_eq!(n(k, "/connections/opened"), refused, "{k}");
    assert_eq!(n(k, "/handshakes/failed"), refused, "{k}");
    assert_eq!(n(k, "/handshakes/count"), 0);
    assert_eq!(n(k, "/resets/received"), refused);
    assert_eq!(n(k, "/drops/NO_SOCKET"), refused, "{k}");
    assert!(n(k, "/host/AttemptFails") >= refused, "{k}");
    assert!(n(&r.json, "/errors/connect_refused") > 0);
}

/// A veth pair into a network namespace of the test's own, with nftables dropping a share of
/// the packets the namespace receives; removed when dropped.
struct LossyNetns {
    name: String,
    veth: String,
    server: Option<std::process::Child>,
    addr: String,
}

impl LossyNetns {
    fn sh(args: &[&str]) -> Result<(), String> {
        let out = Command::new(args[0])
            .args(&args[1..])
            .output()
            .map_err(|e| format!("{}: {e}", args[0]))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    fn create(loss_percent: u32) -> Result<Self, String> {
        let id = std::process::id() % 100_000;
        let octet = id % 250 + 1;
        let name = format!("rbk{id}");
        let veth = format!("rbk{id}a");
        let peer = format!("rbk{id}b");
        let (host, inside) = (format!("10.213.{octet}.1"), format!("10.213.{octet}.2"));
        let mut me = Self {
            name: name.clone(),
            veth: veth.clone(),
            server: None,
            addr: inside.clone(),
        };
        Self::sh(&["ip", "netns", "add", &name])?;
        Self::sh(&[
            "ip", "link", "add", &veth, "type", "veth", "peer", "name", &peer,
        ])?;
        Self::sh(&["ip", "link", "set", &peer, "netns", &name])?;
        Self::sh(&["ip", "addr", "add", &format!("{host}/30"), "dev", &veth])?;
        Self::sh(&["ip", "link", "set", &veth, "up"])?;
        let ns = |args: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", name.as_str()];
            v.extend_from_slice(args);
            Self::sh(&v)
        };
        ns(&["ip", "addr", "add", &format!("{inside}/30"), "dev", &peer])?;
        ns(&["ip", "link", "set", &peer, "up"])?;
        ns(&["ip", "link", "set", "lo", "up"])?;
        ns(&["nft", "add table inet rbloss"])?;
        ns(&[
            "nft",
            "add chain inet rbloss input { type filter hook input priority 0; policy accept; }",
        ])?;
        ns(&[
            "nft",
            &format!(
                "add rule inet rbloss input tcp dport 8080 numgen random mod 100 lt {loss_percent} drop"
            ),
        ])?;
        let server = Command::new("ip")
            .args([
                "netns",
                "exec",
                &name,
                env!("CARGO_BIN_EXE_ringblast"),
                "serve",
            ])
            .args(["--listen", &format!("{inside}:8080"), "--threads", "1"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("serve in the namespace: {e}"))?;
        me.server = Some(server);
        // Wait until it listens (through the lossy link: a few tries).
        let deadline = Instant::now() + Duration::from_secs(10);
        let target: std::net::SocketAddr = format!("{inside}:8080").parse().unwrap();
        while std::net::TcpStream::connect_timeout(&target, Duration::from_millis(500)).is_err() {
            if Instant::now() > deadline {
                return Err("the server in the namespace did not come up".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(me)
    }
}

impl Drop for LossyNetns {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = Self::sh(&["ip", "link", "del", &self.veth]);
        let _ = Self::sh(&["ip", "netns", "del", &self.name]);
    }
}

/// 15 % of the packets into the target's namespace dropped by nftables: the kernel shows our
/// retransmits, and the drops by their reason.
#[test]
fn loss_in_a_network_namespace_shows_retransmits() {
    if !ebpf_available() {
        return;
    }
    let net = match LossyNetns::create(15) {
        Ok(n) => n,
        Err(why) => {
            common::skip(
                "the packet-loss test",
                &format!("cannot make a lossy network namespace: {why}"),
            );
            return;
        }
    };
    let url = format!("http://{}:8080/", net.addr);
    let r = krun(&[], &[&url, "-c", "8", "-d", "3s", "--timeout", "10s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let k = &r.json["kernel"];
    let retransmits = n(k, "/retransmits");
    assert!(retransmits > 0, "15 % loss and no retransmits: {k}");
    assert!(n(k, "/host/RetransSegs") >= retransmits, "{k}");
    assert!(n(k, "/drops/NETFILTER_DROP") > 0, "{k}");
    assert!(
        k["listen"].is_null(),
        "the target is in another namespace, not local: {k}"
    );
    assert!(r.stdout.contains("retransmits"), "{}", r.stdout);
}

/// Without privileges (as nobody, no capabilities): one line saying why, the host-wide /proc
/// counters, and the run goes on; `on` is a setup error naming the capability. With only
/// CAP_BPF and CAP_PERFMON (still not root), eBPF works.
#[test]
fn without_privileges_it_falls_back_to_procfs() {
    if Command::new("setpriv").arg("--version").output().is_err() {
        common::skip(
            "the unprivileged test",
            "setpriv (util-linux) is not installed",
        );
        return;
    }
    // Switching to another user needs root, which is also what loads eBPF here.
    if !ebpf_available() {
        return;
    }
    let dir = TempDir::new("nopriv");
    let bin = dir.join("ringblast");
    std::fs::copy(env!("CARGO_BIN_EXE_ringblast"), &bin).unwrap();
    Command::new("chmod")
        .args(["-R", "a+rwx"])
        .arg(&*dir)
        .status()
        .unwrap();
    let server = TestServer::start(Mode::Plain);
    let url = server.url("/");
    let json = dir.join("r.json");
    // As nobody, with no capabilities, or (caps) with only CAP_BPF and CAP_PERFMON.
    let as_nobody_with = |mode: &str, caps: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(caps)
            .arg(&bin)
            .args([
                "run",
                &url,
                "-c",
                "2",
                "-n",
                "200",
                "-q",
                "--kernel-stats",
                mode,
            ])
            .arg("--json")
            .arg(&json);
        run_bounded(cmd, Duration::from_secs(30))
    };
    let no_caps = ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"];
    let as_nobody = |mode: &str| as_nobody_with(mode, &no_caps);
    let out = as_nobody("auto");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("kernel stats"))
        .collect();
    assert_eq!(lines.len(), 1, "one line says why: {stderr}");
    assert!(lines[0].contains("CAP_BPF"), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let k = &report["kernel"];
    assert_eq!(k["source"], "procfs");
    assert_eq!(k["scope"], "host");
    assert!(k["handshakes"].is_null());
    let opened = n(&report, "/connections_detail/opened");
    assert!(
        n(k, "/host/ActiveOpens") >= opened,
        "host-wide opens include ours: {k}"
    );
    assert_eq!(n(k, "/connections/opened"), n(k, "/host/ActiveOpens"));
    common::validate(&common::report_schema(), &report, "$").unwrap();
    let out = as_nobody("on");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("CAP_BPF") && stderr.contains("--kernel-stats"),
        "{stderr}"
    );
    // CAP_BPF and CAP_PERFMON are enough for tp_btf, without root.
    let caps = ["--inh-caps=+bpf,+perfmon", "--ambient-caps=+bpf,+perfmon"];
    let out = as_nobody_with("on", &caps);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["kernel"]["source"], "ebpf", "{}", report["kernel"]);
    assert_eq!(report["kernel"]["hooks"]["inet_sock_set_state"], "tp_btf");
    assert_eq!(
        n(&report, "/kernel/handshakes/count"),
        n(&report, "/connections_detail/opened")
    );
    drop(server);
}

/// An IPv6 target: the programs compare the 128-bit address and the v6 headers.
#[test]
fn ipv6_connections_are_counted_too() {
    if !ebpf_available() {
        return;
    }
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        common::skip("the IPv6 test", "no IPv6 loopback here");
        return;
    }
    let served = common::Served::start_on("[::1]:0", &[]);
    let r = krun(
        &[],
        &[
            &served.url,
            "-c",
            "3",
            "-n",
            "600",
            "--requests-per-conn",
            "30",
        ],
    );
    served.stop();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let k = &r.json["kernel"];
    let opened = n(&r.json, "/connections_detail/opened");
    assert!(opened >= 20, "{opened}");
    assert_eq!(n(k, "/handshakes/count"), opened, "{k}");
    assert_eq!(n(k, "/connections/closed"), opened, "{k}");
    assert!(k["listen"].is_object(), "::1 is this host: {k}");
}
