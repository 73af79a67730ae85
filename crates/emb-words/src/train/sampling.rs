//! The random parts of word2vec training: the fast generator every worker draws from, the
//! table that draws negative samples in proportion to `count^exponent`, the down-sampling keep
//! thresholds, and the sigmoid lookup table.

/// The generator's state is kept to 48 bits, as in Java's `Random` (and gensim's `random_int32`).
const STATE_MASK: u64 = (1 << 48) - 1;

/// The linear congruential generator word2vec and gensim draw from:
/// `next = (next × 25214903917 + 11) mod 2⁴⁸`, each draw the state's top 32 bits.
///
/// Poor as random generators go, but one multiply per draw, and what the reference
/// implementations train with. Each training job gets its own, seeded from the settings' seed
/// and the job's number, so a job draws the same numbers whichever thread runs it.
#[derive(Clone, Debug)]
pub(crate) struct Generator {
    state: u64,
}

impl Generator {
    /// A generator for job `stream` of a run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        // splitmix64 of the pair, so neighbouring jobs start far apart.
        let mut mixed = seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self { state: (mixed ^ (mixed >> 31)) & STATE_MASK }
    }

    /// The next 32 random bits.
    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        let value = (self.state >> 16) as u32;
        self.state = (self.state.wrapping_mul(25_214_903_917).wrapping_add(11)) & STATE_MASK;
        value
    }

    /// A number in `0..bound` (`bound > 0`; with word2vec's slight modulo bias).
    #[inline(always)]
    pub fn below(&mut self, bound: usize) -> usize {
        self.next_u32() as usize % bound
    }
}

/// The largest value of the cumulative table (gensim's `domain`).
const DOMAIN: u32 = (1 << 31) - 1;
/// The table's range is cut into `2^BUCKET_BITS` buckets, each knowing the words it can land on.
const BUCKET_BITS: u32 = 16;

/// Draws negative samples: word `i` comes up in proportion to `count_i ^ exponent`.
///
/// Holds gensim's cumulative table (`cum_table`): entry `i` is the rounded share of the first
/// `i + 1` words in `2³¹ - 1`, and a draw is the first entry above a random number below that.
/// The binary search over it starts from a bucket index of the random number's top 16 bits,
/// which narrows it to a few words; the result is the same as a search of the whole table.
#[derive(Clone, Debug)]
pub(crate) struct NegativeTable {
    cumulative: Vec<u32>,
    /// `bucket_starts[k]`: the first word whose cumulative entry is `>= k << shift`.
    bucket_starts: Vec<u32>,
}

impl NegativeTable {
    /// The table of words with these counts (at least one word).
    pub fn new(counts: &[u64], exponent: f64) -> Self {
        let weight = |count: u64| (count as f64).powf(exponent);
        let total: f64 = counts.iter().map(|&count| weight(count)).sum();
        let mut cumulative = Vec::with_capacity(counts.len());
        let mut running = 0.0;
        for &count in counts {
            running += weight(count);
            // Python's round(): halves to even.
            cumulative.push((running / total * f64::from(DOMAIN)).round_ties_even() as u32);
        }
        let shift = 31 - BUCKET_BITS;
        let bucket_starts = (0..=1_u32 << BUCKET_BITS)
            .map(|bucket| cumulative.partition_point(|&entry| entry < bucket << shift) as u32)
            .collect();
        Self { cumulative, bucket_starts }
    }

    /// One word, drawn with the generator (which advances once).
    #[inline(always)]
    pub fn draw(&self, generator: &mut Generator) -> u32 {
        let last = *self.cumulative.last().expect("a non-empty vocabulary");
        let target = generator.next_u32() % last;
        let bucket = (target >> (31 - BUCKET_BITS)) as usize;
        let low = self.bucket_starts[bucket] as usize;
        let high = (self.bucket_starts[bucket + 1] as usize + 1).min(self.cumulative.len());
        (low + self.cumulative[low..high].partition_point(|&entry| entry < target)) as u32
    }

    /// The cumulative table, as gensim's `cum_table`.
    #[cfg(test)]
    pub fn cumulative(&self) -> &[u32] {
        &self.cumulative
    }
}

/// The down-sampling thresholds of gensim's `prepare_vocab`: a word occurring `count` times is
/// kept with probability `(sqrt(count / t) + 1) × t / count` (at most 1), where `t` is
/// `sample × total` (`sample` below 1), or `⌊sample × (3 + √5) / 2⌋` (`sample` 1 or more).
///
/// Each probability is stored as gensim's `sample_int`: `p × (2³² - 1)`, truncated; a word is
/// dropped from a sentence when a random 32-bit draw exceeds it. `sample` 0 keeps every word.
pub(crate) fn keep_thresholds(counts: &[u64], sample: f64) -> Vec<u32> {
    if sample == 0.0 {
        return vec![u32::MAX; counts.len()];
    }
    let total: u64 = counts.iter().sum();
    let threshold = if sample < 1.0 {
        sample * total as f64
    } else {
        (sample * (3.0 + 5.0_f64.sqrt()) / 2.0).trunc()
    };
    counts
        .iter()
        .map(|&count| {
            let count = count as f64;
            let probability = ((count / threshold).sqrt() + 1.0) * (threshold / count);
            (probability.min(1.0) * f64::from(u32::MAX)) as u32
        })
        .collect()
}

/// Dot products at or beyond this are not trained on (the sigmoid is taken as saturated).
pub(crate) const MAX_EXP: f32 = 6.0;
const SIGMOID_SIZE: usize = 1000;
/// Table entries per unit of the dot product: `SIGMOID_SIZE / MAX_EXP / 2` in integer
/// arithmetic, as the C and Cython implementations compute it (83, not 83.3).
const SIGMOID_SCALE: f32 = (SIGMOID_SIZE / MAX_EXP as usize / 2) as f32;

