//! Reads a locustfile with a pure-Rust Python parser and converts what maps statically into a
//! scenario (TOML text); everything else becomes a warning with its line. No Python at run time.

mod body;
mod bounds;
mod catch;
mod catch_body;
mod entries;
mod expand;
mod read;
mod scope;
mod shape;
mod tasks;
mod thresholds;
mod value;
mod write;

use std::path::Path;

use crate::error::FileError;

/// One request a task sends, as the scenario will.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub name: Option<String>,
    pub method: String,
    /// A scenario template (`{{x}}` placeholders).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub weight: u32,
    /// Variables captured from its response: name and scenario source (`json:/access`).
    pub captures: Vec<(String, String)>,
    /// The statuses that count as success, when `catch_response` decided them (None: 2xx, 3xx).
    pub expect: Option<Vec<u16>>,
    /// What the body must hold, when `catch_response` tested it.
    pub check: Option<catch_body::Check>,
    /// Variables drawn when the task is picked, for all its requests (name, template).
    pub sets: Vec<(String, String)>,
    /// The requests the same task sends after this one, in order (the scenario's `then`).
    pub then: Vec<Request>,
    /// The scheme and authority of an absolute URL it was written with.
    pub origin: Option<String>,
    /// `@tag` names, of the task and the sets around it.
    pub tags: Vec<String>,
    pub line: usize,
}

/// A user class, as the scenario will have it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Class {
    pub name: String,
    pub line: usize,
    pub weight: u32,
    /// Locust's `fixed_count`: exactly this many users of the class, before the weights share
    /// the rest.
    pub fixed_count: Option<u64>,
    pub host: Option<String>,
    /// Think time as the scenario writes it (`1s`, `500ms..1500ms`).
    pub think: Option<String>,
    pub on_start: Vec<Request>,
    pub tasks: Vec<Request>,
    /// The tasks run in order (a SequentialTaskSet, or one task's requests).
    pub sequence: bool,
    /// Variables each user draws once when it starts (`self.x = random...` in on_start).
    pub sets: Vec<(String, String)>,
}

/// Something of the file that was left out, or converted with a difference, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub line: usize,
    pub text: String,
}

/// A converted locustfile: the scenario's TOML, the classes it holds, and every warning.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub toml: String,
    pub classes: Vec<Class>,
    /// A LoadTestShape's table as `--stages`.
    pub stages: Option<String>,
    /// A quitting listener's targets as `assert` lines.
    pub asserts: Vec<String>,
    pub warnings: Vec<Warning>,
}

impl Conversion {
    /// What was understood, per class, and every warning with the file and line: the summary
    /// `convert` prints.
    pub fn summary(&self, path: &Path) -> String {
        let mut out = String::new();
        for c in &self.classes {
            out.push_str(&format!("user {} (weight {})", c.name, c.weight));
            if let Some(n) = c.fixed_count {
                out.push_str(&format!(", fixed count {n}"));
            }
            if c.sequence {
                out.push_str(", tasks in order");
            }
            if let Some(t) = &c.think {
                out.push_str(&format!(", think {t}"));
            }
            out.push('\n');
            for (kind, reqs) in [("on_start", &c.on_start), ("task", &c.tasks)] {
                for r in reqs.iter().flat_map(|q| std::iter::once(q).chain(&q.then)) {
                    let name = r.name.as_deref().unwrap_or(&r.path);
                    if reqs.iter().any(|q| std::ptr::eq(q, r)) {
                        out.push_str(&format!(
                            "  {kind:<8} {:<6} {:<40} name {name}, weight {}, line {}",
                            r.method, r.path, r.weight, r.line
                        ));
                    } else {
                        out.push_str(&format!(
                            "    then   {:<6} {:<40} name {name}, line {}",
                            r.method, r.path, r.line
                        ));
                    }
                    if !r.tags.is_empty() {
                        out.push_str(&format!(", tags {}", r.tags.join(" ")));
                    }
                    for (var, source) in &r.captures {
                        out.push_str(&format!(", captures {var} from {source}"));
                    }
                    out.push('\n');
                }
            }
        }
        for w in &self.warnings {
            out.push_str(&format!(
                "warning: {}:{}: {}\n",
                path.display(),
                w.line,
                w.text
            ));
        }
        if let Some(s) = &self.stages {
            out.push_str(&format!("stages {s} (from the LoadTestShape)\n"));
        }
        if !self.asserts.is_empty() {
            out.push_str(&format!(
                "assert {} (from the exit-code listener)\n",
                self.asserts.join(", ")
            ));
        }
        let requests: usize = self
            .classes
            .iter()
            .map(|c| c.on_start.len() + c.tasks.iter().map(|t| 1 + t.then.len()).sum::<usize>())
            .sum();
        out.push_str(&format!(
            "{} user class(es), {requests} request(s) converted, {} warning(s)\n",
            self.classes.len(),
            self.warnings.len()
        ));
        out
    }
}

