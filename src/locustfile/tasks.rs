//! Task sets as Locust runs them, flattened into one list per user: weighted picks, sequential
//! passes, nested sets entered and left by `self.interrupt()`, as long-run request frequencies.

use super::Request;

/// What one entry of a set runs when picked: a task's requests, or a nested set.
#[derive(Debug, Clone)]
pub enum Content {
    Requests(Vec<Request>),
    Set(Flat),
}

/// One entry of a set's task list.
#[derive(Debug, Clone)]
pub struct Entry {
    pub content: Content,
    /// `@task(N)`, or the count in `tasks = {f: N}`.
    pub weight: u32,
    /// The task ends with `self.interrupt()`: the set is left after it.
    pub interrupts: bool,
    /// The task or set's name and line, for the warnings.
    pub label: String,
    pub line: usize,
}

/// A set flattened: its requests with how often each is sent, in order when `ordered`.
#[derive(Debug, Clone, Default)]
pub struct Flat {
    /// Per visit of the set (each request's expected count), or, for a set never left
    /// (`absorbing`), per pick in the long run (any scale).
    pub items: Vec<(Request, f64)>,
    /// The items are one pass of a fixed order (a sequential set, or a single task).
    pub ordered: bool,
    /// The set has no way out (no `self.interrupt()`): once entered, it runs for good.
    pub absorbing: bool,
}

/// A warning found while flattening: its line and text.
pub type Note = (usize, String);

/// A TaskSet (or a user's own tasks): each pick takes entry e with probability w_e / W. With
/// interrupting entries of total weight S, a visit makes w_e / S picks of e on average.
pub fn weighted(entries: Vec<Entry>, notes: &mut Vec<Note>) -> Flat {
    if let Some(flat) = absorbed(&entries, notes) {
        return flat;
    }
    let total: u32 = entries.iter().map(|e| e.weight).sum();
    let leaving: u32 = entries
        .iter()
        .filter(|e| e.interrupts)
        .map(|e| e.weight)
        .sum();
    let single = entries.len() == 1;
    let mut items = Vec::new();
    let mut ordered = single;
    for e in entries {
        let per = f64::from(e.weight) / f64::from(if leaving > 0 { leaving } else { total });
        match e.content {
            Content::Requests(reqs) => {
                if reqs.len() > 1 && !single {
                    notes.push((
                        e.line,
                        format!(
                            "task {} sends {} requests: each becomes a task of weight {}, so the mix is kept but not their order",
                            e.label,
                            reqs.len(),
                            e.weight
                        ),
                    ));
                }
                items.extend(reqs.into_iter().map(|q| (q, per)));
            }
            Content::Set(f) => {
                if f.ordered && f.items.len() > 1 && !single {
                    notes.push((
                        e.line,
                        format!(
                            "sequential set {} is mixed with other tasks: its mix is kept but not its order",
                            e.label
                        ),
                    ));
                }
                ordered &= f.ordered;
                items.extend(f.items.into_iter().map(|(q, n)| (q, n * per)));
            }
        }
    }
    Flat {
        items,
        ordered,
        absorbing: leaving == 0,
    }
}

/// A SequentialTaskSet: each entry in turn (`@task(N)` runs N times), until an interrupting
/// entry ends the visit; without one, the passes repeat for good.
pub fn sequential(entries: Vec<Entry>, notes: &mut Vec<Note>) -> Flat {
    let mut items = Vec::new();
    let mut ordered = true;
    let mut absorbing = true;
    let count = entries.len();
    for (i, e) in entries.into_iter().enumerate() {
        for _ in 0..e.weight.max(1) {
            match &e.content {
                Content::Requests(reqs) => items.extend(reqs.iter().cloned().map(|q| (q, 1.0))),
                Content::Set(f) if f.absorbing => {
                    if i + 1 < count {
                        notes.push((
                            e.line,
                            format!(
                                "{} is never left (no self.interrupt()), so the tasks after it are never reached: left out",
                                e.label
                            ),
                        ));
                    }
                    // The sequence runs up to it once, then stays in it: the long run is its.
                    return f.clone();
                }
                Content::Set(f) => {
                    ordered &= f.ordered;
                    items.extend(f.items.iter().cloned());
                }
            }
        }
        if e.interrupts {
            absorbing = false;
            if i + 1 < count {
                notes.push((
                    e.line,
                    format!(
                        "{} interrupts the sequence, so the tasks after it are never reached: left out",
                        e.label
                    ),
                ));
            }
            break;
        }
    }
    Flat {
        items,
        ordered,
        absorbing,
    }
}

