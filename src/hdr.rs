//! Lossless HdrHistograms in the JSON report: V2 encoding (HdrHistogram's own, as in interval
//! logs, without compression) in base64, so that reports of shards can be merged exactly.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

/// The encoding's name, written beside the histograms.
pub const ENCODING: &str = "hdrhistogram-v2-base64";

pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serializing into a Vec cannot fail for a valid histogram; an empty string reads back
    // as an error, never as a wrong histogram.
    if V2Serializer::new().serialize(h, &mut bytes).is_err() {
        return String::new();
    }
    STANDARD.encode(bytes)
}

pub fn decode(s: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(s.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not a V2 HdrHistogram: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in [1u64, 17, 250, 250, 9_999, 1_234_567] {
            h.record(v).unwrap();
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        assert!(decode("!!").is_err() && decode("AAAA").is_err());
    }
}