impl Conversion {
    /// An error when no user class converted (after its warnings were shown: they say why).
    pub fn require_classes(&self, path: &Path) -> Result<(), FileError> {
        if !self.classes.is_empty() {
            return Ok(());
        }
        let why = if self.warnings.is_empty() {
            "it has no HttpUser or FastHttpUser class"
        } else {
            "no user class could be converted (the warnings above say why)"
        };
        Err(FileError::new(path, None, format!("nothing to run: {why}")))
    }
}

/// Converts a locustfile's text. `only` keeps the named classes (all when empty); `strict` makes
/// any warning an error.
pub fn convert(
    text: &str,
    path: &Path,
    only: &[String],
    strict: bool,
) -> Result<Conversion, FileError> {
    bounds::check(text, path)?;
    // The parser and the walks recurse once per level of the syntax tree: a thread with a
    // stack for the deepest tree a bounded file can hold (reserved, not committed).
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("locustfile".into())
            .stack_size(bounds::STACK)
            .spawn_scoped(s, || convert_on_this_thread(text, path, only, strict))
            .map_err(|e| FileError::new(path, None, format!("cannot start its reader: {e}")))?
            .join()
            .unwrap_or_else(|_| {
                Err(FileError::new(
                    path,
                    None,
                    "the converter stopped on this file (a bug: please report it)".to_string(),
                ))
            })
    })
}

fn convert_on_this_thread(
    text: &str,
    path: &Path,
    only: &[String],
    strict: bool,
) -> Result<Conversion, FileError> {
    let read::Read {
        mut classes,
        stages,
        asserts,
        mut warnings,
    } = read::classes(text, path)?;
    warnings.sort_by_key(|w| w.line);
    // A statement unrolled from a loop warns once.
    warnings.dedup();
    if !only.is_empty() {
        for name in only {
            if !classes.iter().any(|c| &c.name == name) {
                return Err(FileError::new(
                    path,
                    None,
                    format!("no user class named {name} (it has: {})", names(&classes)),
                ));
            }
        }
        classes.retain(|c| only.contains(&c.name));
    }
    warnings.sort_by_key(|w| w.line);
    if strict && let Some(w) = warnings.first() {
        return Err(FileError::new(
            path,
            Some(w.line),
            format!("{} (--strict makes every warning an error)", w.text),
        ));
    }
    let toml = write::scenario(&classes, stages.as_deref(), &asserts, path);
    Ok(Conversion {
        toml,
        classes,
        stages,
        asserts,
        warnings,
    })
}

/// Reads a locustfile as a scenario (`run -f`): its warnings go to standard error, one line each.
pub fn scenario(path: &Path, only: &[String]) -> Result<crate::scenario::Scenario, FileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(path, None, format!("cannot read it: {e}")))?;
    let c = convert(&text, path, only, false)?;
    for w in &c.warnings {
        eprintln!(
            "ringblast: warning: {}:{}: {}",
            path.display(),
            w.line,
            w.text
        );
    }
    c.require_classes(path)?;
    crate::scenario::Scenario::parse(&c.toml, path)
}

fn names(classes: &[Class]) -> String {
    let v: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
