//! The random source evaluation is given for random stickiness. The core never seeds
//! itself: callers pass entropy (the server) or a fixed seed (tests).

/// Uniform random numbers for random stickiness.
pub trait RandomSource {
    fn next_u64(&mut self) -> u64;

    /// A uniform number in `0..n` (`n > 0`).
    fn below(&mut self, n: u32) -> u32 {
        // Lemire's multiply-shift; the bias is below 2^-32 for these small ranges.
        ((self.next_u64() >> 32).wrapping_mul(n as u64) >> 32) as u32
    }
}

/// SplitMix64: small, fast, and good enough for bucketing.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl RandomSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = SplitMix64(1);
        let mut seen = [false; 100];
        for _ in 0..10_000 {
            let x = r.below(100);
            assert!(x < 100);
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
