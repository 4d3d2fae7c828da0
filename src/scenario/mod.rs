//! Scenario files (`run --scenario FILE`): a TOML model of user classes, tasks, templates,
//! captures and load, parsed with unknown keys rejected, and resolved into a runtime Program.

pub mod capture;
pub mod check;
pub mod generators;
pub mod program;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{FileError, InvalidValue};
use crate::load::Think;
use program::{Capture, Class, Endpoint, Program, RequestTemplate, Source, Task};
use template::{Context, Template};

/// A rate written as a number (`rate = 1000`) or a ramp (`rate = "1000:20000"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RateValue {
    Number(f64),
    Text(String),
}

/// The `[load]` table: the same meaning as the flags of `run`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadFile {
    pub users: Option<u64>,
    pub spawn_rate: Option<f64>,
    pub rate: Option<RateValue>,
    pub stages: Option<String>,
    pub think: Option<String>,
    pub duration: Option<String>,
    pub warmup: Option<String>,
    pub connections: Option<u32>,
    pub pipeline: Option<u32>,
    pub requests: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    /// The stats key; defaults to method + path.
    pub name: Option<String>,
    pub method: Option<String>,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub body_file: Option<String>,
    /// Statuses that count as success (default: 2xx and 3xx).
    pub expect: Option<Vec<ExpectFile>>,
    #[serde(default = "one")]
    pub weight: u32,
    /// Variables captured from the response: `json:/pointer`, `header:Name`, `header:Name:regex`
    /// or `body:regex` (a regex's first group, or its whole match).
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// What the body must hold for the response to count as a success.
    pub check: Option<check::CheckFile>,
    /// Names `--tags` and `--exclude-tags` select by (Locust's `@tag`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Variables drawn each time the task is picked (`{ email = "{{rand_hex 8}}@x.test" }`):
    /// its requests and its `then` steps see the same value.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Requests sent after this one, in order and without thinking between them: one Locust
    /// task that sends several requests. The task's weight picks them all.
    #[serde(default)]
    pub then: Vec<TaskFile>,
}

/// An entry of `expect`: a status, or a class of them (`"2xx"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ExpectFile {
    Code(u16),
    Class(String),
}

/// The statuses an `expect` list names.
fn expected(list: &[ExpectFile]) -> Result<program::Statuses, String> {
    let mut codes = Vec::new();
    for e in list {
        match e {
            ExpectFile::Code(c) if (100..1000).contains(c) => codes.push(*c),
            ExpectFile::Code(c) => return Err(format!("expect: {c} is not an HTTP status")),
            ExpectFile::Class(s) => match s.as_bytes() {
                [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => {
                    let base = u16::from(d - b'0') * 100;
                    codes.extend(base..base + 100);
                }
                _ => {
                    return Err(format!(
                        "expect: '{s}' is not a status or a class like \"2xx\""
                    ));
                }
            },
        }
    }
    Ok(program::Statuses::new(codes))
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassFile {
    pub name: Option<String>,
    #[serde(default = "one")]
    pub weight: u32,
    /// Exactly this many users play the class (Locust's `fixed_count`); the weights share
    /// the rest.
    pub fixed_count: Option<u64>,
    pub think: Option<String>,
    /// Run in order once per user before the tasks (e.g. a login).
    #[serde(default)]
    pub on_start: Vec<TaskFile>,
    /// Run the tasks in order instead of picking by weight.
    #[serde(default)]
    pub sequence: bool,
    /// Variables each user draws once, when it starts (Locust's `self.x = random...` in
    /// on_start).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(rename = "task", default)]
    pub tasks: Vec<TaskFile>,
}

impl ClassFile {
    /// Every request the class may send: on_start, tasks and the steps that follow them.
    fn requests(&self) -> impl Iterator<Item = &TaskFile> + '_ {
        self.on_start.iter().chain(
            self.tasks
                .iter()
                .flat_map(|t| std::iter::once(t).chain(&t.then)),
        )
    }
}

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub host: Option<String>,
    /// Each user keeps the cookies servers set and sends them back (default: true).
    pub cookies: Option<bool>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub timeout: Option<String>,
    pub connect_timeout: Option<String>,
    #[serde(default)]
    pub load: LoadFile,
    #[serde(rename = "assert", default)]
    pub asserts: Vec<String>,
    #[serde(rename = "user", default)]
    pub classes: Vec<ClassFile>,
}

/// A parsed file and where it lives (relative paths in it resolve from there).
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub file: ScenarioFile,
    /// The file's text, to name the line of a value found bad after parsing.
    pub text: String,
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Adds "did you mean" to serde's "unknown field `x`, expected one of `a`, `b`".
fn suggest(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message).to_string();
    let Some(rest) = first_line.strip_prefix("unknown field `") else {
        return first_line;
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return first_line;
    };
    let best = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| (edit_distance(unknown, cand), cand))
        .min();
    match best {
        Some((d, cand)) if d <= 3 => format!("{first_line} (did you mean `{cand}`?)"),
        _ => first_line,
    }
}

