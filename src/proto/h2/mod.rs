//! HTTP/2's wire pieces (RFC 9113, RFC 7541): frames, HPACK and its Huffman code, as pure code
//! with no I/O; the client's connection state on the protocol seam, and the built-in target's.

pub mod client;
pub mod exchange;
pub mod frame;
pub mod hpack;
pub mod huffman;
pub mod memo;
pub mod server;
mod tables;
