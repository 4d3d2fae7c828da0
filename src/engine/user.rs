//! A user the client plays: its class, on_start progress, place in a sequence, captured
//! variables and its renderings of tasks that use them; whether it is active and when it wakes.

use crate::http::cookie::{Jar, Now};
use crate::http::response::CookieHead;
use crate::load::Share;
use crate::scenario::capture;
use crate::scenario::generators::Generators;
use crate::scenario::program::{Program, Rendered, Task};
use crate::scenario::template::{Part, Template};
use crate::stats::Recorder;

#[derive(Debug)]
pub struct User {
    /// Users mode: the user is active (within the shape's current user count).
    pub active: bool,
    /// The user class it plays.
    pub class: usize,
    /// Next on_start task to send, and whether one is awaiting its response.
    on_start_next: usize,
    pub on_start_waiting: bool,
    /// Position in a `sequence` class.
    seq_pos: usize,
    /// Inside a task's `then` group: the task, and the next step's index.
    pub group: Option<(usize, usize)>,
    /// It has drawn its class's `set` variables.
    started: bool,
    /// Captured variables, and this user's renderings of tasks that use them.
    vars: Vec<Option<Vec<u8>>>,
    rendered: Vec<Option<Rendered>>,
    /// When the user, thinking, sends next (the timer heap's entry that counts; others for
    /// this user are stale). None when it is not thinking.
    pub wake_at: Option<u64>,
    /// When its current task started (or it became active): a paced user's next task starts
    /// one period after it.
    pub paced_from: u64,
    /// The cookies servers set for this user (when the program keeps them), and whether its
    /// requests go over TLS (Secure cookies are sent only then).
    pub jar: Jar,
    pub secure: bool,
    /// The last head that set cookies for this user, and the task it answered: a server that
    /// repeats it byte for byte changes nothing (see `CookieHead::Repeat`).
    cookie_head: Vec<u8>,
    cookie_task: usize,
    /// Users sharing a connection (HTTP/2): it waits in its connection's queue to send, or has
    /// a request in flight (or waiting to be sent again).
    pub queued: bool,
    pub in_flight: bool,
}

/// The next task a user sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    pub task: usize,
    pub on_start: bool,
}

