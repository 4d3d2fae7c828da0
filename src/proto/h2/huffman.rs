//! HPACK's Huffman code (RFC 7541 §5.2, Appendix B): encoding a string, and decoding one with
//! its padding checked. Pure; the decoding tree is built once per process.

use std::sync::OnceLock;

use super::tables::HUFFMAN;

/// The encoded length in bytes of `s`.
pub fn encoded_len(s: &[u8]) -> usize {
    let bits: usize = s
        .iter()
        .map(|&b| usize::from(HUFFMAN[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends the code of `s`, padded with the most significant bits of end-of-string (ones).
pub fn encode(s: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &b in s {
        let (code, len) = HUFFMAN[usize::from(b)];
        acc = (acc << len) | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1u64 << bits) - 1;
    }
    if bits > 0 {
        let pad = 8 - bits;
        out.push(((acc << pad) | ((1u64 << pad) - 1)) as u8);
    }
}

/// A node of the decoding tree: children by bit, each a node index or a symbol.
#[derive(Clone, Copy)]
enum Child {
    None,
    Node(u16),
    Symbol(u16),
}

fn tree() -> &'static Vec<[Child; 2]> {
    static TREE: OnceLock<Vec<[Child; 2]>> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut nodes = vec![[Child::None; 2]];
        for (sym, &(code, len)) in HUFFMAN.iter().enumerate() {
            let mut at = 0usize;
            for i in (0..len).rev() {
                let bit = ((code >> i) & 1) as usize;
                if i == 0 {
                    nodes[at][bit] = Child::Symbol(sym as u16);
                } else {
                    at = match nodes[at][bit] {
                        Child::Node(n) => usize::from(n),
                        _ => {
                            nodes.push([Child::None; 2]);
                            let n = nodes.len() - 1;
                            nodes[at][bit] = Child::Node(n as u16);
                            n
                        }
                    };
                }
            }
        }
        nodes
    })
}

/// One step of the decoder: where four more bits lead from a node, and what they emit.
#[derive(Clone, Copy, Default)]
struct Step {
    next: u16,
    /// The symbol the bits completed (at most one: the shortest code is 5 bits), or NONE.
    sym: u16,
    /// The bits are not a code (FAIL_CODE) or reach end-of-string (FAIL_EOS); 0 otherwise.
    fail: u8,
}

const NONE: u16 = u16::MAX;
const FAIL_CODE: u8 = 1;
const FAIL_EOS: u8 = 2;

/// The decoder's table, built once from the tree: for each node and each nibble, the step; and
/// for each node, whether a string may end there (it is the root, or at most 7 bits from it,
/// all ones: the padding RFC 7541 §5.2 allows).
struct Table {
    steps: Vec<[Step; 16]>,
    may_end: Vec<bool>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let tree = tree();
        let mut steps = vec![[Step::default(); 16]; tree.len()];
        for (node, row) in steps.iter_mut().enumerate() {
            for (nibble, step) in row.iter_mut().enumerate() {
                let (mut at, mut sym) = (node, NONE);
                for i in (0..4).rev() {
                    match tree[at][(nibble >> i) & 1] {
                        Child::Node(n) => at = usize::from(n),
                        Child::Symbol(256) => {
                            step.fail = FAIL_EOS;
                            break;
                        }
                        Child::Symbol(s) => {
                            sym = s;
                            at = 0;
                        }
                        Child::None => {
                            step.fail = FAIL_CODE;
                            break;
                        }
                    }
                }
                step.next = at as u16;
                step.sym = sym;
            }
        }
        // Walk the all-ones path from the root: the nodes up to 7 bits down may end a string.
        let mut may_end = vec![false; tree.len()];
        may_end[0] = true;
        let mut at = 0usize;
        for _ in 0..7 {
            match tree[at][1] {
                Child::Node(n) => {
                    at = usize::from(n);
                    may_end[at] = true;
                }
                _ => break,
            }
        }
        Table { steps, may_end }
    })
}

