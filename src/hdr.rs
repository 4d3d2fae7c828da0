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

/// The most counts a histogram read from a file may have: 16× ringblast's own (1 µs to an
/// hour at 3 significant digits is about 43,000), 8 MiB of memory.
const MAX_COUNTS: u64 = 1 << 20;

/// Checks a V2 header against the bytes that follow it, before the decoder allocates what the
/// header asks for: the payload is as long as it says, and the histogram it describes is of a
/// size ringblast could have written. A crafted 56-character histogram once asked for 4 GiB.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let long = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if bytes.len() < 40 {
        return Err(format!(
            "a V2 HdrHistogram of {} bytes is shorter than its header",
            bytes.len()
        ));
    }
    let payload = u64::from(word(4));
    if payload != bytes.len() as u64 - 40 {
        return Err(format!(
            "the V2 header announces {payload} bytes of counts, but {} follow",
            bytes.len() - 40
        ));
    }
    let (digits, lowest, highest) = (word(12), long(16), long(24));
    if !(1..=5).contains(&digits) || lowest == 0 || highest < lowest.saturating_mul(2) {
        return Err(format!(
            "a V2 HdrHistogram with impossible bounds ({lowest} to {highest}, {digits} digits)"
        ));
    }
    // The counts array the decoder would allocate (HdrHistogram's own sizing).
    let single = 2 * 10u64.pow(digits);
    let sub_buckets = single.next_power_of_two();
    let unit = 63 - lowest.leading_zeros();
    let mut smallest_untrackable = u128::from(sub_buckets) << unit;
    let mut buckets = 1u64;
    while smallest_untrackable <= u128::from(highest) {
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    let counts = (buckets + 1) * (sub_buckets / 2);
    if counts > MAX_COUNTS {
        return Err(format!(
            "a V2 HdrHistogram of {counts} counts ({lowest} to {highest}, {digits} digits) is \
             larger than any ringblast writes"
        ));
    }
    Ok(())
}

pub fn decode(s: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(s.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    check_header(&bytes)?;
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

    #[test]
    fn a_header_that_asks_for_more_than_its_bytes_is_refused_before_allocating() {
        let h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        let mut bytes = STANDARD.decode(encode(&h)).unwrap();
        // Widen the bounds to u64's range at 5 digits: gigabytes of counts.
        bytes[12..16].copy_from_slice(&5u32.to_be_bytes());
        bytes[24..32].copy_from_slice(&u64::MAX.to_be_bytes());
        let err = decode(&STANDARD.encode(&bytes)).unwrap_err();
        assert!(err.contains("larger than any ringblast writes"), "{err}");
        // A payload length that does not match the bytes.
        let mut bytes = STANDARD.decode(encode(&h)).unwrap();
        bytes[4..8].copy_from_slice(&1_000_000u32.to_be_bytes());
        assert!(
            decode(&STANDARD.encode(&bytes))
                .unwrap_err()
                .contains("announces")
        );
        // 42 bytes (56 base64 characters) with a 2-byte payload: refused, not 4 GiB.
        let mut tiny = bytes[..40].to_vec();
        tiny[4..8].copy_from_slice(&2u32.to_be_bytes());
        tiny[24..32].copy_from_slice(&(1u64 << 62).to_be_bytes());
        tiny[12..16].copy_from_slice(&5u32.to_be_bytes());
        tiny.extend([0, 0]);
        assert_eq!(STANDARD.encode(&tiny).len(), 56);
        assert!(decode(&STANDARD.encode(&tiny)).is_err());
    }
}
