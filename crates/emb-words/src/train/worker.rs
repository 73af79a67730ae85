//! One training thread: a [`Worker`] takes jobs (groups of sentences), drops frequent words at
//! random, and trains skip-gram or CBOW with negative sampling on what is left, updating the
//! [`Model`]'s shared weights as gensim's `train_batch_sg` / `train_batch_cbow` do.
//!
//! The hot loop allocates nothing: the scratch vectors and the sentence buffer are the
//! worker's, made once. The whole job is compiled for AVX-512, AVX2 and the baseline
//! ([`emb_core::multiversion!`]) so the kernels below are vectorised for the running CPU.

use super::sampling::{Generator, NegativeTable, Sigmoid, MAX_EXP};
use super::shared::{Block, SharedMatrix, LANES};
use super::vocabulary::{Job, TrainingCorpus};
use super::{Architecture, Settings};

/// Everything the threads share: the weights they update and what they only read.
pub(crate) struct Model {
    /// The word vectors being learnt (gensim's `wv.vectors`, word2vec's `syn0`).
    pub input: SharedMatrix,
    /// The output weights of negative sampling (`syn1neg`), starting at zero.
    pub output: SharedMatrix,
    /// The corpus as vocabulary rows, cut into jobs.
    pub corpus: TrainingCorpus,
    /// Each word's down-sampling threshold.
    pub keep: Vec<u32>,
    /// Draws the noise words.
    pub negatives: NegativeTable,
    /// The sigmoid lookup table.
    pub sigmoid: Sigmoid,
    /// How to train.
    pub settings: Settings,
}

/// One thread's scratch space and tally.
pub(crate) struct Worker {
    /// The error accumulated for the input vector(s) of one prediction (gensim's `work`).
    error: Vec<Block>,
    /// CBOW's mean (or sum) of the context vectors (gensim's `neu1`).
    hidden: Vec<Block>,
    /// The current sentence after down-sampling.
    sentence: Vec<u32>,
    /// The word to predict and its noise words, for the current prediction.
    targets: Vec<u32>,
    /// The same for the next prediction.
    next_targets: Vec<u32>,
    /// The window reach of every word of the current sentence.
    reaches: Vec<usize>,
    /// Words trained on so far (after down-sampling).
    pub trained_words: u64,
}

impl Worker {
    /// A worker for rows of `row_blocks` blocks.
    pub fn new(row_blocks: usize) -> Self {
        Self {
            error: vec![Block::ZERO; row_blocks],
            hidden: vec![Block::ZERO; row_blocks],
            sentence: Vec::with_capacity(super::corpus::MAX_SENTENCE_WORDS),
            targets: Vec::new(),
            next_targets: Vec::new(),
            reaches: Vec::with_capacity(super::corpus::MAX_SENTENCE_WORDS),
            trained_words: 0,
        }
    }

    /// Trains on `job` with learning rate `alpha`, drawing from random stream `stream`.
    pub fn train(&mut self, model: &Model, job: &Job, alpha: f32, stream: u64) {
        train_job(self, model, job, alpha, stream);
    }

    /// Skip-gram over one sentence: every word predicts each word of its (randomly shrunk)
    /// window, the context word's input vector against the word's output vector.
    ///
    /// The noise words of each prediction are drawn, and their rows fetched, one prediction
    /// ahead, so that a large vocabulary's cache misses are waited for while the previous
    /// prediction computes.
    #[inline(always)]
    fn skip_gram(&mut self, model: &Model, sentence: &[u32], alpha: f32, random: &mut Generator) {
        self.draw_reaches(model, sentence.len(), random);
        let reaches = std::mem::take(&mut self.reaches);
        let mut pending = None;
        for (position, &word) in sentence.iter().enumerate() {
            for context in window(position, reaches[position], sentence.len()) {
                let context = sentence[context];
                model.input.prefetch(context as usize);
                self.draw_next_targets(model, word, random);
                if let Some(previous) = pending {
                    self.predict(model, previous, alpha);
                }
                std::mem::swap(&mut self.targets, &mut self.next_targets);
                pending = Some(context);
            }
        }
        if let Some(previous) = pending {
            self.predict(model, previous, alpha);
        }
        self.reaches = reaches;
    }

