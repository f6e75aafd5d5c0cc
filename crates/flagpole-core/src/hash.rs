//! MurmurHash3 x86_32, fed incrementally so `"{group_id}:{value}"` is hashed without
//! building the string, and the state after `"{group_id}:"` can be computed once at
//! compile time. Buckets are Unleash's: `hash % modulus + 1`.

/// Seed Unleash uses when choosing a variant.
pub const VARIANT_SEED: u32 = 86_028_157;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// An incremental MurmurHash3 x86_32 state.
#[derive(Clone, Copy, Debug)]
pub struct Murmur3 {
    h: u32,
    tail: u32,
    tail_len: u32,
    len: u32,
}

impl Murmur3 {
    pub fn new(seed: u32) -> Murmur3 {
        Murmur3 {
            h: seed,
            tail: 0,
            tail_len: 0,
            len: 0,
        }
    }

    /// The state after hashing `"{group}:"` with `seed`.
    pub fn with_prefix(group: &str, seed: u32) -> Murmur3 {
        let mut m = Murmur3::new(seed);
        m.write(group.as_bytes());
        m.write(b":");
        m
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len() as u32);
        let mut rest = bytes;
        // Fill a pending partial block first.
        while self.tail_len != 0 {
            let Some((&b, tail)) = rest.split_first() else {
                return;
            };
            self.tail |= (b as u32) << (8 * self.tail_len);
            self.tail_len += 1;
            rest = tail;
            if self.tail_len == 4 {
                self.mix(self.tail);
                self.tail = 0;
                self.tail_len = 0;
            }
        }
        let mut chunks = rest.chunks_exact(4);
        for c in &mut chunks {
            self.mix(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        for (i, &b) in chunks.remainder().iter().enumerate() {
            self.tail |= (b as u32) << (8 * i);
        }
        self.tail_len = chunks.remainder().len() as u32;
    }

    fn mix(&mut self, k: u32) {
        let k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        self.h = (self.h ^ k)
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }

    pub fn finish(mut self) -> u32 {
        if self.tail_len != 0 {
            let k = self.tail.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
            self.h ^= k;
        }
        let mut h = self.h ^ self.len;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^= h >> 16;
        h
    }

    /// Continues from this prefix state with `value` and normalises to `1..=modulus`.
    pub fn bucket(&self, value: &str, modulus: u32) -> u32 {
        let mut m = *self;
        m.write(value.as_bytes());
        m.finish() % modulus + 1
    }
}

/// Unleash's normalised bucket of `value` in `group`: `murmur3("{group}:{value}", seed) %
/// modulus + 1`.
pub fn normalized_hash(group: &str, value: &str, modulus: u32, seed: u32) -> u32 {
    Murmur3::with_prefix(group, seed).bucket(value, modulus)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_shot(bytes: &[u8], seed: u32) -> u32 {
        let mut m = Murmur3::new(seed);
        m.write(bytes);
        m.finish()
    }

    #[test]
    fn known_vectors() {
        // Reference values of MurmurHash3_x86_32.
        assert_eq!(one_shot(b"", 0), 0);
        assert_eq!(one_shot(b"", 1), 0x514e_28b7);
        assert_eq!(one_shot(b"test", 0), 0xba6b_d213);
        assert_eq!(one_shot(b"Hello, world!", 1234), 0xfaf6_cdb3);
        assert_eq!(
            one_shot(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
    }

    #[test]
    fn incremental_equals_one_shot_for_every_split() {
        let text = b"some-group-id:user-123456789";
        for split in 0..=text.len() {
            for split2 in split..=text.len() {
                let mut m = Murmur3::new(7);
                m.write(&text[..split]);
                m.write(&text[split..split2]);
                m.write(&text[split2..]);
                assert_eq!(m.finish(), one_shot(text, 7));
            }
        }
    }

    #[test]
    fn normalized_buckets() {
        // Cross-checked with an independent MurmurHash3 implementation.
        assert_eq!(normalized_hash("groupId", "123", 100, 0), 42);
        assert_eq!(normalized_hash("groupId", "999", 100, 0), 2);
        assert_eq!(normalized_hash("groupId", "123", 1000, VARIANT_SEED), 548);
    }
}