/// Decodes `input` into `out`, four bits a step. Errors (a compression error, RFC 7541 §5.2):
/// the end-of-string symbol in the data, padding longer than 7 bits, or padding that is not all
/// ones.
pub fn decode(input: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    let t = table();
    let mut at = 0usize;
    for &byte in input {
        for nibble in [byte >> 4, byte & 0xf] {
            let step = t.steps[at][usize::from(nibble)];
            match step.fail {
                0 => {}
                FAIL_EOS => return Err("HPACK: end-of-string inside a Huffman string"),
                _ => return Err("HPACK: not a Huffman code"),
            }
            if step.sym != NONE {
                out.push(step.sym as u8);
            }
            at = usize::from(step.next);
        }
    }
    if !t.may_end[at] {
        return Err("HPACK: bad Huffman padding");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit-at-a-time decoder this module had first, kept as the reference. Errors (a compression error, RFC 7541 §5.2): the end-of-string
    /// symbol in the data, padding longer than 7 bits, or padding that is not all ones.
    fn decode_bits(input: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
        let tree = tree();
        let mut at = 0usize;
        // Bits read since the last symbol, and whether all of them were ones.
        let (mut pending, mut ones) = (0u32, true);
        for &byte in input {
            for i in (0..8).rev() {
                let bit = usize::from((byte >> i) & 1);
                pending += 1;
                ones &= bit == 1;
                match tree[at][bit] {
                    Child::Node(n) => at = usize::from(n),
                    Child::Symbol(256) => {
                        return Err("HPACK: end-of-string inside a Huffman string");
                    }
                    Child::Symbol(s) => {
                        out.push(s as u8);
                        at = 0;
                        pending = 0;
                        ones = true;
                    }
                    Child::None => return Err("HPACK: not a Huffman code"),
                }
            }
        }
        if pending > 7 || !ones {
            return Err("HPACK: bad Huffman padding");
        }
        Ok(())
    }

    #[test]
    fn the_table_decoder_agrees_with_the_bit_decoder_on_any_bytes() {
        // Every string of up to 2 bytes, and pseudo-random longer ones, valid or not.
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for a in 0..=255u8 {
            inputs.push(vec![a]);
            for b in 0..=255u8 {
                inputs.push(vec![a, b]);
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 3..40 {
            for _ in 0..200 {
                let mut v = Vec::new();
                for _ in 0..len {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    v.push(x as u8);
                }
                inputs.push(v.clone());
                // And the encoding of those bytes, which is valid.
                let mut e = Vec::new();
                encode(&v, &mut e);
                inputs.push(e);
            }
        }
        for input in inputs {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let (ra, rb) = (decode(&input, &mut a), decode_bits(&input, &mut b));
            assert_eq!(ra, rb, "{input:x?}");
            if ra.is_ok() {
                assert_eq!(a, b, "{input:x?}");
            }
        }
    }

    #[test]
    fn rfc_7541_examples_and_round_trips() {
        // C.4.1: "www.example.com" is f1e3 c2e5 f23a 6ba0 ab90 f4ff.
        let mut out = Vec::new();
        encode(b"www.example.com", &mut out);
        assert_eq!(
            out,
            [
                0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff
            ]
        );
        assert_eq!(encoded_len(b"www.example.com"), 12);
        // C.4.2: "no-cache" is a8eb 1064 9cbf.
        out.clear();
        encode(b"no-cache", &mut out);
        assert_eq!(out, [0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]);
        let mut back = Vec::new();
        decode(&out, &mut back).unwrap();
        assert_eq!(back, b"no-cache");
        // Every byte value, and the empty string.
        let all: Vec<u8> = (0..=255).collect();
        out.clear();
        encode(&all, &mut out);
        back.clear();
        decode(&out, &mut back).unwrap();
        assert_eq!(back, all);
        back.clear();
        decode(&[], &mut back).unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn bad_padding_and_end_of_string_are_errors() {
        // 'a' is 00011 (5 bits): padded with zeros instead of ones.
        assert!(decode(&[0b0001_1000], &mut Vec::new()).is_err());
        // A whole byte of padding after a symbol.
        assert!(decode(&[0b0001_1111, 0xff], &mut Vec::new()).is_err());
        // End-of-string (30 ones) inside the data.
        assert!(decode(&[0xff, 0xff, 0xff, 0xff], &mut Vec::new()).is_err());
    }
}
