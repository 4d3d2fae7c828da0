//! Input that ringblast did not write: mutated reports for `merge`, `report` and `compare` under a
//! memory limit, arbitrary MessagePack, and arbitrary ZMTP frames from a peer. The pass condition
//! is no panic, no abort and no hang: a report or one line with exit 2, in bounded memory.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Mode, TempDir, TestServer, run_bounded};
use proptest::prelude::*;
use ringblast::locust::msgpack::{Value, decode, encode};
use ringblast::locust::zmtp::Dealer;

const BIN: &str = env!("CARGO_BIN_EXE_ringblast");
/// Virtual memory each command may use, in KiB: far above what these small files need, far
/// below what the crafted ones once asked for (4 GiB for one histogram).
const MEMORY_KIB: u64 = 1_500_000;

/// Runs ringblast with `args` under the memory limit; its output.
fn limited(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB}; exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args);
    run_bounded(cmd, Duration::from_secs(30))
}

/// A small deterministic generator for the mutations (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of a report's text: bytes flipped, cut short, numbers made huge, a base64
/// histogram replaced, a shard's index or count changed, or a whole key dropped.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s = text.to_string();
    match rng.below(6) {
        0 => {
            let mut b = s.into_bytes();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len());
                b[i] = (rng.next() & 0xff) as u8;
            }
            String::from_utf8_lossy(&b).into_owned()
        }
        1 => {
            s.truncate(rng.below(s.len()));
            s
        }
        2 => {
            let huge = ["18446744073709551615", "1e308", "-1", "4611686018427387904"];
            let digits: Vec<usize> = s
                .char_indices()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            if let Some(&at) = digits.get(rng.below(digits.len())) {
                s.insert_str(at, huge[rng.below(huge.len())]);
            }
            s
        }
        3 => {
            // A short histogram whose header asks for the moon (the 4 GiB case), or junk.
            let forged = [
                "HISFEwAAAAIAAAAFAAAAAAAAAAF//////////z/wAAAAAAAAAAA=",
                "AAAA",
                "!!",
            ];
            match s.find("\"latency_us\": \"") {
                Some(at) => {
                    let start = at + "\"latency_us\": \"".len();
                    let end = start + s[start..].find('"').unwrap_or(0);
                    s.replace_range(start..end, forged[rng.below(forged.len())]);
                    s
                }
                None => s,
            }
        }
        4 => {
            let v = ["5", "0", "4611686018427387904", "10000000"][rng.below(4)];
            for key in ["\"index\": ", "\"count\": "] {
                if rng.below(2) == 0
                    && let Some(at) = s.find(key)
                {
                    let start = at + key.len();
                    let end = start + s[start..].find([',', '\n', '}']).unwrap_or(0);
                    s.replace_range(start..end, v);
                }
            }
            s
        }
        _ => {
            let keys = [
                "\"timeline\"",
                "\"histograms\"",
                "\"shard\"",
                "\"requests\"",
                "\"endpoints\"",
            ];
            let key = keys[rng.below(keys.len())];
            s.replacen(key, "\"x_dropped\"", 1)
        }
    }
}

/// How a command that read a hostile file may end: a result, or one short line and exit 2.
fn assert_handled(what: &str, out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.signal().is_none(),
        "{what}: killed by signal {:?} (abort, or over the memory limit): {stderr}",
        out.status.signal()
    );
    let code = out.status.code().unwrap_or(-1);
    assert!(
        (0..=3).contains(&code),
        "{what}: exit {code} (101 is a panic): {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    if code == 2 {
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");
    }
    assert!(
        stderr.len() < 4096,
        "{what}: {} bytes of errors",
        stderr.len()
    );
}

