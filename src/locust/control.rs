//! `ringblast locust-worker`: the control plane that makes this process a worker of a real
//! Locust master. Runs on its own thread; the engine only sees a live user count and a stop.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::msgpack::{Value, decode, encode};
use super::stats::Pending;
use super::zmtp::Dealer;

/// Locust's intervals and timeouts (runners.py).
const HEARTBEAT: Duration = Duration::from_secs(1);
const REPORT: Duration = Duration::from_secs(3);
const MASTER_TIMEOUT: Duration = Duration::from_secs(60);
const ACK_WAIT: Duration = Duration::from_secs(5);

/// What the worker shares with the engine and the main thread.
#[derive(Clone)]
pub struct Shared {
    /// The users the engine keeps active.
    pub users: Arc<AtomicU64>,
    /// Set to end the run (the master said quit, or went silent, or Ctrl-C).
    pub stop: Arc<AtomicBool>,
    /// Seconds not yet reported to the master.
    pub pending: Arc<Mutex<Pending>>,
    /// Set by the main thread once the engine has stopped and its last seconds are pending.
    pub finished: Arc<AtomicBool>,
}

/// The worker's identity and what it can run.
pub struct Config {
    pub master: String,
    /// `<hostname>_<32 hex>`, as Locust's workers name themselves.
    pub identity: String,
    /// The scenario's user classes, by name.
    pub classes: Vec<String>,
    /// Which class each global user index gets (the scenario's weights).
    pub class_cycle: Vec<usize>,
    pub max_users: u64,
    pub connect_timeout: Duration,
    /// This process's CPUs, to express CPU use as a share of them.
    pub cpus: usize,
    /// Run every class the master names (a plain URL has no classes of its own).
    pub any_class: bool,
}

/// Where this worker stands, as the master's heartbeat shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ready,
    Spawning,
    Running,
    Stopping,
}

impl State {
    /// Locust's own names for the states (runners.py).
    fn name(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Spawning => "spawning",
            Self::Running => "running",
            Self::Stopping => "stopping",
        }
    }
}

/// This process's control plane as a worker joined to its master.
pub struct ControlPlane {
    cfg: Config,
    dealer: Dealer,
    shared: Shared,
    state: State,
    last_spawn: f64,
    master_seen: Option<Instant>,
    refused: BTreeSet<String>,
    cpu: (Instant, f64),
    user_classes: Value,
}

fn envelope(kind: &str, data: Value, id: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode(
        &Value::Array(vec![Value::str(kind), data, Value::str(id)]),
        &mut out,
    );
    out
}

/// Why this worker cannot take part, or a message could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "cannot reach the Locust master at {master} within {timeout:?}: {why}; is it running with --master (and --master-bind-port)?"
    )]
    Unreachable {
        master: String,
        timeout: Duration,
        why: std::io::Error,
    },
    #[error("the Locust master at {master} did not acknowledge this worker within {timeout:?}")]
    NoAck { master: String, timeout: Duration },
    #[error("sending {kind} to the master: {why}")]
    Send { kind: String, why: std::io::Error },
    #[error("receiving from the master: {0}")]
    Recv(std::io::Error),
    #[error("interrupted before the Locust master acknowledged this worker")]
    Interrupted,
    #[error("a spawn message without user_classes_count; ignored")]
    SpawnWithoutCounts,
}

