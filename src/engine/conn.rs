//! One connection of the client, and the user it plays: its state, its requests in flight, its
//! class, on_start progress and captured variables, and how it stages and patches requests.

use std::collections::VecDeque;

use crate::http::response::ResponseParser;
use crate::load::Share;
use crate::scenario::capture;
use crate::scenario::program::{Program, Rendered, Task};
use crate::scenario::template::Generators;
use crate::stats::Recorder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Not connected and not trying (quota used up, user inactive, or the run is ending).
    Idle,
    Connecting {
        since: u64,
    },
    /// TCP is up and the TLS handshake is under way.
    Handshaking {
        since: u64,
    },
    Open,
    /// Waiting to reconnect after a failure.
    Backoff {
        until: u64,
    },
}

/// A request handed to (or about to be handed to) the kernel.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    /// When it should have been sent: the schedule's time (open loop, users), or None when
    /// there is no schedule (closed loop: it is due when it is sent).
    pub intended: Option<u64>,
    /// When it was handed to the kernel; None while it is staged in this turn.
    pub sent: Option<u64>,
    /// False for requests sent during the warm-up: their outcomes are not recorded.
    pub counted: bool,
    /// The program's task it runs.
    pub task: u32,
    /// It is one of its user's on_start tasks.
    pub on_start: bool,
}

#[derive(Debug)]
pub struct ClientConn {
    pub state: ConnState,
    /// Requests awaiting a response, oldest first.
    pub in_flight: VecDeque<Pending>,
    pub parser: ResponseParser,
    pub backoff: u64,
    /// Users mode: the user is active (within the shape's current user count).
    pub active: bool,
    /// The user class this connection plays.
    pub class: usize,
    /// Next on_start task to send, and whether one is awaiting its response.
    on_start_next: usize,
    pub on_start_waiting: bool,
    /// Position in a `sequence` class.
    seq_pos: usize,
    /// Captured variables, and this connection's renderings of tasks that use them.
    vars: Vec<Option<Vec<u8>>>,
    rendered: Vec<Option<Rendered>>,
    /// Responses on the current socket (a request behind one may be re-sent if the socket closes).
    pub answered: u64,
    /// More requests the server said it answers on this socket (`Keep-Alive: max`).
    pub allowed: Option<u64>,
    /// Requests the last socket left unanswered, to send again first on the next one.
    pub retry: VecDeque<Pending>,
    /// The connection attempt in progress holds a request of the quota.
    pub reserving: bool,
    /// Users: when the user, thinking, sends next (the timer heap's entry that counts; others
    /// for this connection are stale). None when it is not thinking.
    pub wake_at: Option<u64>,
}

impl ClientConn {
    /// Connection `j` of a worker owning `share`: its class comes from its global index.
    pub fn new(
        program: &Program,
        share: Share,
        j: u64,
        pipeline: usize,
        capture_limit: usize,
    ) -> Self {
        Self {
            state: ConnState::Idle,
            in_flight: VecDeque::with_capacity(pipeline),
            parser: ResponseParser::with_collect_limit(capture_limit),
            backoff: 0,
            active: false,
            class: program.class_cycle[(share.global(j) as usize) % program.class_cycle.len()],
            on_start_next: 0,
            on_start_waiting: false,
            seq_pos: 0,
            vars: vec![None; program.variables.len()],
            rendered: if program.variables.is_empty() {
                Vec::new()
            } else {
                vec![None; program.tasks.len()]
            },
            answered: 0,
            allowed: None,
            retry: VecDeque::new(),
            reserving: false,
            wake_at: None,
        }
    }

    /// Appends task `task_id`'s request to `out` with fresh generated values; returns its size.
    pub fn render(
        &mut self,
        program: &Program,
        gens: &mut Generators,
        task_id: usize,
        out: &mut Vec<u8>,
    ) -> u64 {
        let task = &program.tasks[task_id];
        let rendered: &Rendered = match &task.shared {
            Some(r) => r,
            None => self.rendered[task_id].get_or_insert_with(|| task.request.render(&self.vars)),
        };
        if let Some(layout) = &rendered.layout {
            // A value of varying width: written per send, Content-Length included.
            return gens.write_layout(layout, out);
        }
        let start = out.len();
        out.extend_from_slice(&rendered.bytes);
        for (offset, generator) in &rendered.slots {
            let at = start + offset;
            let width = generator.fixed_width().unwrap_or(0);
            gens.fill(generator, &mut out[at..at + width]);
        }
        rendered.bytes.len() as u64
    }