/// Entries that, once picked, are never left: the long run is theirs alone.
fn absorbed(entries: &[Entry], notes: &mut Vec<Note>) -> Option<Flat> {
    let traps: Vec<(&Flat, u32, &Entry)> = entries
        .iter()
        .filter_map(|e| match &e.content {
            Content::Set(f) if f.absorbing => Some((f, e.weight, e)),
            _ => None,
        })
        .collect();
    let (_, _, first) = traps.first()?;
    if entries.len() > traps.len() {
        notes.push((
            first.line,
            format!(
                "{} is never left (no self.interrupt()): the tasks beside it run only until a user enters it, so they are left out",
                first.label
            ),
        ));
    }
    if let [(f, _, _)] = traps[..] {
        return Some(f.clone());
    }
    // Each user ends in one of them, chosen by weight: a mix of their long runs.
    let mut items = Vec::new();
    for (f, w, _) in &traps {
        let sum: f64 = f.items.iter().map(|(_, n)| n).sum();
        items.extend(
            f.items
                .iter()
                .map(|(q, n)| (q.clone(), n / sum * f64::from(*w))),
        );
    }
    notes.push((
        first.line,
        "sets never left are entered by weight, each user staying in one: converted as their mix, so a user sends from all of them".into(),
    ));
    Some(Flat {
        items,
        ordered: false,
        absorbing: true,
    })
}

/// Whole weights in the same proportions: the smallest exact multiple up to 1,000, else
/// rounded to a thousandth of the smallest.
pub fn whole(weights: &[f64]) -> Vec<u32> {
    let min = weights.iter().copied().fold(f64::INFINITY, f64::min);
    if weights.is_empty() || min <= 0.0 || !min.is_finite() {
        return vec![1; weights.len()];
    }
    let norm: Vec<f64> = weights.iter().map(|w| w / min).collect();
    let scaled = (1..=1000u32)
        .find_map(|m| {
            let v: Vec<f64> = norm.iter().map(|w| w * f64::from(m)).collect();
            v.iter()
                .all(|x| (x - x.round()).abs() < 1e-6 * x.max(1.0))
                .then(|| v.iter().map(|x| x.round() as u32).collect::<Vec<u32>>())
        })
        .unwrap_or_else(|| norm.iter().map(|w| (w * 1000.0).round() as u32).collect());
    let g = scaled.iter().copied().fold(0, gcd).max(1);
    scaled.iter().map(|w| (w / g).max(1)).collect()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            weight: 1,
            ..Request::default()
        }
    }

    fn task(path: &str, weight: u32, interrupts: bool) -> Entry {
        Entry {
            content: Content::Requests(vec![req(path)]),
            weight,
            interrupts,
            label: path.into(),
            line: 1,
        }
    }

    fn set(flat: Flat, weight: u32) -> Entry {
        Entry {
            content: Content::Set(flat),
            weight,
            interrupts: false,
            label: "Set".into(),
            line: 1,
        }
    }

    fn freqs(f: &Flat) -> Vec<(String, f64)> {
        f.items.iter().map(|(q, n)| (q.path.clone(), *n)).collect()
    }

    #[test]
    fn a_nested_set_left_by_interrupt_counts_its_expected_picks_per_visit() {
        let mut notes = Vec::new();
        // Inside: x (1), y (2), stop (1, interrupts). A visit makes 1 x, 2 y and 1 stop.
        let inner = weighted(
            vec![
                task("/x", 1, false),
                task("/y", 2, false),
                task("/stop", 1, true),
            ],
            &mut notes,
        );
        assert!(!inner.absorbing);
        assert_eq!(
            freqs(&inner),
            vec![
                ("/x".into(), 1.0),
                ("/y".into(), 2.0),
                ("/stop".into(), 1.0)
            ]
        );
        // The user picks /a (1) or the set (3): per pick, 1/4 /a, and 3/4 of a visit.
        let user = weighted(vec![task("/a", 1, false), set(inner, 3)], &mut notes);
        let w: Vec<f64> = user.items.iter().map(|(_, n)| *n).collect();
        assert_eq!(whole(&w), vec![1, 3, 6, 3]);
        assert!(notes.is_empty());
    }

    #[test]
    fn a_set_never_left_takes_the_long_run_and_says_what_it_leaves_out() {
        let mut notes = Vec::new();
        let trap = weighted(vec![task("/x", 1, false)], &mut notes);
        assert!(trap.absorbing);
        let user = weighted(vec![task("/a", 5, false), set(trap, 1)], &mut notes);
        assert_eq!(freqs(&user), vec![("/x".into(), 1.0)]);
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn a_sequential_set_keeps_order_and_stops_at_its_interrupt() {
        let mut notes = Vec::new();
        let seq = sequential(
            vec![
                task("/1", 1, false),
                task("/2", 2, false),
                task("/3", 1, true),
                task("/never", 1, false),
            ],
            &mut notes,
        );
        let paths: Vec<String> = freqs(&seq).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, vec!["/1", "/2", "/2", "/3"]);
        assert!(seq.ordered && !seq.absorbing);
        assert_eq!(notes.len(), 1);
        // Alone under a user, it stays ordered; beside another task it does not.
        let alone = weighted(vec![set(seq.clone(), 1)], &mut notes);
        assert!(alone.ordered);
        let mixed = weighted(vec![set(seq, 1), task("/b", 1, false)], &mut notes);
        assert!(!mixed.ordered);
    }

    #[test]
    fn whole_weights_keep_proportions() {
        assert_eq!(whole(&[0.25, 0.75]), vec![1, 3]);
        assert_eq!(whole(&[2.0, 4.0, 6.0]), vec![1, 2, 3]);
        assert_eq!(whole(&[1.0, 1.0 / 3.0]), vec![3, 1]);
        assert_eq!(whole(&[]), Vec::<u32>::new());
    }
}