fn connect(cfg: &Config) -> Result<Dealer, ControlError> {
    let deadline = Instant::now() + cfg.connect_timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match Dealer::connect(
            &cfg.master,
            cfg.identity.as_bytes(),
            left.max(Duration::from_millis(200)),
        ) {
            Ok(d) => return Ok(d),
            Err(why) if Instant::now() >= deadline => {
                return Err(ControlError::Unreachable {
                    master: cfg.master.clone(),
                    timeout: cfg.connect_timeout,
                    why,
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

impl ControlPlane {
    /// Connects, says `client_ready` and waits for the master's `ack`, retrying like Locust's
    /// own workers until the connect timeout.
    pub fn join(cfg: Config, shared: Shared) -> Result<Self, ControlError> {
        let dealer = connect(&cfg)?;
        let mut w = Self {
            dealer,
            shared,
            state: State::Ready,
            last_spawn: f64::MIN,
            master_seen: None,
            refused: BTreeSet::new(),
            cpu: (Instant::now(), crate::sys::process_cpu_seconds()),
            user_classes: Value::Map(Vec::new()),
            cfg,
        };
        let deadline = Instant::now() + w.cfg.connect_timeout;
        while Instant::now() < deadline {
            w.ready()?;
            let until = Instant::now() + ACK_WAIT;
            while Instant::now() < until {
                if w.shared.stop.load(Ordering::Relaxed) {
                    return Err(ControlError::Interrupted);
                }
                let msg = w.dealer.recv(Duration::from_millis(200));
                if let Some(frames) = msg.map_err(ControlError::Recv)?
                    && let Some((kind, _)) = w.parse(frames.last().map_or(&[][..], Vec::as_slice))
                    && kind == "ack"
                {
                    return Ok(w);
                }
            }
        }
        Err(ControlError::NoAck {
            master: w.cfg.master.clone(),
            timeout: w.cfg.connect_timeout,
        })
    }

    fn send(&mut self, kind: &str, data: Value) -> Result<(), ControlError> {
        let msg = envelope(kind, data, &self.cfg.identity);
        self.dealer.send(&msg).map_err(|why| ControlError::Send {
            kind: kind.into(),
            why,
        })
    }

    /// `client_ready` with version -1: the master accepts it without comparing versions.
    fn ready(&mut self) -> Result<(), ControlError> {
        self.send("client_ready", Value::Int(-1))
    }

    /// `[type, data, node_id]`, or None (said on stderr) for anything else.
    fn parse(&self, raw: &[u8]) -> Option<(String, Value)> {
        match decode(raw) {
            Ok(Value::Array(mut parts)) if parts.len() == 3 && parts[0].as_str().is_some() => {
                let data = parts.swap_remove(1);
                Some((parts[0].as_str().unwrap_or_default().to_string(), data))
            }
            Ok(other) => {
                // A short prefix only: a hostile master's message may be megabytes.
                let mut shown = format!("{other:?}");
                if shown.len() > 200 {
                    let cut = (0..=200)
                        .rev()
                        .find(|&i| shown.is_char_boundary(i))
                        .unwrap_or(0);
                    shown.truncate(cut);
                    shown.push('…');
                }
                eprintln!(
                    "ringblast: ignoring a message from the master that is not [type, data, node_id]: {shown}"
                );
                None
            }
            Err(e) => {
                eprintln!("ringblast: ignoring a malformed message from the master: {e}");
                None
            }
        }
    }

    /// Runs until the master says quit, goes silent, or `stop` is set from outside.
    pub fn run(mut self) {
        let (mut last_beat, mut last_report) = (Instant::now() - HEARTBEAT, Instant::now());
        while !self.shared.stop.load(Ordering::Relaxed) {
            match self.dealer.recv(Duration::from_millis(100)) {
                Ok(Some(frames)) => {
                    let raw = frames.last().cloned().unwrap_or_default();
                    if let Some((kind, data)) = self.parse(&raw)
                        && let Err(e) = self.handle(&kind, &data)
                    {
                        eprintln!("ringblast: {e}");
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    eprintln!("ringblast: lost the Locust master ({e}); reconnecting");
                    if let Err(e) = self.reconnect() {
                        eprintln!("ringblast: {e}");
                        self.shared.stop.store(true, Ordering::Relaxed);
                    }
                }
            }
            if last_beat.elapsed() >= HEARTBEAT {
                last_beat = Instant::now();
                let beat = self.heartbeat();
                let _ = self.send("heartbeat", beat);
            }
            if last_report.elapsed() >= REPORT {
                last_report = Instant::now();
                let _ = self.report();
            }
            if self
                .master_seen
                .is_some_and(|t| t.elapsed() > MASTER_TIMEOUT)
            {
                eprintln!(
                    "ringblast: no heartbeat from the Locust master for {MASTER_TIMEOUT:?}; stopping"
                );
                self.shared.stop.store(true, Ordering::Relaxed);
            }
        }
        // Stopped (the master's quit, or from outside): the engine's last seconds, then a last
        // report and goodbye. The master waits half a second for them.
        self.shared.users.store(0, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.shared.finished.load(Ordering::Relaxed) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.report();
        let _ = self.send("quit", Value::Nil);
    }

    fn reconnect(&mut self) -> Result<(), ControlError> {
        // The old connection goes first, and the master gets a moment to drop it: a ROUTER
        // refuses a new connection under an identity it still holds.
        self.dealer.close();
        std::thread::sleep(Duration::from_millis(200));
        self.dealer = connect(&self.cfg)?;
        self.ready()
    }

    fn report(&mut self) -> Result<(), ControlError> {
        let users = self.shared.users.load(Ordering::Relaxed);
        let classes = self.user_classes.clone();
        let data = match self.shared.pending.lock() {
            Ok(mut p) => p.take(classes, users),
            Err(_) => return Ok(()),
        };
        self.send("stats", data)
    }

    fn heartbeat(&mut self) -> Value {
        let (then, cpu_then) = self.cpu;
        let now = (Instant::now(), crate::sys::process_cpu_seconds());
        let wall = now.0.duration_since(then).as_secs_f64().max(1e-6);
        // Locust warns above 90 %: the share of this worker's own CPUs.
        let percent = (now.1 - cpu_then) / wall / self.cfg.cpus.max(1) as f64 * 100.0;
        self.cpu = now;
        let rss = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
            .map_or(0, |pages| pages * 4096);
        Value::Map(vec![
            (Value::str("state"), Value::str(self.state.name())),
            (
                Value::str("current_cpu_usage"),
                Value::Float((percent * 10.0).round() / 10.0),
            ),
            (Value::str("current_memory_usage"), Value::Int(rss)),
        ])
    }

    fn handle(&mut self, kind: &str, data: &Value) -> Result<(), ControlError> {
        match kind {
            "spawn" => self.spawn(data),
            "stop" => {
                self.shared.users.store(0, Ordering::Relaxed);
                self.state = State::Ready;
                self.send("client_stopped", Value::Nil)?;
                self.ready()
            }
            "quit" => {
                // The final report and our quit follow when the engine has stopped (run()).
                self.shared.users.store(0, Ordering::Relaxed);
                self.state = State::Stopping;
                self.shared.stop.store(true, Ordering::Relaxed);
                Ok(())
            }
            "reconnect" => self.reconnect(),
            "heartbeat" => {
                self.master_seen = Some(Instant::now());
                Ok(())
            }
            // ack, the master's spawning_complete, update_user_class: nothing to do.
            _ => Ok(()),
        }
    }

    fn spawn(&mut self, data: &Value) -> Result<(), ControlError> {
        self.send("spawning", Value::Nil)?;
        let ts = match data.get("timestamp") {
            Some(Value::Float(f)) => *f,
            Some(Value::Int(i)) => *i as f64,
            _ => 0.0,
        };
        if ts <= self.last_spawn {
            return Ok(());
        }
        self.last_spawn = ts;
        self.state = State::Spawning;
        let Some(Value::Map(counts)) = data.get("user_classes_count") else {
            return Err(ControlError::SpawnWithoutCounts);
        };
        let mut total = 0u64;
        let mut names = Vec::new();
        let mut asked = Vec::new();
        for (k, v) in counts {
            let (Some(name), Some(n)) = (k.as_str(), v.as_i64()) else {
                continue;
            };
            names.push(name.to_string());
            asked.push(n.max(0) as u64);
            if self.cfg.any_class || self.cfg.classes.iter().any(|c| c == name) {
                // A hostile or mistaken master can ask for any i64: the sum saturates.
                total = total.saturating_add(n.max(0) as u64);
            } else if n > 0 && self.refused.insert(name.to_string()) {
                let msg = format!(
                    "user class {name} is not in this worker's scenario (it has {}); its users are not run",
                    self.cfg.classes.join(", ")
                );
                eprintln!("ringblast: {msg}");
                self.send(
                    "exception",
                    Value::Map(vec![
                        (Value::str("msg"), Value::str(&msg)),
                        (Value::str("traceback"), Value::str("")),
                    ]),
                )?;
            }
        }
        let users = total.min(self.cfg.max_users);
        if users < total {
            eprintln!(
                "ringblast: the master asked for {total} users; this worker runs at most {} (--max-users)",
                self.cfg.max_users
            );
        }
        self.shared.users.store(users, Ordering::Relaxed);
        // The classes those users have, by the scenario's weights.
        // Users 0..users take the cycle's classes in turn: whole cycles, then its first part.
        let mut per = vec![0u64; self.cfg.classes.len()];
        let cycle = &self.cfg.class_cycle;
        if !cycle.is_empty() {
            let (whole, part) = (users / cycle.len() as u64, users % cycle.len() as u64);
            for (g, &class) in cycle.iter().enumerate() {
                per[class] += whole + u64::from((g as u64) < part);
            }
        }
        self.user_classes = Value::Map(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let got = if self.cfg.any_class && users == total {
                        // One class of ours stands for each of the master's: as asked.
                        asked[i]
                    } else if self.cfg.any_class {
                        let k = names.len().max(1) as u64;
                        users / k + u64::from((i as u64) < users % k)
                    } else {
                        self.cfg
                            .classes
                            .iter()
                            .position(|c| c == n)
                            .map_or(0, |i| per[i])
                    };
                    (
                        Value::str(n),
                        Value::Int(i64::try_from(got).unwrap_or(i64::MAX)),
                    )
                })
                .collect(),
        );
        self.state = State::Running;
        let classes = self.user_classes.clone();
        self.send(
            "spawning_complete",
            Value::Map(vec![
                (Value::str("user_classes_count"), classes),
                (Value::str("user_count"), Value::Int(users as i64)),
            ]),
        )
    }
}