#[test]
fn mutated_reports_give_a_report_or_one_line() {
    let server = TestServer::start(Mode::Plain);
    let dir = TempDir::new("hostile-reports");
    let url = server.url("/");
    let mut texts = Vec::new();
    for i in 0..2 {
        let path = dir.join(format!("s{i}.json"));
        let mut cmd = Command::new(BIN);
        cmd.args(["run", &url, "-n", "40", "-c", "2", "-q", "--shard"])
            .arg(format!("{i}/2"))
            .arg("--json")
            .arg(&path);
        let out = run_bounded(cmd, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(0));
        texts.push(std::fs::read_to_string(&path).unwrap());
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let good = dir.join("s1.json").display().to_string();
    for case in 0..60 {
        let mutated = mutate(&texts[0], &mut rng);
        let path = dir.join(format!("m{case}.json"));
        std::fs::write(&path, &mutated).unwrap();
        let p = path.display().to_string();
        let html = dir.join(format!("m{case}.html")).display().to_string();
        for args in [
            vec!["merge", p.as_str(), good.as_str()],
            vec!["report", p.as_str(), "--html", html.as_str()],
            vec!["compare", p.as_str(), good.as_str()],
        ] {
            let out = limited(&args);
            assert_handled(&format!("case {case}: {}", args[0]), &out);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes decode to a value or an error, never a panic, and the decoded value is
    /// bounded by the input's size (one value per two bytes).
    #[test]
    fn arbitrary_msgpack_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(v) = decode(&bytes) {
            prop_assert!(count(&v) <= bytes.len() / 2 + 1024 + 1);
        }
    }

    /// Valid messages with bytes flipped: the same.
    #[test]
    fn mutated_msgpack_never_panics(
        n in 0usize..200,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let v = Value::Array(vec![
            Value::str("spawn"),
            Value::Map((0..n).map(|i| (Value::str(&format!("C{i}")), Value::Int(i as i64))).collect()),
            Value::Nil,
        ]);
        let mut b = Vec::new();
        encode(&v, &mut b);
        for (at, byte) in flips {
            let i = at % b.len();
            b[i] = byte;
        }
        let _ = decode(&b);
    }
}

/// Values in a decoded message, containers included.
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Map(m) => m.iter().map(|(k, v)| count(k) + count(v)).sum(),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A peer that completes the ZMTP handshake, then sends arbitrary bytes: every receive
    /// returns by its deadline with a message, nothing, or an error, and never panics.
    #[test]
    fn arbitrary_zmtp_frames_never_panic_or_hang(junk in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let peer = std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else { return };
            let mut greeting = vec![0xff, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
            greeting.extend_from_slice(b"NULL");
            greeting.resize(64, 0);
            let mut ready = vec![5u8];
            ready.extend_from_slice(b"READY");
            let _ = s.write_all(&greeting);
            let _ = s.write_all(&[4, ready.len() as u8]);
            let _ = s.write_all(&ready);
            let _ = s.write_all(&junk);
            std::thread::sleep(Duration::from_millis(300));
        });
        if let Ok(mut dealer) = Dealer::connect(&addr, b"fuzz", Duration::from_secs(2)) {
            for _ in 0..5 {
                let asked = Instant::now();
                let got = dealer.recv(Duration::from_millis(50));
                prop_assert!(asked.elapsed() < Duration::from_secs(2), "recv overran its wait");
                if got.is_err() {
                    break;
                }
            }
        }
        let _ = peer.join();
    }
}

/// Crafted locustfiles: brackets nested past Python's limit and an oversized file are one-line
/// errors; the longest operator chain a file may hold converts, under the memory limit.
#[test]
fn crafted_locustfiles_give_one_line_or_convert() {
    let dir = TempDir::new("crafted-locustfiles");
    let head =
        "from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n";
    let cases = [
        (
            "nested",
            format!(
                "{head}        self.client.post(\"/\", json={}{})\n",
                "[".repeat(5000),
                "]".repeat(5000)
            ),
            Some("nested deeper than 200"),
        ),
        (
            "large",
            format!(
                "{head}        self.client.get(\"/\")\n{}",
                "#\n".repeat(200_000)
            ),
            Some("more than a locustfile may be"),
        ),
        (
            "chain",
            format!(
                "{head}        self.client.get(\"/\" + {})\n",
                vec!["\"a\""; 40_000].join(" + ")
            ),
            None,
        ),
    ];
    for (name, text, error) in cases {
        let file = dir.join(format!("{name}.py"));
        std::fs::write(&file, text).unwrap();
        let out = limited(&["convert", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.signal().is_none(), "{name}: {:?}", out.status);
        match error {
            Some(why) => {
                assert_handled(name, &out);
                assert_eq!(out.status.code(), Some(2), "{name}: {err}");
                assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
                assert!(err.contains(why), "{name}: {err}");
            }
            None => assert!(out.status.success(), "{name}: {err}"),
        }
    }
}