impl User {
    /// User `j` of a worker owning `share`: its class comes from its global index.
    pub fn new(program: &Program, share: Share, j: u64) -> Self {
        Self {
            active: false,
            class: program.class_of(share.global(j)),
            on_start_next: 0,
            on_start_waiting: false,
            seq_pos: 0,
            group: None,
            started: false,
            vars: vec![None; program.variables.len()],
            rendered: if program.variables.is_empty() {
                Vec::new()
            } else {
                vec![None; program.tasks.len()]
            },
            wake_at: None,
            queued: false,
            in_flight: false,
            paced_from: 0,
            jar: Jar::default(),
            secure: false,
            cookie_head: Vec::new(),
            cookie_task: 0,
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
            // A request shared by all users, until this one has cookies.
            Some(r) if self.jar.is_empty() => r,
            _ => {
                if self.rendered.is_empty() {
                    self.rendered = vec![None; program.tasks.len()];
                }
                let (vars, jar, secure) = (&self.vars, &self.jar, self.secure);
                self.rendered[task_id]
                    .get_or_insert_with(|| task.request.render_for(vars, jar, secure))
            }
        };
        if let Some(layout) = &rendered.layout {
            // A value of varying width: written per send, Content-Length included.
            return layout.write_with(gens, out);
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

    /// A response to task `task_id` set cookies (its head, or a repeat of the last one): keeps
    /// them. When the jar changed, the user's renderings are stale and the variables that read
    /// cookies are read again.
    pub fn set_cookies(
        &mut self,
        program: &Program,
        task_id: usize,
        head: CookieHead,
        now_us: u64,
    ) {
        match head {
            CookieHead::New(bytes) => {
                self.cookie_head = bytes;
                self.cookie_task = task_id;
            }
            // The same head again, for the same request, with no expiry to refresh: a no-op.
            CookieHead::Repeat
                if self.cookie_task == task_id && self.jar.next_expiry().is_none() =>
            {
                return;
            }
            CookieHead::Repeat => self.cookie_task = task_id,
        }
        let task = &program.tasks[task_id];
        let path = task.request.cookie_path(&self.vars);
        let host = task.request.cookie_host();
        let unix_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let now = Now { us: now_us, unix_s };
        if self.jar.apply_head(&self.cookie_head, &path, host, now) {
            self.cookies_changed(program);
        }
    }

    /// Drops the cookies expired by `now_us` (worker clock), before the user's next request.
    pub fn expire_cookies(&mut self, program: &Program, now_us: u64) {
        if self.jar.next_expiry().is_some_and(|t| t <= now_us) && self.jar.expire(now_us) {
            self.cookies_changed(program);
        }
    }

    fn cookies_changed(&mut self, program: &Program) {
        for (var, name) in &program.cookie_vars {
            self.vars[*var] = self.jar.get(name).map(<[u8]>::to_vec);
        }
        self.rendered.iter_mut().for_each(|r| *r = None);
    }

    /// Draws the variables a picked task sets (`set`): its requests, and its group's, see the
    /// same values. Renderings that use variables are made again.
    fn draw(&mut self, sets: &[(usize, Template)], gens: &mut Generators) {
        if sets.is_empty() {
            return;
        }
        for (var, t) in sets {
            let mut value = Vec::new();
            for part in &t.parts {
                match part {
                    Part::Text(b) => value.extend_from_slice(b),
                    Part::Var(v) => {
                        value.extend_from_slice(self.vars[*v].as_deref().unwrap_or(b""))
                    }
                    Part::Gen(g) => gens.append(g, &mut value),
                }
            }
            self.vars[*var] = Some(value);
        }
        self.rendered.iter_mut().for_each(|r| *r = None);
    }

    /// Whether every variable the task uses has been captured by this user.
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

    /// The user's next task, when it may send one now (`staged` already this turn): on_start
    /// tasks one at a time, then its class's tasks by weight or in sequence. A task with a
    /// variable not captured yet is skipped (counted in `rec`) for the class's next ready one.
    pub fn next(
        &mut self,
        program: &Program,
        gens: &mut Generators,
        staged: usize,
        rec: &mut Recorder,
    ) -> Option<Next> {
        let class = &program.classes[self.class];
        if !self.started {
            self.started = true;
            self.draw(&class.sets, gens);
        }
        loop {
            // The next step of the group under way, if any; a step waiting for a capture that
            // its group did not set is skipped like a task.
            if let Some((head, i)) = self.group {
                let steps = &program.tasks[head].then;
                self.group = (i + 1 < steps.len()).then_some((head, i + 1));
                let task = steps[i];
                match self.unset(&program.tasks[task]) {
                    None => {
                        return Some(Next {
                            task,
                            on_start: false,
                        });
                    }
                    Some(var) => {
                        rec.unset_skipped(var);
                        continue;
                    }
                }
            }
            let (task, on_start) = if self.on_start_next < class.on_start.len() {
                if self.on_start_waiting || staged > 0 {
                    return None;
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
            self.draw(&program.tasks[task].sets, gens);
            let Some(var) = self.unset(&program.tasks[task]) else {
                if !program.tasks[task].then.is_empty() {
                    self.group = Some((task, 0));
                }
                return Some(Next { task, on_start });
            };
            // Never sent with a hole: skip it (counted by variable) and take the class's next
            // task whose variables are all set, if any.
            rec.unset_skipped(var);
            if on_start {
                self.on_start_waiting = false;
                continue;
            }
            let at = class.tasks.iter().position(|&t| t == task).unwrap_or(0);
            let n = class.tasks.len();
            let task = (1..n).map(|i| class.tasks[(at + i) % n]).find(|&t| {
                self.draw(&program.tasks[t].sets, gens);
                self.ready(&program.tasks[t])
            })?;
            if !program.tasks[task].then.is_empty() {
                self.group = Some((task, 0));
            }
            return Some(Next {
                task,
                on_start: false,
            });
        }
    }

    /// A response to `task` arrived, with its bytes when it captures (None: larger than the
    /// bound): store what it captured; tasks that use a changed variable are rendered again on
    /// next use. Each capture that took nothing is reported as `failed(variable,
    /// response_too_large)` (the flag is set on the first capture of a too-large response only,
    /// so the response counts once).
    pub fn captured(
        &mut self,
        task: &Task,
        raw: Option<Vec<u8>>,
        mut failed: impl FnMut(usize, bool),
    ) {
        if task.captures.is_empty() {
            return;
        }
        let Some(raw) = raw else {
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
