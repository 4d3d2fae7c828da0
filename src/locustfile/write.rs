//! The converted classes as scenario TOML: `host`, a shape's `[load] stages`, then one `[[user]]`
//! per class with its think time, on_start and tasks. Deterministic: same file, same text.

use std::path::Path;

use super::{Class, Request};

/// TOML basic string.
fn quote(s: &str) -> String {
    super::value::quoted(s, |c| match c {
        '\r' => Some("\\r".into()),
        '\t' => Some("\\t".into()),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => Some(format!("\\u{:04X}", c as u32)),
        _ => None,
    })
}

fn fields(q: &Request, with_weight: bool) -> Vec<String> {
    let mut f = Vec::new();
    if let Some(n) = &q.name {
        f.push(format!("name = {}", quote(n)));
    }
    f.push(format!("method = {}", quote(&q.method)));
    f.push(format!("path = {}", quote(&q.path)));
    if !q.headers.is_empty() {
        let h: Vec<String> = q
            .headers
            .iter()
            .map(|(k, v)| format!("{} = {}", quote(k), quote(v)))
            .collect();
        f.push(format!("headers = {{ {} }}", h.join(", ")));
    }
    if let Some(b) = &q.body {
        f.push(format!("body = {}", quote(b)));
    }
    if let Some(ok) = &q.expect {
        f.push(format!("expect = [{}]", expect_list(ok)));
    }
    if let Some(c) = &q.check {
        f.push(format!("check = {{ {} }}", check(c)));
    }
    if !q.tags.is_empty() {
        let t: Vec<String> = q.tags.iter().map(|t| quote(t)).collect();
        f.push(format!("tags = [{}]", t.join(", ")));
    }
    if with_weight && q.weight != 1 {
        f.push(format!("weight = {}", q.weight));
    }
    if !q.sets.is_empty() {
        f.push(format!("set = {{ {} }}", pairs(&q.sets)));
    }
    if !q.then.is_empty() {
        let steps: Vec<String> = q
            .then
            .iter()
            .map(|s| format!("  {{ {} }},", fields(s, false).join(", ")))
            .collect();
        f.push(format!("then = [\n{}\n]", steps.join("\n")));
    }
    if !q.captures.is_empty() {
        let c: Vec<String> = q
            .captures
            .iter()
            .map(|(k, v)| format!("{} = {}", quote(k), quote(v)))
            .collect();
        f.push(format!("capture = {{ {} }}", c.join(", ")));
    }
    f
}

/// `k = "v", ...` for an inline table.
fn pairs(v: &[(String, String)]) -> String {
    v.iter()
        .map(|(k, x)| format!("{} = {}", quote(k), quote(x)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A body check as the scenario's inline `check` table.
fn check(c: &super::catch_body::Check) -> String {
    let list = |v: &[String]| v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
    let table = |v: &[(String, String)]| {
        v.iter()
            .map(|(k, x)| format!("{} = {}", quote(k), quote(x)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !c.has.is_empty() {
        parts.push(format!("body_has = [{}]", list(&c.has)));
    }
    if !c.lacks.is_empty() {
        parts.push(format!("body_lacks = [{}]", list(&c.lacks)));
    }
    if let Some(is) = &c.is {
        parts.push(format!("body_is = {}", quote(is)));
    }
    if !c.json.is_empty() {
        parts.push(format!("json = {{ {} }}", table(&c.json)));
    }
    if !c.json_not.is_empty() {
        parts.push(format!("json_not = {{ {} }}", table(&c.json_not)));
    }
    parts.join(", ")
}

/// Statuses as `expect` writes them: a whole class as `"2xx"`, the rest one by one.
fn expect_list(ok: &[u16]) -> String {
    let mut items = Vec::new();
    for class in 1..=9u16 {
        let range = class * 100..class * 100 + 100;
        let n = ok.iter().filter(|s| range.contains(s)).count();
        if n == 100 && class <= 5 {
            items.push(format!("\"{class}xx\""));
        } else {
            items.extend(ok.iter().filter(|s| range.contains(s)).map(u16::to_string));
        }
    }
    items.join(", ")
}

pub fn scenario(
    classes: &[Class],
    stages: Option<&str>,
    asserts: &[String],
    path: &Path,
) -> String {
    let mut out = format!(
        "# Converted from {} by `ringblast convert`.\n",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    if let Some(host) = classes.iter().find_map(|c| c.host.as_ref()) {
        out.push_str(&format!("host = {}\n", quote(host)));
    }
    if !asserts.is_empty() {
        let a: Vec<String> = asserts.iter().map(|a| quote(a)).collect();
        out.push_str(&format!("assert = [{}]\n", a.join(", ")));
    }
    if let Some(s) = stages {
        out.push_str(&format!("\n[load]\nstages = {}\n", quote(s)));
    }
    for c in classes {
        out.push_str(&format!("\n[[user]]\nname = {}\n", quote(&c.name)));
        if c.weight != 1 {
            out.push_str(&format!("weight = {}\n", c.weight));
        }
        if let Some(n) = c.fixed_count {
            out.push_str(&format!("fixed_count = {n}\n"));
        }
        if c.sequence {
            out.push_str("sequence = true\n");
        }
        if !c.sets.is_empty() {
            out.push_str(&format!("set = {{ {} }}\n", pairs(&c.sets)));
        }
        if let Some(t) = &c.think {
            out.push_str(&format!("think = {}\n", quote(t)));
        }
        if !c.on_start.is_empty() {
            out.push_str("on_start = [\n");
            for q in &c.on_start {
                out.push_str(&format!("  {{ {} }},\n", fields(q, false).join(", ")));
            }
            out.push_str("]\n");
        }
        for q in &c.tasks {
            out.push_str("\n[[user.task]]\n");
            for f in fields(q, !c.sequence) {
                out.push_str(&f);
                out.push('\n');
            }
        }
    }
    out
}