impl Scenario {
    /// Reads and parses a scenario file; errors are one line with the file and line number.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| FileError::new(path, None, format!("cannot read the scenario: {e}")))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, FileError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| {
            let line = crate::units::toml_error_line(text, &e);
            FileError::new(path, line, suggest(e.message()))
        })?;
        if file.classes.is_empty() {
            return Err(FileError::new(
                path,
                None,
                "no [[user]] with tasks; add at least one [[user]] with a [[user.task]]",
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            text: text.to_string(),
        })
    }

    fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Keeps the tasks `--tags` selects (any of them; none: all) and `--exclude-tags` does
    /// not drop, as Locust does; on_start is kept. A class left with no task is left out.
    pub fn select_tags(&mut self, tags: &[String], exclude: &[String]) -> Result<(), FileError> {
        if tags.is_empty() && exclude.is_empty() {
            return Ok(());
        }
        let keep = |t: &TaskFile| {
            (tags.is_empty() || t.tags.iter().any(|x| tags.contains(x)))
                && !t.tags.iter().any(|x| exclude.contains(x))
        };
        for c in &mut self.file.classes {
            c.tasks.retain(keep);
        }
        self.file.classes.retain(|c| !c.tasks.is_empty());
        if self.file.classes.is_empty() {
            return Err(FileError::new(
                &self.path,
                None,
                format!(
                    "no task is left after --tags {} --exclude-tags {}",
                    tags.join(","),
                    exclude.join(",")
                ),
            ));
        }
        Ok(())
    }

    /// Builds the runtime program. `host` is the Host header value; `extra_headers` are the
    /// command line's `-H` (they win over the file's defaults); `think` overrides every class's.
    pub fn program(
        &self,
        host: &str,
        extra_headers: &[(String, String)],
        think: Option<Think>,
    ) -> Result<Program, FileError> {
        let at = |what: String| FileError::new(&self.path, None, what);
        // The first line of the file that mentions `needle` (for errors found after parsing).
        let at_line = |needle: &str, what: String| {
            let line = self.text.lines().position(|l| l.contains(needle));
            FileError::new(&self.path, line.map(|i| i + 1), what)
        };
        // Every variable some task captures; templates may only use these.
        let mut variables: Vec<String> = Vec::new();
        for c in &self.file.classes {
            for name in c
                .requests()
                .flat_map(|t| t.capture.keys().chain(t.set.keys()))
                .chain(c.set.keys())
            {
                if !variables.contains(name) {
                    variables.push(name.clone());
                }
            }
        }
        let dir = self.dir();
        // Every cookie a template reads (`{{cookie NAME}}`) is a variable the user's jar sets.
        let cookies = self.file.cookies.unwrap_or(true);
        let mut cookie_vars = Vec::new();
        for name in self.cookie_placeholders(&dir) {
            if !cookies {
                return Err(at_line(
                    "cookie",
                    format!(
                        "{{{{cookie {name}}}}} reads a cookie, but the file says cookies = false"
                    ),
                ));
            }
            let var = cookie_variable(&name);
            if !variables.contains(&var) {
                cookie_vars.push((variables.len(), name.into_bytes()));
                variables.push(var);
            }
        }
        let column =
            |file: &str, col: &str| load_column(&dir.join(file), col).map_err(InvalidValue);
        let env = |name: &str| std::env::var(name).ok();
        let ctx = Context {
            variables: &variables,
            env: &env,
            column: &column,
        };
        let mut tasks: Vec<Task> = Vec::new();
        let mut endpoints: Vec<Endpoint> = Vec::new();
        let mut classes = Vec::new();
        // A task's `then` steps: the task, and its steps' ids in order.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut build = |t: &TaskFile, class: &str| -> Result<usize, FileError> {
            let method = t.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(at(format!(
                    "user '{class}': '{method}' is not an HTTP method"
                )));
            }
            if !t.path.starts_with('/') {
                return Err(at(format!(
                    "user '{class}': path '{}' must start with /",
                    t.path
                )));
            }
            let parse = |text: &str| {
                Template::parse(text, &ctx).map_err(|e| at(format!("user '{class}': {e}")))
            };
            let mut headers = Vec::new();
            let mut all: BTreeMap<String, String> = self.file.headers.clone();
            for (k, v) in &t.headers {
                all.insert(k.clone(), v.clone());
            }
            for (k, v) in extra_headers {
                all.insert(k.clone(), v.clone());
            }
            for (k, v) in &all {
                crate::http::request::validate_header(k, v)
                    .map_err(|e| at_line(k, format!("user '{class}': {e}")))?;
                let value = parse(v).map_err(|e| {
                    if crate::redact::is_sensitive_header(k) {
                        // The message would quote the value: a credential. Name the header only.
                        at_line(k, format!("user '{class}': header '{k}' is not a valid template (its value is not shown)"))
                    } else {
                        e
                    }
                })?;
                // {{env}} and {{pick}} values are checked too: a line break would inject headers.
                if let Some(bad) = value.injection_risk(false) {
                    return Err(at_line(k, format!("user '{class}': header '{k}': {bad}")));
                }
                headers.push((k.clone(), value));
            }
            let body = match (&t.body, &t.body_file) {
                (Some(_), Some(_)) => {
                    return Err(at(format!(
                        "user '{class}': give body or body_file, not both"
                    )));
                }
                (Some(b), None) => parse(b)?,
                (None, Some(f)) => {
                    let p = dir.join(f);
                    let text = std::fs::read_to_string(&p)
                        .map_err(|e| at(format!("body_file {}: {e}", p.display())))?;
                    parse(&text)?
                }
                (None, None) => Template::default(),
            };
            // A name from the path shows no secret query value (names reach every output).
            let name = t
                .name
                .clone()
                .unwrap_or_else(|| crate::redact::query(&t.path));
            let endpoint = match endpoints
                .iter()
                .position(|e| e.name == name && e.method == method)
            {
                Some(i) => i,
                None => {
                    endpoints.push(Endpoint {
                        name,
                        method: method.clone(),
                    });
                    endpoints.len() - 1
                }
            };
            let mut captures = Vec::new();
            for (var, spec) in &t.capture {
                let source = parse_capture(spec)
                    .map_err(|e| at(format!("user '{class}': capture {var}: {e}")))?;
                captures.push(Capture {
                    var: variables
                        .iter()
                        .position(|v| v == var)
                        .expect("collected above"),
                    source,
                });
            }
            let mut sets = Vec::new();
            for (var, value) in &t.set {
                let template =
                    parse(value).map_err(|e| at(format!("user '{class}': set {var}: {e}")))?;
                let var = variables
                    .iter()
                    .position(|v| v == var)
                    .expect("collected above");
                if template.vars().any(|v| v == var) {
                    return Err(at(format!(
                        "user '{class}': set {}: a value cannot use itself",
                        variables[var]
                    )));
                }
                sets.push((var, template));
            }
            if t.weight == 0 {
                return Err(at(format!("user '{class}': weight must be at least 1")));
            }
            let path = parse(&t.path)?;
            if let Some(bad) = path.injection_risk(true) {
                return Err(at_line(&t.path, format!("user '{class}': path: {bad}")));
            }
            let request = RequestTemplate {
                method,
                path,
                host: host.to_string(),
                headers,
                body,
            };
            tasks.push(Task {
                endpoint,
                head: request.method == "HEAD",
                idempotent: crate::http::is_idempotent(&request.method),
                needs: request.needs(),
                request,
                shared: None,
                expect: match &t.expect {
                    Some(list) => {
                        Some(expected(list).map_err(|e| at(format!("user '{class}': {e}")))?)
                    }
                    None => None,
                },
                captures,
                then: vec![],
                sets,
                checks: match &t.check {
                    Some(c) => check::Checks::new(c)
                        .map_err(|e| at(format!("user '{class}': {e}")))?
                        .map(Box::new),
                    None => None,
                },
                weight: t.weight,
            });
            Ok(tasks.len() - 1)
        };
        for (i, c) in self.file.classes.iter().enumerate() {
            let name = c.name.clone().unwrap_or_else(|| format!("user{}", i + 1));
            if c.tasks.is_empty() {
                return Err(at(format!("user '{name}' has no [[user.task]]")));
            }
            if c.weight == 0 {
                return Err(at(format!("user '{name}': weight must be at least 1")));
            }
            if c.on_start.iter().any(|t| !t.then.is_empty()) {
                return Err(at(format!(
                    "user '{name}': on_start runs in order already: list its requests there, without then"
                )));
            }
            let on_start = c
                .on_start
                .iter()
                .map(|t| build(t, &name))
                .collect::<Result<Vec<_>, _>>()?;
            let mut class_tasks = Vec::new();
            for t in &c.tasks {
                let id = build(t, &name)?;
                if t.then.iter().any(|s| !s.then.is_empty()) {
                    return Err(at(format!(
                        "user '{name}': a step of then has a then of its own: list them all in the task's"
                    )));
                }
                let steps = t
                    .then
                    .iter()
                    .map(|s| build(s, &name))
                    .collect::<Result<Vec<_>, _>>()?;
                if !steps.is_empty() {
                    groups.push((id, steps));
                }
                class_tasks.push(id);
            }
            let class_think = match (&think, &c.think, &self.file.load.think) {
                (Some(t), _, _) => *t,
                (None, Some(t), _) | (None, None, Some(t)) => {
                    Think::parse(t).map_err(|e| at(format!("think: {e}")))?
                }
                (None, None, None) => Think::None,
            };
            let mut sets = Vec::new();
            for (var, value) in &c.set {
                let t = Template::parse(value, &ctx)
                    .map_err(|e| at(format!("user '{name}': set {var}: {e}")))?;
                let v = variables
                    .iter()
                    .position(|x| x == var)
                    .expect("collected above");
                sets.push((v, t));
            }
            classes.push(Class {
                name,
                weight: c.weight,
                fixed_count: c.fixed_count,
                sets,
                think: class_think,
                on_start,
                tasks: class_tasks,
                sequence: c.sequence,
                cumulative: vec![],
            });
        }
        let total: u32 = classes.iter().map(|c| c.weight).sum();
        if total > 100_000 {
            return Err(at("user weights add up to more than 100,000".into()));
        }
        let fixed: u64 = classes.iter().filter_map(|c| c.fixed_count).sum();
        if fixed > 10_000_000 {
            return Err(at(
                "fixed_count adds up to more than 10,000,000 users".into()
            ));
        }
        for (id, steps) in groups {
            tasks[id].then = steps;
        }
        Ok(Program {
            classes,
            tasks,
            endpoints,
            variables,
            class_cycle: vec![],
            fixed: vec![],
            cookies,
            cookie_vars,
        }
        .finish())
    }
}

