//! The values templates generate, per worker: a fast PRNG, sequences interleaved across workers
//! and shards, pick cursors, and the fixed-width or decimal writing of each. No template parsing.

use super::template::Gen;

/// Per-worker generator state: a fast PRNG, the sequence, pick cursors, and a scratch buffer
/// for bodies written per send.
#[derive(Debug, Clone)]
pub struct Generators {
    rng: u64,
    seq: u64,
    worker: u64,
    workers: u64,
    /// Per pick placeholder: the next index this worker takes.
    pick_cursors: Vec<u64>,
    scratch: Vec<u8>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Generators {
    pub fn new(seed: u64, worker: u64, workers: u64) -> Self {
        Self {
            rng: seed | 1,
            seq: 0,
            worker,
            workers: workers.max(1),
            pick_cursors: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Lends the scratch buffer (a body measured before its Content-Length is written); give
    /// it back with `put_scratch` so its allocation is kept.
    pub fn take_scratch(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.scratch)
    }

    pub fn put_scratch(&mut self, scratch: Vec<u8>) {
        self.scratch = scratch;
    }

    pub fn next_u64(&mut self) -> u64 {
        // splitmix64: good enough for test data, two multiplies per value.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Appends a fresh value of any width to `out`.
    pub fn append(&mut self, generator: &Gen, out: &mut Vec<u8>) {
        match (generator, generator.fixed_width()) {
            (_, Some(width)) => {
                let at = out.len();
                out.resize(at + width, b'0');
                self.fill(generator, &mut out[at..]);
            }
            (Gen::Seq { .. }, None) => {
                let value = self.next_seq();
                push_decimal(value, out);
            }
            (Gen::RandInt { lo, hi, .. }, None) => {
                let value = self.rand_in(*lo, *hi);
                push_decimal(value, out);
            }
            (
                Gen::Pick {
                    values,
                    random,
                    cursor,
                    ..
                },
                None,
            ) => {
                let i = self.pick_index(*cursor, values.len(), *random);
                out.extend_from_slice(&values[i]);
            }
            (Gen::Uuid | Gen::RandHex { .. }, None) => unreachable!("always fixed-width"),
        }
    }

    fn next_seq(&mut self) -> u64 {
        let value = self.seq * self.workers + self.worker;
        self.seq += 1;
        value
    }

    fn rand_in(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.wrapping_sub(lo).wrapping_add(1);
        if span == 0 {
            self.next_u64()
        } else {
            lo + self.next_u64() % span
        }
    }

    /// The next index of a pick: random, or this worker's next in the column's cycle (worker w
    /// of n takes w, w+n, w+2n, …, so the workers together walk the column in order).
    fn pick_index(&mut self, cursor: usize, len: usize, random: bool) -> usize {
        if random {
            return (self.next_u64() % len as u64) as usize;
        }
        if self.pick_cursors.len() <= cursor {
            self.pick_cursors.resize(cursor + 1, u64::MAX);
        }
        let c = &mut self.pick_cursors[cursor];
        if *c == u64::MAX {
            *c = self.worker;
        }
        let i = *c % len as u64;
        *c += self.workers;
        i as usize
    }

    /// Writes a fresh value into `slot`, exactly `gen.fixed_width()` bytes (fixed-width only).
    pub fn fill(&mut self, generator: &Gen, slot: &mut [u8]) {
        match generator {
            Gen::Uuid => {
                let (a, b) = (self.next_u64(), self.next_u64());
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&a.to_le_bytes());
                bytes[8..].copy_from_slice(&b.to_le_bytes());
                bytes[6] = (bytes[6] & 0x0f) | 0x40;
                bytes[8] = (bytes[8] & 0x3f) | 0x80;
                let mut j = 0;
                for (i, byte) in bytes.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        slot[j] = b'-';
                        j += 1;
                    }
                    slot[j] = HEX[(byte >> 4) as usize];
                    slot[j + 1] = HEX[(byte & 0xf) as usize];
                    j += 2;
                }
            }
            Gen::Seq { .. } => {
                let value = self.next_seq();
                write_padded(value, slot.len(), slot);
            }
            Gen::RandInt { lo, hi, .. } => {
                let value = self.rand_in(*lo, *hi);
                write_padded(value, slot.len(), slot);
            }
            Gen::RandHex { .. } => {
                let mut bits = 0u64;
                for (i, b) in slot.iter_mut().enumerate() {
                    if i % 16 == 0 {
                        bits = self.next_u64();
                    }
                    *b = HEX[(bits & 0xf) as usize];
                    bits >>= 4;
                }
            }
            Gen::Pick {
                values,
                random,
                cursor,
                ..
            } => {
                let i = self.pick_index(*cursor, values.len(), *random);
                slot.copy_from_slice(&values[i]);
            }
        }
    }
}

/// Appends `value` in plain decimal.
pub fn push_decimal(mut value: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Writes `value` as decimal, zero-padded to `width` (keeping the low digits if it is wider).
fn write_padded(mut value: u64, width: usize, slot: &mut [u8]) {
    for b in slot[..width].iter_mut().rev() {
        *b = b'0' + (value % 10) as u8;
        value /= 10;
    }
}
