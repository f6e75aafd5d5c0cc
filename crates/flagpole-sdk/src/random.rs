//! The SDK's random source: SplitMix64 per thread, seeded once from the OS, for random
//! stickiness in evaluation and the jitter of reconnection delays.

use std::cell::Cell;

use flagpole_core::{RandomSource, SplitMix64};

/// Random stickiness: SplitMix64 per thread, seeded once from the OS.
pub(crate) struct ThreadRng;

impl RandomSource for ThreadRng {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        RNG.with(|cell| {
            let mut state = cell.get();
            if state == 0 {
                state = getrandom::u64().unwrap_or(0x853c_49e6_748f_ea9b) | 1;
            }
            let mut rng = SplitMix64(state);
            let value = rng.next_u64();
            cell.set(rng.0);
            value
        })
    }
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}
