//! Names the kernel's packet-drop reasons from its own BTF (/sys/kernel/btf/vmlinux), because
//! `enum skb_drop_reason` is renumbered between kernels. Reads BTF only; loads nothing.

use std::collections::BTreeMap;

const MAGIC: u16 = 0xeb9f;
const KIND_ENUM: u32 = 6;
const KIND_ENUM64: u32 = 19;

/// The members of the enum `name` in the BTF blob, by value, or None if it has no such enum.
pub fn enum_members(btf: &[u8], name: &str) -> Option<BTreeMap<u64, String>> {
    let u16_at = |o: usize| btf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        btf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if u16_at(0)? != MAGIC {
        return None;
    }
    let hdr_len = u32_at(4)? as usize;
    let (type_off, type_len) = (u32_at(8)? as usize, u32_at(12)? as usize);
    let (str_off, str_len) = (u32_at(16)? as usize, u32_at(20)? as usize);
    let strings = btf.get(hdr_len + str_off..hdr_len + str_off + str_len)?;
    let string = |off: u32| -> Option<&str> {
        let s = strings.get(off as usize..)?;
        let end = s.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&s[..end]).ok()
    };
    let (mut at, end) = (hdr_len + type_off, hdr_len + type_off + type_len);
    while at + 12 <= end {
        let (name_off, info) = (u32_at(at)?, u32_at(at + 4)?);
        let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        let members = at + 12;
        let extra = match kind {
            1 | 14 | 17 => 4,
            3 => 12,
            4 | 5 | 15 => 12 * vlen,
            6 | 13 => 8 * vlen,
            19 => 12 * vlen,
            2 | 7..=12 | 16 | 18 => 0,
            _ => return None,
        };
        if (kind == KIND_ENUM || kind == KIND_ENUM64) && string(name_off) == Some(name) {
            let mut out = BTreeMap::new();
            let step = if kind == KIND_ENUM { 8 } else { 12 };
            for i in 0..vlen {
                let m = members + i * step;
                let value = if kind == KIND_ENUM {
                    u64::from(u32_at(m + 4)?)
                } else {
                    u64::from(u32_at(m + 4)?) | (u64::from(u32_at(m + 8)?) << 32)
                };
                out.insert(value, string(u32_at(m)?)?.to_string());
            }
            return Some(out);
        }
        at = members + extra;
    }
    None
}

/// The running kernel's drop reasons by number, short names (`NO_SOCKET`, not
/// `SKB_DROP_REASON_NO_SOCKET`); empty if the kernel has no BTF or no such enum.
pub fn drop_reasons() -> BTreeMap<u64, String> {
    std::fs::read("/sys/kernel/btf/vmlinux")
        .ok()
        .and_then(|b| enum_members(&b, "skb_drop_reason"))
        .unwrap_or_default()
        .into_iter()
        .map(|(v, n)| {
            let short = n
                .strip_prefix("SKB_DROP_REASON_")
                .or_else(|| n.strip_prefix("SKB_"))
                .unwrap_or(&n)
                .to_string();
            (v, short)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF blob with an INT, then `enum e { A = 1, B = 7 }`.
    fn blob() -> Vec<u8> {
        let strings = b"\0int\0e\0A\0B\0";
        let mut types = Vec::new();
        let mut put = |v: u32| types.extend_from_slice(&v.to_le_bytes());
        put(1); // "int"
        put(1 << 24);
        put(4);
        put(32); // INT's extra word
        put(5); // "e"
        put((KIND_ENUM << 24) | 2);
        put(4);
        put(7); // "A"
        put(1);
        put(9); // "B"
        put(7);
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC.to_le_bytes());
        b.extend_from_slice(&[1, 0]);
        for v in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strings.len() as u32,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&types);
        b.extend_from_slice(strings);
        b
    }

    #[test]
    fn finds_enum_members_after_other_types() {
        let m = enum_members(&blob(), "e").unwrap();
        assert_eq!(m.get(&1).map(String::as_str), Some("A"));
        assert_eq!(m.get(&7).map(String::as_str), Some("B"));
        assert!(enum_members(&blob(), "f").is_none());
        assert!(enum_members(b"junk", "e").is_none());
    }

    #[test]
    fn this_kernel_names_no_socket() {
        // Every kernel with drop reasons (5.17+) and BTF has NO_SOCKET; others have none.
        let r = drop_reasons();
        if !r.is_empty() {
            assert!(r.values().any(|n| n == "NO_SOCKET"), "{r:?}");
        }
    }
}
