//! Names in the HdrHistogram interval log (`--hlog`): each endpoint's tag. The log itself is
//! written as the run goes by `report::stream::IntervalLog`.

/// A tag the log format accepts: no commas, spaces or line breaks.
pub fn tag_for(method: &str, name: &str) -> String {
    format!("{method}_{name}")
        .chars()
        .map(|c| {
            if c == ',' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::Tag;

    #[test]
    fn tags_are_legal() {
        assert_eq!(tag_for("GET", "/a b,c"), "GET_/a_b_c");
        assert!(Tag::new(&tag_for("POST", "x y")).is_some());
    }
}
