//! What a locustfile may be before it is parsed: its size and its brackets' nesting, bounded so
//! a crafted file gets a one-line error instead of exhausting the parser's stack.

use std::path::Path;

use crate::error::FileError;

/// The largest file read: locustfiles are kilobytes, and this bounds the parser's work.
pub const MAX_BYTES: usize = 256 << 10;
/// CPython's parser refuses brackets nested deeper than this.
pub const MAX_NESTING: usize = 200;
/// The reader's stack: the deepest tree a bounded file can hold (an operator chain as long as
/// the file allows) with room to spare. Reserved address space; pages are used as it deepens.
pub const STACK: usize = 256 << 20;

/// A one-line error when the file is too large, or nests brackets too deep.
pub fn check(text: &str, path: &Path) -> Result<(), FileError> {
    if text.len() > MAX_BYTES {
        return Err(FileError::new(
            path,
            None,
            format!(
                "{} bytes is more than a locustfile may be ({MAX_BYTES})",
                text.len()
            ),
        ));
    }
    if let Some(line) = too_deep(text) {
        return Err(FileError::new(
            path,
            Some(line),
            format!("brackets nested deeper than {MAX_NESTING} levels (Python refuses them too)"),
        ));
    }
    Ok(())
}

/// The line where brackets first nest deeper than `MAX_NESTING`, outside strings and comments.
fn too_deep(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let (mut i, mut depth, mut line) = (0, 0usize, 1);
    while i < b.len() {
        match b[i] {
            b'\n' => line += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            q @ (b'"' | b'\'') => {
                let triple = b.get(i..i + 3) == Some(&[q, q, q][..]);
                let close: &[u8] = if triple { &[q, q, q] } else { &[q] };
                i += close.len();
                while i < b.len() && !b[i..].starts_with(close) {
                    if b[i] == b'\\' {
                        i += 1;
                    } else if b[i] == b'\n' {
                        line += 1;
                        if !triple {
                            break;
                        }
                    }
                    i += 1;
                }
                i += close.len();
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(line);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_outside_strings_and_comments() {
        let deep = format!("x = {}1{}\\n", "(".repeat(201), ")".repeat(201));
        assert_eq!(too_deep(&format!("a = 1\n{deep}")), Some(2));
        let fine = format!("x = {}1{}\n", "[".repeat(200), "]".repeat(200));
        assert_eq!(too_deep(&fine), None);
        let quoted = format!(
            "s = '{}'\n# {}\nt = \"\"\"{}\n\"\"\"\n",
            "(".repeat(500),
            "{".repeat(500),
            "[".repeat(500)
        );
        assert_eq!(too_deep(&quoted), None);
        assert!(check(&"#".repeat(MAX_BYTES + 1), Path::new("f.py")).is_err());
    }
}
