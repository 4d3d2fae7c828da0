//! A provided-buffer ring: memory the kernel fills for multishot receives, returned after parsing.
//! Owns two anonymous mappings (the ring entries and the buffers) for the life of its io_uring.

use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::IoUring;
use io_uring::types::BufRingEntry;

/// Anonymous, page-aligned memory that is unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> io::Result<Self> {
        // SAFETY: an anonymous private mapping has no preconditions; failure is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            ptr: ptr.cast(),
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned; nothing refers to them any more
        // (the BufRing that owns this is dropped after its io_uring, see ring::Uring).
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// The buffer ring registered with one io_uring under one buffer group id.
pub struct BufRing {
    entries: Mapping,
    buffers: Mapping,
    count: u16,
    size: usize,
    tail: u16,
}

impl BufRing {
    /// Maps `count` (a power of two) buffers of `size` bytes and registers them.
    pub fn new(ring: &IoUring, count: u16, size: usize, group: u16) -> io::Result<Self> {
        assert!(count.is_power_of_two());
        let entries = Mapping::new(usize::from(count) * std::mem::size_of::<BufRingEntry>())?;
        let buffers = Mapping::new(usize::from(count) * size)?;
        // SAFETY: the entry mapping is page-aligned, sized for `count` entries, and outlives
        // the registration: the ring is dropped before this BufRing (field order in Uring).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(entries.ptr as u64, count, group, 0)?;
        }
        let mut this = Self {
            entries,
            buffers,
            count,
            size,
            tail: 0,
        };
        for bid in 0..count {
            this.recycle(bid);
        }
        this.publish();
        Ok(this)
    }

    /// The first `len` bytes of buffer `bid`, which the kernel has handed back to us.
    pub fn slice(&self, bid: u16, len: usize) -> &[u8] {
        assert!(bid < self.count && len <= self.size);
        // SAFETY: the buffer lies inside the mapping; the kernel wrote it and gave it to us
        // (a completion named it) and will not touch it again until `recycle` returns it.
        unsafe {
            std::slice::from_raw_parts(self.buffers.ptr.add(usize::from(bid) * self.size), len)
        }
    }

    /// Returns buffer `bid` to the kernel (visible after `publish`).
    pub fn recycle(&mut self, bid: u16) {
        assert!(bid < self.count);
        let index = usize::from(self.tail & (self.count - 1));
        // SAFETY: `index` is within the entry mapping; the kernel only reads entries between
        // its head and the published tail, and this slot is past the published tail.
        let entry = unsafe { &mut *self.entries.ptr.cast::<BufRingEntry>().add(index) };
        // SAFETY: buffer `bid` lies inside the buffer mapping.
        let addr = unsafe { self.buffers.ptr.add(usize::from(bid) * self.size) };
        entry.set_addr(addr as u64);
        entry.set_len(self.size as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes recycled buffers visible to the kernel.
    pub fn publish(&self) {
        // SAFETY: the tail field lives in the first entry of the mapped ring; it is a u16
        // the kernel reads with acquire semantics, so a release store publishes the entries.
        unsafe {
            let tail =
                BufRingEntry::tail(self.entries.ptr.cast::<BufRingEntry>()) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }
}
