//! Unit tests of per-core recording: counts, runs of equal responses, intervals and their
//! per-endpoint deltas, the success rule and taking back unsent requests.

use super::*;

#[test]
fn equal_responses_in_a_row_count_as_many() {
    let mut r = Recorder::new(2);
    for _ in 0..16 {
        r.response(0, 200, true, 250, 240);
        r.ended(Some(3));
    }
    r.response(1, 200, true, 250, 240);
    r.response(0, 200, true, 251, 240);
    r.ended(None);
    let iv = r.roll(1);
    assert_eq!(iv.counts.responses, 18);
    assert_eq!(iv.latency.len(), 18);
    assert_eq!(iv.latency_uncorrected.count_at(240), 18);
    let t = r.snapshot_totals();
    assert_eq!(t.counts.responses, 18);
    assert_eq!(t.endpoints[0].counts.ok, 17);
    assert_eq!(t.endpoints[0].latency.count_at(250), 16);
    assert_eq!(t.endpoints[0].latency_sum_us, 16 * 250 + 251);
    assert_eq!(t.status[200], 18);
    assert_eq!((t.ended_kernel, t.ended_user), (16, 1));
    assert_eq!(t.generator_added.count_at(3), 16);
}

#[test]
fn merge_adds_everything() {
    let mut a = Recorder::new(1);
    let mut b = Recorder::new(1);
    a.sent(0, 3, 300);
    a.response(0, 200, true, 100, 100);
    a.response(0, 404, false, 300, 300);
    a.error(0, ErrorKind::Timeout, 1);
    b.sent(0, 2, 200);
    b.response(0, 200, true, 200, 200);
    b.unfinished(0, 1);
    b.error(0, ErrorKind::ConnectRefused, 0);
    let mut t = a.snapshot_totals();
    t.merge(&b.snapshot_totals());
    assert_eq!(
        t.counts,
        Counts {
            sent: 5,
            responses: 3,
            ok: 2,
            errors: 1
        }
    );
    assert_eq!(t.unfinished, 1);
    assert_eq!(t.status[200], 2);
    assert_eq!(t.status[404], 1);
    assert_eq!(t.latency.len(), 3);
    assert_eq!(t.latency.max(), 300);
    assert_eq!(t.error_count(ErrorKind::Timeout), 1);
    assert_eq!(t.bytes_sent, 500);
    assert_eq!(
        t.counts.sent,
        t.counts.responses + t.counts.errors + t.unfinished
    );
}

#[test]
fn per_endpoint_intervals_carry_status_and_error_deltas() {
    let mut r = Recorder::with_endpoint_intervals(2, true);
    r.response(0, 200, true, 10, 10);
    r.response(0, 200, true, 10, 10);
    r.response(1, 404, false, 10, 10);
    r.error(1, ErrorKind::Reset, 3);
    let a = r.roll(1);
    assert_eq!(a.endpoint_status, vec![vec![(200, 2)], vec![(404, 1)]]);
    assert_eq!(a.endpoint_errors[1][ErrorKind::Reset as usize], 3);
    r.response(0, 503, false, 10, 10);
    let b = r.roll(2);
    // Only what happened since the last roll.
    assert_eq!(b.endpoint_status, vec![vec![(503, 1)], vec![]]);
    assert_eq!(b.endpoint_errors[1], [0; ERROR_KINDS]);
    // Without per-endpoint intervals nothing is taken.
    let mut plain = Recorder::new(1);
    plain.response(0, 200, true, 1, 1);
    assert!(plain.roll(1).endpoint_status.is_empty());
}

#[test]
fn the_same_status_is_judged_per_response_and_unsend_takes_back_all_of_sent() {
    let mut r = Recorder::with_endpoint_intervals(1, true);
    // Two tasks share the endpoint: one expects 200, the other does not.
    r.response(0, 200, true, 10, 10);
    r.response(0, 200, false, 10, 10);
    r.response(0, 200, false, 10, 10);
    let iv = r.roll(1);
    assert_eq!(iv.endpoint_status, vec![vec![(200, 3)]]);
    assert_eq!(iv.endpoint_unexpected, vec![vec![(200, 2)]]);
    let t = r.snapshot_totals();
    assert_eq!(t.endpoints[0].unexpected[200], 2);
    assert_eq!(t.endpoints[0].counts.ok, 1);
    r.sent(0, 1, 100);
    r.sent(0, 1, 70);
    r.unsend(0, 70);
    let t = r.snapshot_totals();
    assert_eq!((t.counts.sent, t.bytes_sent), (1, 100));
    assert_eq!(t.endpoints[0].counts.sent, 1);
    let iv = r.roll(2);
    assert_eq!((iv.counts.sent, iv.endpoint_counts[0].sent), (1, 1));
}

#[test]
fn intervals_roll() {
    let mut r = Recorder::new(1);
    r.response(0, 200, true, 10, 10);
    let first = r.roll(1);
    assert_eq!(first.index, 0);
    assert_eq!(first.counts.responses, 1);
    r.response(0, 500, false, 20, 20);
    let second = r.roll(2);
    assert_eq!(
        (second.index, second.counts.responses, second.counts.ok),
        (1, 1, 0)
    );
    assert_eq!(r.totals.counts.responses, 2);
}

#[test]
fn uncorrected_equals_corrected_until_they_first_differ() {
    // A closed loop: both latencies equal, the uncorrected histograms copied when read.
    let mut r = Recorder::new(2);
    r.response(0, 200, true, 100, 100);
    r.response(1, 200, true, 300, 300);
    let iv = r.roll(1);
    assert_eq!(iv.latency_uncorrected.len(), 2);
    assert_eq!(iv.latency_uncorrected.count_at(300), 1);
    // The first difference, mid-interval: what came before is kept, and this one is recorded
    // where it belongs in each.
    r.response(0, 200, true, 200, 200);
    r.response(0, 200, true, 500, 50);
    r.response(0, 200, true, 70, 70);
    let iv = r.roll(2);
    assert_eq!(iv.latency.len(), 3);
    assert_eq!(iv.latency_uncorrected.len(), 3);
    assert_eq!(iv.latency_uncorrected.count_at(50), 1);
    assert_eq!(iv.latency_uncorrected.count_at(500), 0);
    assert_eq!(iv.latency_uncorrected.count_at(200), 1);
    // A later interval of equal latencies still adds to the run's uncorrected totals.
    r.response(1, 200, true, 900, 900);
    let iv = r.roll(3);
    assert_eq!(iv.latency_uncorrected.count_at(900), 1);
    let t = r.snapshot_totals();
    assert_eq!(t.latency.len(), 6);
    assert_eq!(t.latency_uncorrected.len(), 6);
    for (v, n) in [
        (100, 1),
        (300, 1),
        (200, 1),
        (50, 1),
        (500, 0),
        (70, 1),
        (900, 1),
    ] {
        assert_eq!(t.latency_uncorrected.count_at(v), n, "uncorrected at {v}");
    }
    assert_eq!(t.latency.count_at(500), 1);
}

#[test]
fn a_run_without_differences_reports_its_corrected_histogram_twice() {
    let mut r = Recorder::new(1);
    for v in [10, 20, 20, 30] {
        r.response(0, 200, true, v, v);
    }
    let t = r.snapshot_totals();
    assert_eq!(t.latency_uncorrected.len(), 4);
    assert_eq!(t.latency_uncorrected.count_at(20), 2);
    assert_eq!(t.latency_uncorrected.max(), t.latency.max());
}
