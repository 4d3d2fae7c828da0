//! The only module with unsafe code: raw sockets, rlimits, the io_uring ring and its buffers,
//! and epoll. Everything it exports is safe to call; each unsafe block states why it is sound.
#![allow(unsafe_code)]

mod bufring;
pub mod epoll;
pub mod probe;
pub mod ring;
pub mod socket;

pub use probe::{UringSupport, probe_uring};

/// Raises the open-files soft limit to at least `need`; returns (soft, hard) on failure.
pub fn raise_nofile(need: u64) -> Result<(), (u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass; it lives on our stack for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err((0, 0));
    }
    if lim.rlim_cur >= need {
        return Ok(());
    }
    if lim.rlim_max < need {
        return Err((lim.rlim_cur, lim.rlim_max));
    }
    let want = libc::rlimit {
        rlim_cur: need.max(lim.rlim_cur),
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } != 0 {
        return Err((lim.rlim_cur, lim.rlim_max));
    }
    Ok(())
}

/// The last OS error number.
pub(crate) fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// CPU-seconds (user + system) the calling thread has used so far.
pub fn thread_cpu_seconds() -> f64 {
    cpu_seconds(libc::RUSAGE_THREAD)
}

/// CPU-seconds (user + system) the whole process has used so far.
pub fn process_cpu_seconds() -> f64 {
    cpu_seconds(libc::RUSAGE_SELF)
}

fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: rusage is plain old data; getrusage fills the struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD or RUSAGE_SELF with a valid pointer has no other preconditions.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
