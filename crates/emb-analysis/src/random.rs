//! A small, seeded, reproducible random number generator (xoshiro256++ seeded by splitmix64):
//! every randomised algorithm here takes a seed, so the same input and seed give the same
//! result on every machine.

/// A seeded pseudo-random generator; not for cryptography.
#[derive(Clone, Debug)]
pub struct Random {
    state: [u64; 4],
}

impl Random {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut mix = seed;
        let mut next = || {
            mix = mix.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = mix;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self { state: [next(), next(), next(), next()] }
    }

    /// A generator for the `stream`-th independent task of a parallel job seeded with `seed`.
    pub fn stream(seed: u64, stream: u64) -> Self {
        Self::new(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03).rotate_left(17))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let [a, b, c, d] = &mut self.state;
        let result = a.wrapping_add(*d).rotate_left(23).wrapping_add(*a);
        let t = *b << 17;
        *c ^= *a;
        *d ^= *b;
        *b ^= *c;
        *a ^= *d;
        *c ^= t;
        *d = d.rotate_left(45);
        result
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1_u64 << 53) as f64)
    }

    /// A uniform float in `[0, 1)`, single precision.
    pub fn unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1_u32 << 24) as f32)
    }

    /// A uniform integer in `0..bound` (`bound > 0`), without modulo bias.
    pub fn below(&mut self, bound: usize) -> usize {
        let bound = bound as u64;
        let zone = u64::MAX - u64::MAX % bound;
        loop {
            let value = self.next_u64();
            if value < zone {
                return (value % bound) as usize;
            }
        }
    }

    /// A standard normal sample (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_another_seed_another() {
        let first: Vec<u64> = (0..5)
            .map({
                let mut random = Random::new(7);
                move |_| random.next_u64()
            })
            .collect();
        let mut again = Random::new(7);
        assert!(first.iter().all(|&value| value == again.next_u64()));
        assert_ne!(Random::new(8).next_u64(), first[0]);
    }

    #[test]
    fn samples_fall_in_range_with_the_expected_moments() {
        let mut random = Random::new(1);
        let count = 100_000;
        let mut counts = [0_usize; 10];
        let (mut sum, mut squares) = (0.0, 0.0);
        for _ in 0..count {
            counts[random.below(10)] += 1;
            let unit = random.unit();
            assert!((0.0..1.0).contains(&unit));
            let normal = random.normal();
            sum += normal;
            squares += normal * normal;
        }
        assert!(counts.iter().all(|&c| (9_000..11_000).contains(&c)), "{counts:?}");
        let mean = sum / f64::from(count);
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((squares / f64::from(count) - 1.0).abs() < 0.03);
    }
}