    /// One skip-gram prediction of the current targets from the input vector of `context`,
    /// which moves by the summed error at the end.
    #[inline(always)]
    fn predict(&mut self, model: &Model, context: u32, alpha: f32) {
        fill_zero(&mut self.error);
        // SAFETY: the only slice of the input matrix this thread holds until it returns.
        let input = unsafe { model.input.row_mut(context as usize) };
        learn(model, input, &mut self.error, &self.targets, alpha);
        add(input, &self.error);
    }

    /// Draws every word's window reach, 1 to `window` (gensim too draws a job's reduced
    /// windows before training on it).
    #[inline(always)]
    fn draw_reaches(&mut self, model: &Model, length: usize, random: &mut Generator) {
        let window = model.settings.window;
        self.reaches.clear();
        self.reaches.extend((0..length).map(|_| window - random.below(window)));
    }

    /// Sets the targets of the next prediction: `word`, then the noise words drawn for it (a
    /// draw of `word` itself is skipped, as gensim does), and asks the CPU to fetch their
    /// output rows.
    #[inline(always)]
    fn draw_next_targets(&mut self, model: &Model, word: u32, random: &mut Generator) {
        self.next_targets.clear();
        self.next_targets.push(word);
        for _ in 0..model.settings.negative_samples {
            let target = model.negatives.draw(random);
            if target != word {
                self.next_targets.push(target);
            }
        }
        for &target in &self.next_targets {
            model.output.prefetch(target as usize);
        }
    }

    /// CBOW over one sentence: the context vectors of every word's (randomly shrunk) window,
    /// averaged (or summed), predict the word; each context vector then moves by the error.
    /// Targets are drawn one word ahead, as in [`Self::skip_gram`].
    #[inline(always)]
    fn cbow(&mut self, model: &Model, sentence: &[u32], alpha: f32, random: &mut Generator) {
        if sentence.len() < 2 {
            return; // no word has context, so nothing would move
        }
        self.draw_reaches(model, sentence.len(), random);
        let reaches = std::mem::take(&mut self.reaches);
        let mut pending = None;
        for (position, &word) in sentence.iter().enumerate() {
            self.draw_next_targets(model, word, random);
            if let Some(previous) = pending {
                self.predict_from_context(model, sentence, previous, alpha);
            }
            std::mem::swap(&mut self.targets, &mut self.next_targets);
            pending = Some((position, reaches[position]));
        }
        if let Some(previous) = pending {
            self.predict_from_context(model, sentence, previous, alpha);
        }
        self.reaches = reaches;
    }

    /// One CBOW prediction of the current targets from the context of the word at `position`
    /// whose window reaches `reach` words either side.
    #[inline(always)]
    fn predict_from_context(
        &mut self,
        model: &Model,
        sentence: &[u32],
        (position, reach): (usize, usize),
        alpha: f32,
    ) {
        fill_zero(&mut self.hidden);
        let mut count = 0;
        for context in window(position, reach, sentence.len()) {
            // SAFETY: the only slice of the input matrix this thread holds right now.
            add(&mut self.hidden, unsafe { model.input.row(sentence[context] as usize) });
            count += 1;
        }
        let scale = 1.0 / count as f32;
        if model.settings.cbow_mean {
            scale_by(&mut self.hidden, scale);
        }
        fill_zero(&mut self.error);
        learn(model, &self.hidden, &mut self.error, &self.targets, alpha);
        if !model.settings.cbow_mean {
            // gensim spreads a summed context's error over its words.
            scale_by(&mut self.error, scale);
        }
        for context in window(position, reach, sentence.len()) {
            // SAFETY: the only slice of the input matrix this thread holds right now.
            add(unsafe { model.input.row_mut(sentence[context] as usize) }, &self.error);
        }
    }
}

/// The positions around `position` within `reach` words, inside a sentence of `length` words.
#[inline(always)]
fn window(position: usize, reach: usize, length: usize) -> impl Iterator<Item = usize> {
    let start = position.saturating_sub(reach);
    let end = (position + reach + 1).min(length);
    (start..end).filter(move |&context| context != position)
}