/// The logistic function at 1,000 points of `[-6, 6)`, looked up as word2vec does.
#[derive(Clone, Debug)]
pub(crate) struct Sigmoid {
    values: Box<[f32; SIGMOID_SIZE]>,
}

impl Sigmoid {
    /// The table.
    pub fn new() -> Self {
        let mut values = Box::new([0.0; SIGMOID_SIZE]);
        for (index, value) in values.iter_mut().enumerate() {
            let exponent = (index as f32 / SIGMOID_SIZE as f32 * 2.0 - 1.0) * MAX_EXP;
            let exponential = f64::from(exponent).exp() as f32;
            *value = exponential / (exponential + 1.0);
        }
        Self { values }
    }

    /// `σ(x)` for `x` strictly inside `(-MAX_EXP, MAX_EXP)`.
    #[inline(always)]
    pub fn at(&self, x: f32) -> f32 {
        self.values[((x + MAX_EXP) * SIGMOID_SCALE) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_word2vecs_recurrence() {
        let mut generator = Generator { state: 1 };
        assert_eq!(generator.next_u32(), 0);
        assert_eq!(generator.state, 25_214_903_917 + 11);
        assert_eq!(generator.next_u32(), ((25_214_903_917_u64 + 11) >> 16) as u32);
        let mut first = Generator::new(1, 0);
        let mut again = Generator::new(1, 0);
        let mut other = Generator::new(1, 1);
        let draws: Vec<u32> = (0..4).map(|_| first.next_u32()).collect();
        assert_eq!(draws, (0..4).map(|_| again.next_u32()).collect::<Vec<_>>());
        assert_ne!(draws, (0..4).map(|_| other.next_u32()).collect::<Vec<_>>());
        assert!((0..1000).all(|_| first.below(5) < 5));
    }

    #[test]
    fn the_cumulative_table_is_gensims() {
        // Counts 16, 1 and 81 with exponent 0.5: weights 4, 1 and 9 of 14.
        let table = NegativeTable::new(&[16, 1, 81], 0.5);
        let domain = f64::from(DOMAIN);
        let expected =
            [(4.0 / 14.0 * domain).round_ties_even() as u32, (5.0 / 14.0 * domain) as u32, DOMAIN];
        assert_eq!(table.cumulative()[0], expected[0]);
        assert_eq!(table.cumulative()[2], expected[2]);
        assert!(table.cumulative()[1].abs_diff(expected[1]) <= 1);
    }

    #[test]
    fn negative_samples_follow_count_to_the_three_quarters() {
        let counts: [u64; 5] = [1000, 300, 100, 10, 1];
        let table = NegativeTable::new(&counts, 0.75);
        let mut generator = Generator::new(7, 0);
        let draws = 400_000;
        let mut seen = [0_usize; 5];
        for _ in 0..draws {
            seen[table.draw(&mut generator) as usize] += 1;
        }
        let weights: Vec<f64> = counts.iter().map(|&count| (count as f64).powf(0.75)).collect();
        let total: f64 = weights.iter().sum();
        for (word, weight) in weights.iter().enumerate() {
            let expected = weight / total;
            let observed = seen[word] as f64 / f64::from(draws);
            assert!(
                (observed - expected).abs() < 0.01 * expected.max(0.05),
                "word {word}: drawn {observed:.4} of the time, expected {expected:.4}"
            );
        }
    }

    #[test]
    fn bucketed_draws_equal_a_search_of_the_whole_table() {
        let counts: Vec<u64> = (1..=5000).map(|rank| 1_000_000 / rank).collect();
        let table = NegativeTable::new(&counts, 0.75);
        let mut generator = Generator::new(3, 0);
        let mut check = generator.clone();
        for _ in 0..100_000 {
            let target = check.next_u32() % DOMAIN;
            let whole = table.cumulative.partition_point(|&entry| entry < target) as u32;
            assert_eq!(table.draw(&mut generator), whole);
        }
    }

    #[test]
    fn keep_probabilities_match_hand_computed_values() {
        // 1,000 words in all, sample 0.01: threshold 10. A word seen 40 times is kept with
        // (sqrt(40 / 10) + 1) × 10 / 40 = 0.75; one seen 250 times with (5 + 1) × 0.04 = 0.24;
        // one seen 10 times with (1 + 1) × 1 = 2, so always.
        let thresholds = keep_thresholds(&[250, 40, 10, 700], 0.01);
        let expected = |probability: f64| (probability * f64::from(u32::MAX)) as u32;
        assert_eq!(thresholds[0], expected(0.24));
        assert_eq!(thresholds[1], expected(0.75));
        assert_eq!(thresholds[2], u32::MAX);
        assert_eq!(keep_thresholds(&[250, 40], 0.0), vec![u32::MAX; 2]);
        // sample >= 1 is an absolute count: floor(5 × 2.618...) = 13.
        let absolute = keep_thresholds(&[52], 5.0);
        assert_eq!(absolute[0], expected((2.0 + 1.0) * 13.0 / 52.0));
    }

    #[test]
    fn the_sigmoid_table_is_close_to_the_logistic_function() {
        let sigmoid = Sigmoid::new();
        for x in [-5.9_f32, -2.0, -0.5, 0.0, 0.5, 2.0, 5.9] {
            let exact = 1.0 / (1.0 + (-x).exp());
            assert!((sigmoid.at(x) - exact).abs() < 0.02, "σ({x}) = {}", sigmoid.at(x));
        }
        assert_eq!(sigmoid.at(0.0), sigmoid.values[498]);
    }
}
