//! ringblast: a thread-per-core io_uring HTTP/1.1 load generator that measures exactly.
//! The crate is layered CLI → plan → engine (per-core workers over a backend) → stats → reports.
#![deny(unsafe_code)]

pub mod app;
pub mod assertions;
pub mod cli;
pub mod compare;
pub mod demo;
pub mod engine;
pub mod error;
pub mod hdr;
pub mod http;
pub mod io;
pub mod kernel;
pub mod kstats;
pub mod load;
pub mod locust;
pub mod locustfile;
pub mod merge;
pub mod metrics;
pub mod output;
pub mod peak;
pub mod pipeline;
pub mod plan;
pub mod proto;
pub mod redact;
pub mod report;
pub mod rng;
pub mod rounds;
pub mod routes;
pub mod scenario;
pub mod serve;
pub mod stats;
pub mod sys;
pub mod target;
pub mod tls;
pub mod units;
pub mod verdict;
