//! Incremental decoder for `Transfer-Encoding: chunked` framing, with extensions and trailers.
//! It only finds where the body ends; the bytes of the body are skipped, never copied.

/// Where the decoder is inside a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size {
        value: u64,
        digits: u8,
    },
    /// After the size: whitespace or a `;ext=...` until the line ends.
    Extension,
    /// Saw CR at the end of the size line.
    SizeLf {
        value: u64,
    },
    /// Inside chunk data.
    Data {
        remaining: u64,
    },
    /// After chunk data: expecting CR LF.
    DataCr,
    DataLf,
    /// Trailer section: `len` bytes into the current line; `cr` if the last byte was CR.
    Trailer {
        len: usize,
        cr: bool,
    },
    Done,
}

/// Decodes chunked framing across arbitrary splits of the input.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    pending_size: u64,
    trailer_bytes: usize,
    data: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a chunked body was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedError(pub &'static str);

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self {
            state: State::Size {
                value: 0,
                digits: 0,
            },
            pending_size: 0,
            trailer_bytes: 0,
            data: 0,
        }
    }

    /// Consumes framing from `input`; returns the bytes used and whether the body ended.
    pub fn advance(&mut self, input: &[u8]) -> Result<(usize, bool), ChunkedError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Size { value, digits } => {
                    if let Some(d) = (b as char).to_digit(16) {
                        if digits >= 15 {
                            return Err(ChunkedError("chunk size too large"));
                        }
                        self.state = State::Size {
                            value: value * 16 + u64::from(d),
                            digits: digits + 1,
                        };
                    } else if digits == 0 {
                        return Err(ChunkedError("chunk size missing"));
                    } else {
                        self.pending_size = value;
                        self.state = match b {
                            b'\r' => State::SizeLf { value },
                            b'\n' => self.after_size_line(value),
                            b';' | b' ' | b'\t' => State::Extension,
                            _ => return Err(ChunkedError("bad character in chunk size")),
                        };
                    }
                    i += 1;
                }
                State::Extension => {
                    match b {
                        b'\r' => {
                            self.state = State::SizeLf {
                                value: self.pending_size,
                            }
                        }
                        b'\n' => self.state = self.after_size_line(self.pending_size),
                        _ => {}
                    }
                    i += 1;
                }
                State::SizeLf { value } => {
                    if b != b'\n' {
                        return Err(ChunkedError("chunk size line not ended by LF"));
                    }
                    self.state = self.after_size_line(value);
                    i += 1;
                }
                State::Data { remaining } => {
                    let take = remaining.min((input.len() - i) as u64);
                    i += take as usize;
                    self.data += take;
                    let left = remaining - take;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining: left }
                    };
                }
                State::DataCr => {
                    self.state = match b {
                        b'\r' => State::DataLf,
                        b'\n' => State::Size {
                            value: 0,
                            digits: 0,
                        },
                        _ => return Err(ChunkedError("chunk data not followed by CRLF")),
                    };
                    i += 1;
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ChunkedError("chunk data not followed by CRLF"));
                    }
                    self.state = State::Size {
                        value: 0,
                        digits: 0,
                    };
                    i += 1;
                }
                State::Trailer { len, cr } => {
                    i += 1;
                    self.trailer_bytes += 1;
                    if self.trailer_bytes > super::MAX_HEAD {
                        return Err(ChunkedError("trailer section too large"));
                    }
                    match b {
                        b'\n' if len == 0 => {
                            self.state = State::Done;
                            return Ok((i, true));
                        }
                        b'\n' => self.state = State::Trailer { len: 0, cr: false },
                        b'\r' if len == 0 && !cr => {
                            self.state = State::Trailer { len: 0, cr: true }
                        }
                        _ => {
                            let len = if cr { 1 } else { len };
                            self.state = State::Trailer {
                                len: len + 1,
                                cr: false,
                            };
                        }
                    }
                }
                State::Done => return Ok((i, true)),
            }
        }
        Ok((i, self.state == State::Done))
    }

    /// Body bytes (chunk data, framing excluded) seen so far.
    pub fn data_bytes(&self) -> u64 {
        self.data
    }

    fn after_size_line(&self, value: u64) -> State {
        if value == 0 {
            State::Trailer { len: 0, cr: false }
        } else {
            State::Data { remaining: value }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_split(body: &[u8], split: usize) -> Result<usize, ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let (a, done) = d.advance(&body[..split])?;
        assert_eq!(a, split.min(a));
        if done {
            return Ok(a);
        }
        let (b, done) = d.advance(&body[split..])?;
        assert!(done, "not done after all input");
        Ok(a + b)
    }

    #[test]
    fn every_split_point() {
        let body = b"4;name=val\r\nWiki\r\n5\r\npedia\r\nE \r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nNEXT";
        let end = body.len() - 4;
        for split in 0..=end {
            assert_eq!(decode_split(body, split).unwrap(), end, "split at {split}");
        }
    }

    #[test]
    fn byte_at_a_time_and_bare_lf() {
        let body = b"3\nabc\n0\n\n";
        let mut d = ChunkedDecoder::new();
        for (i, b) in body.iter().enumerate() {
            let (n, done) = d.advance(std::slice::from_ref(b)).unwrap();
            assert_eq!(n, 1);
            assert_eq!(done, i == body.len() - 1);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(ChunkedDecoder::new().advance(b"zz\r\n").is_err());
        assert!(ChunkedDecoder::new().advance(b"3\r\nabcX").is_err());
        assert!(
            ChunkedDecoder::new()
                .advance(b"ffffffffffffffffff\r\n")
                .is_err()
        );
        assert!(ChunkedDecoder::new().advance(b"\r\n").is_err());
    }
}