/// The variable a `{{cookie NAME}}` placeholder reads (a name no capture can have).
pub(crate) fn cookie_variable(name: &str) -> String {
    format!("cookie {name}")
}

impl Scenario {
    /// The cookie names read by `{{cookie NAME}}` placeholders in paths, headers and bodies,
    /// each once, in the order they appear.
    fn cookie_placeholders(&self, dir: &Path) -> Vec<String> {
        let mut texts: Vec<String> = self.file.headers.values().cloned().collect();
        for c in &self.file.classes {
            for t in c.requests() {
                texts.push(t.path.clone());
                texts.extend(t.headers.values().cloned());
                texts.extend(t.body.clone());
                if let Some(f) = &t.body_file {
                    texts.extend(std::fs::read_to_string(dir.join(f)).ok());
                }
            }
        }
        let mut names: Vec<String> = Vec::new();
        for text in &texts {
            for seg in template::segments(text).unwrap_or_default() {
                if let template::Segment::Placeholder(inner) = seg
                    && let ["cookie", name] = inner.split_whitespace().collect::<Vec<_>>()[..]
                    && !names.iter().any(|n| n == name)
                {
                    names.push(name.to_string());
                }
            }
        }
        names
    }
}

fn parse_capture(spec: &str) -> Result<Source, InvalidValue> {
    if let Some(p) = spec.strip_prefix("json:") {
        if !(p.is_empty() || p.starts_with('/')) {
            return Err(InvalidValue(format!(
                "'{spec}': a JSON pointer starts with / (e.g. json:/access)"
            )));
        }
        Ok(Source::Json(p.to_string()))
    } else if let Some(h) = spec.strip_prefix("header:") {
        // header:Name (the whole value) or header:Name:regex (its first group).
        match h.split_once(':') {
            Some((name, re)) => {
                let re = regex::bytes::Regex::new(re)
                    .map_err(|e| InvalidValue(format!("'{spec}': {e}")))?;
                Ok(Source::Header(name.trim().to_string(), Some(re)))
            }
            None => Ok(Source::Header(h.trim().to_string(), None)),
        }
    } else if let Some(re) = spec.strip_prefix("body:") {
        regex::bytes::Regex::new(re)
            .map(Source::Body)
            .map_err(|e| InvalidValue(format!("'{spec}': {e}")))
    } else {
        Err(InvalidValue(format!(
            "'{spec}': use json:/pointer, header:Name, header:Name:regex or body:regex"
        )))
    }
}

/// Reads one column of a CSV file (first line names the columns; no quoted fields).
fn load_column(path: &Path, column: &str) -> Result<Vec<Vec<u8>>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("data file {}: {e}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| format!("data file {} is empty", path.display()))?
        .split(',')
        .map(str::trim)
        .collect();
    let index = header.iter().position(|h| *h == column).ok_or_else(|| {
        format!(
            "data file {} has no column '{column}' (columns: {})",
            path.display(),
            header.join(", ")
        )
    })?;
    lines
        .enumerate()
        .map(|(n, line)| {
            line.split(',')
                .nth(index)
                .map(|v| v.trim().as_bytes().to_vec())
                .ok_or_else(|| {
                    format!(
                        "data file {} line {}: no value for '{column}'",
                        path.display(),
                        n + 2
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests;
