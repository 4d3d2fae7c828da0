//! The scenario file model's unit tests: parsing, errors with their lines, and the program
//! built from a file. Test-only; the model itself is mod.rs.

use super::*;

fn parse(text: &str) -> Result<Scenario, FileError> {
    Scenario::parse(text, Path::new("s.toml"))
}

const GOOD: &str = r#"
host = "http://127.0.0.1:8080"
headers = { Accept = "application/json" }
assert = ["p99<500ms"]

[load]
users = 50
spawn_rate = 5
duration = "5m"

[[user]]
name = "approver"
weight = 3
think = "1s"
on_start = [{ name = "login", method = "POST", path = "/login", body = '{"u":"a"}', capture = { token = "json:/access" } }]

[[user.task]]
name = "list"
path = "/pending?limit=100"
weight = 2
headers = { Authorization = "Bearer {{token}}" }

[[user.task]]
name = "approve"
method = "POST"
path = "/cab/{{uuid}}/approve/"
expect = [200, 404]

[[user]]
name = "viewer"
[[user.task]]
path = "/pending?limit=100"
name = "list"
"#;

#[test]
fn good_file_builds_a_program() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.file.load.users, Some(50));
    let p = s.program("127.0.0.1:8080", &[], None).unwrap();
    assert_eq!(p.classes.len(), 2);
    assert_eq!(p.variables, vec!["token".to_string()]);
    assert_eq!(
        p.endpoints.len(),
        3,
        "login, list (shared by both classes), approve"
    );
    assert_eq!(p.classes[0].on_start.len(), 1);
    assert_eq!(p.classes[0].cumulative, vec![2, 3]);
    assert_eq!(p.class_cycle, vec![0, 0, 1, 0]);
    let approve = &p.tasks[p.classes[0].tasks[1]];
    assert!(approve.is_ok(404) && !approve.is_ok(500));
    assert!(
        approve.shared.is_some(),
        "no variables: rendered once for all"
    );
    let list = &p.tasks[p.classes[0].tasks[0]];
    assert!(
        list.shared.is_none(),
        "uses {{token}}: rendered per connection"
    );
    assert_eq!(p.tasks[p.classes[0].on_start[0]].captures.len(), 1);
}

#[test]
fn bad_files_say_what_and_where() {
    let cases = [
        (
            "hots = \"x\"\n[[user]]\n[[user.task]]\npath=\"/\"\n",
            "s.toml:1: unknown field `hots`",
            "did you mean `host`?",
        ),
        ("[load]\nusers = \"many\"\n", "s.toml:2", "invalid type"),
        (
            "[[user]]\n[[user.task]]\npath = \"/\"\nwieght = 2\n",
            "s.toml:4",
            "did you mean `weight`?",
        ),
        ("host = \"x\"\n", "no [[user]]", ""),
    ];
    for (text, want, hint) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert!(err.contains(hint), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn program_errors() {
    let unknown_var = "[[user]]\n[[user.task]]\npath = \"/{{tok}}\"\n";
    let err = parse(unknown_var)
        .unwrap()
        .program("h", &[], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variable 'tok'"), "{err}");
    let missing = "[[user]]\n[[user.task]]\npath = \"/\"\nbody_file = \"nope.json\"\n";
    let err = parse(missing).unwrap().program("h", &[], None).unwrap_err();
    assert!(err.to_string().contains("nope.json"), "{err}");
    let wide = "[[user]]\n[[user.task]]\npath = \"/{{rand_int 1 100000 2}}\"\n";
    let err = parse(wide).unwrap().program("h", &[], None).unwrap_err();
    assert!(err.what.contains("wider than its 2-byte slot"), "{err}");
    let bad_capture = "[[user]]\n[[user.task]]\npath = \"/\"\ncapture = { t = \"xml:/a\" }\n";
    assert!(parse(bad_capture).unwrap().program("h", &[], None).is_err());
}

#[test]
fn suggestions() {
    assert_eq!(edit_distance("hots", "host"), 2);
    assert!(
        suggest("unknown field `duraton`, expected one of `users`, `duration`")
            .ends_with("(did you mean `duration`?)")
    );
    assert!(!suggest("unknown field `zzzzzzzz`, expected one of `users`").contains("did you mean"));
}