/// The updates of one prediction from `input` (a word vector, or CBOW's context mean): for
/// each target, the first being the word to predict and the rest noise, the error of
/// `σ(input · output)` against the label moves the target's output row and adds to `error`.
/// Dot products beyond ±6 are skipped, as in gensim.
#[inline(always)]
fn learn(model: &Model, input: &[Block], error: &mut [Block], targets: &[u32], alpha: f32) {
    for (index, &target) in targets.iter().enumerate() {
        let label = if index == 0 { 1.0 } else { 0.0 };
        // SAFETY: the only slice of the output matrix this thread holds until the loop turns.
        let output = unsafe { model.output.row_mut(target as usize) };
        let product = dot(input, output);
        if product <= -MAX_EXP || product >= MAX_EXP {
            continue;
        }
        let gradient = (label - model.sigmoid.at(product)) * alpha;
        add_scaled(error, gradient, output);
        add_scaled(output, gradient, input);
    }
}

emb_core::multiversion! {
    /// A whole job, compiled once per SIMD level so that everything inlined into it is
    /// vectorised for the running CPU (the level is looked up once per job).
    fn train_job(worker: &mut Worker, model: &Model, job: &Job, alpha: f32, stream: u64) {
        let mut random = Generator::new(model.settings.seed, stream);
        let mut sentence = std::mem::take(&mut worker.sentence);
        let sampling = model.settings.sample > 0.0;
        for index in job.sentences.clone() {
            let words = model.corpus.sentence(index);
            sentence.clear();
            if sampling {
                // gensim drops a word when a random 32-bit number exceeds its threshold.
                for &word in words {
                    if model.keep[word as usize] >= random.next_u32() {
                        sentence.push(word);
                    }
                }
            } else {
                sentence.extend_from_slice(words);
            }
            worker.trained_words += sentence.len() as u64;
            match model.settings.architecture {
                Architecture::SkipGram => worker.skip_gram(model, &sentence, alpha, &mut random),
                Architecture::Cbow => worker.cbow(model, &sentence, alpha, &mut random),
            }
        }
        worker.sentence = sentence;
    }
}

