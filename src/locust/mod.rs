//! The transport of Locust's master/worker protocol, for a future `locust-worker` command:
//! ZeroMQ's ZMTP 3.0 as a DEALER (`zmtp.rs`) carrying MessagePack messages (`msgpack.rs`).

pub mod msgpack;
pub mod stats;
pub mod worker;
pub mod zmtp;