    /// Whether every variable the task uses has been captured on this connection.
    pub fn ready(&self, task: &Task) -> bool {
        task.needs.iter().all(|&v| self.vars[v].is_some())
    }

    /// The first variable the task uses that no response has captured yet.
    pub fn unset(&self, task: &Task) -> Option<usize> {
        task.needs.iter().copied().find(|&v| self.vars[v].is_none())
    }

    /// The endpoint its next request would go to (to account errors that precede any request).
    pub fn next_endpoint(&self, program: &Program) -> usize {
        let class = &program.classes[self.class];
        let task = class
            .on_start
            .get(self.on_start_next)
            .or(class.tasks.first())
            .copied()
            .unwrap_or(0);
        program.tasks[task].endpoint
    }

    /// Appends up to `k` of its class's next requests to `out`, each with fresh generated values,
    /// and records them in flight; a user still running on_start sends those one at a time.
    /// Each is recorded as sent in `rec` when `counted`. Returns how many were staged.
    #[allow(clippy::too_many_arguments)]
    pub fn stage(
        &mut self,
        program: &Program,
        gens: &mut Generators,
        k: usize,
        intended: Option<u64>,
        counted: bool,
        out: &mut Vec<u8>,
        rec: &mut Recorder,
    ) -> usize {
        let class = &program.classes[self.class];
        let mut staged = 0;
        while staged < k {
            let (task_id, on_start) = if self.on_start_next < class.on_start.len() {
                if self.on_start_waiting || staged > 0 {
                    break;
                }
                self.on_start_next += 1;
                self.on_start_waiting = true;
                (class.on_start[self.on_start_next - 1], true)
            } else if class.sequence {
                self.seq_pos += 1;
                (class.tasks[(self.seq_pos - 1) % class.tasks.len()], false)
            } else {
                let total = *class.cumulative.last().unwrap_or(&1);
                let r = (gens.next_u64() % u64::from(total)) as u32;
                (
                    class.tasks[class.cumulative.partition_point(|&c| c <= r)],
                    false,
                )
            };
            let mut task_id = task_id;
            if let Some(var) = self.unset(&program.tasks[task_id]) {
                // Never sent with a hole: skip it (counted by variable) and take the class's
                // next task whose variables are all set, if any.
                rec.unset_skipped(var);
                if on_start {
                    self.on_start_waiting = false;
                    continue;
                }
                let at = class.tasks.iter().position(|&t| t == task_id).unwrap_or(0);
                let n = class.tasks.len();
                match (1..n)
                    .map(|i| class.tasks[(at + i) % n])
                    .find(|&t| self.ready(&program.tasks[t]))
                {
                    Some(t) => task_id = t,
                    None => break,
                }
            }
            let bytes = self.render(program, gens, task_id, out);
            self.in_flight.push_back(Pending {
                intended,
                sent: None,
                counted,
                task: task_id as u32,
                on_start,
            });
            if counted {
                rec.sent(program.tasks[task_id].endpoint, 1, bytes);
            }
            staged += 1;
            if on_start {
                break;
            }
        }
        staged
    }

    /// A response to `task` arrived (its bytes were collected if it captures): store what it
    /// captured; tasks that use a changed variable are rendered again on next use. Each capture
    /// that took nothing is reported as `failed(variable, response_too_large)` (the flag is set on
    /// the first capture of a too-large response only, so the response counts once).
    pub fn captured(&mut self, task: &Task, mut failed: impl FnMut(usize, bool)) {
        if task.captures.is_empty() {
            return;
        }
        let Some(raw) = self.parser.take_collected() else {
            // Every capture fails; the response is counted as too large once.
            for (i, c) in task.captures.iter().enumerate() {
                failed(c.var, i == 0);
            }
            return;
        };
        let mut changed = false;
        for c in &task.captures {
            match capture::extract(&raw, &c.source) {
                Some(value) => {
                    changed |= self.vars[c.var].as_ref() != Some(&value);
                    self.vars[c.var] = Some(value);
                }
                None => failed(c.var, false),
            }
        }
        if changed {
            self.rendered.iter_mut().for_each(|r| *r = None);
        }
    }
}