/// `Σ a[i] × b[i]`, summed lane by lane over the blocks, then across the lanes in a fixed
/// order, so every SIMD level gives the same result.
#[inline(always)]
pub(crate) fn dot(a: &[Block], b: &[Block]) -> f32 {
    let mut sums = [0.0_f32; LANES];
    for (x, y) in a.iter().zip(b) {
        one_block_at_a_time();
        let (x, y) = (x.0, y.0);
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    sum_lanes(&sums)
}

/// The sum of the lanes of a block, pairwise. Kept out of line on purpose: inlined, it leads
/// the compiler's SLP vectoriser to split the whole of [`dot`]'s loop into 2-lane pieces.
#[inline(never)]
fn sum_lanes(sums: &[f32; LANES]) -> f32 {
    let mut sums = *sums;
    let mut width = LANES / 2;
    while width > 0 {
        for lane in 0..width {
            sums[lane] += sums[lane + width];
        }
        width /= 2;
    }
    sums[0]
}

/// `y += scale × x`.
///
/// Each block of `x` is copied out before `y`'s is written: the compiler cannot tell that the
/// two rows never overlap, and would otherwise keep the loop scalar.
#[inline(always)]
pub(crate) fn add_scaled(y: &mut [Block], scale: f32, x: &[Block]) {
    for (y, x) in y.iter_mut().zip(x) {
        one_block_at_a_time();
        let (source, mut target) = (x.0, y.0);
        for lane in 0..LANES {
            target[lane] += scale * source[lane];
        }
        y.0 = target;
    }
}

/// `y += x` (blocks copied out first, as in [`add_scaled`]).
#[inline(always)]
fn add(y: &mut [Block], x: &[Block]) {
    for (y, x) in y.iter_mut().zip(x) {
        one_block_at_a_time();
        let (source, mut target) = (x.0, y.0);
        for lane in 0..LANES {
            target[lane] += source[lane];
        }
        y.0 = target;
    }
}

/// `y *= scale` (each block through a local copy, as in [`add_scaled`]).
#[inline(always)]
fn scale_by(y: &mut [Block], scale: f32) {
    for block in y {
        one_block_at_a_time();
        let mut values = block.0;
        for value in &mut values {
            *value *= scale;
        }
        block.0 = values;
    }
}

/// Keeps the compiler's loop vectoriser off a loop over blocks (an empty optimisation barrier,
/// no instruction): each block is already one vector operation, which the SLP vectoriser
/// finds, whereas the loop vectoriser would run eight or sixteen blocks at once through
/// gathers and scatters, ten times slower, on rows of 8 blocks (128 dimensions) or more.
#[inline(always)]
fn one_block_at_a_time() {
    std::hint::black_box(());
}

#[inline(always)]
fn fill_zero(y: &mut [Block]) {
    y.fill(Block::ZERO);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(values: &[f32]) -> Vec<Block> {
        let mut blocks = vec![Block::ZERO; values.len().div_ceil(LANES)];
        for (index, &value) in values.iter().enumerate() {
            blocks[index / LANES].0[index % LANES] = value;
        }
        blocks
    }

    #[test]
    fn kernels_agree_with_plain_loops() {
        for length in [1, 16, 17, 40, 100, 300] {
            let a: Vec<f32> = (0..length).map(|index| (index as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..length).map(|index| (index as f32 * 0.11).cos()).collect();
            let expected: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let (x, mut y) = (blocks(&a), blocks(&b));
            assert!((dot(&x, &y) - expected).abs() < 1e-4, "length {length}");
            add_scaled(&mut y, 0.5, &x);
            let moved: Vec<f32> = a.iter().zip(&b).map(|(x, y)| y + 0.5 * x).collect();
            assert_eq!(y, blocks(&moved));
            scale_by(&mut y, 2.0);
            add(&mut y, &x);
            let scaled: Vec<f32> = moved.iter().zip(&a).map(|(y, x)| y * 2.0 + x).collect();
            assert_eq!(y, blocks(&scaled));
        }
    }

    #[test]
    fn one_prediction_moves_both_vectors_by_gensims_gradient() {
        use super::super::sampling::keep_thresholds;
        use super::super::vocabulary::TrainingCorpus;
        // Two words; the input vector of word 1 predicts word 0 with every noise draw landing
        // on word 0 as well (its count dwarfs word 1's), so exactly one update happens.
        let settings = Settings::default().dimensions(2).negative_samples(3);
        let counts = [1_000_000_000, 1];
        let model = Model {
            input: SharedMatrix::from_fn(2, 2, || 0.5),
            output: SharedMatrix::from_fn(2, 2, || 0.25),
            corpus: TrainingCorpus {
                words: vec![],
                sentence_ends: vec![],
                jobs: vec![],
                raw_words: 0,
            },
            keep: keep_thresholds(&counts, 0.0),
            negatives: NegativeTable::new(&counts, 0.75),
            sigmoid: Sigmoid::new(),
            settings,
        };
        let mut worker = Worker::new(1);
        worker.draw_next_targets(&model, 0, &mut Generator::new(1, 0));
        std::mem::swap(&mut worker.targets, &mut worker.next_targets);
        assert_eq!(worker.targets, [0]);
        worker.predict(&model, 1, 0.1);
        // f = 0.5 × 0.25 × 2 = 0.25; g = (1 - σ(0.25)) × 0.1 with the table's σ.
        let gradient = (1.0 - model.sigmoid.at(0.25)) * 0.1;
        // SAFETY: one thread, one slice at a time.
        let output = unsafe { model.output.row(0) }[0].0;
        let input = unsafe { model.input.row(1) }[0].0;
        assert_eq!(output[..2], [0.25 + gradient * 0.5; 2]);
        assert_eq!(input[..2], [0.5 + gradient * 0.25; 2]);
        assert_eq!(unsafe { model.input.row(0) }[0].0[..2], [0.5; 2]);
    }
}
