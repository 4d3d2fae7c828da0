//! `locust-worker`: the control plane of a worker of a real Locust master (`control.rs`), over
//! ZeroMQ's ZMTP 3.0 as a DEALER (`zmtp.rs`) carrying MessagePack (`msgpack.rs`), and its stats.

pub mod control;
pub mod msgpack;
pub mod stats;
pub mod zmtp;
