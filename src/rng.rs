//! The one small PRNG for values that need only to look random: think times and the mock API's
//! delays and error rates (xorshift64; the request generators use splitmix64, see templates).

/// Advances `state` (never zero) and returns the next value.
#[inline]
pub fn xorshift64(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
