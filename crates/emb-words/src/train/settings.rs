//! [`Settings`]: how to train, with gensim 4.4.0's `Word2Vec` defaults.

use crate::{Error, Result};

/// What the network predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Architecture {
    /// Each word predicts the words around it (gensim's `sg=1`): slower, better for rare words.
    SkipGram,
    /// The words around a word predict it (gensim's `sg=0`, its default): faster.
    #[default]
    Cbow,
}

/// How to train word2vec. The defaults are gensim 4.4.0's (named in each field's doc), except
/// `threads`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// The length of each word vector (gensim's `vector_size`). Default: 100.
    pub dimensions: usize,
    /// The most words on either side of a word that count as its context (`window`); each
    /// word uses a window drawn uniformly from 1 to this. Default: 5.
    pub window: usize,
    /// Words seen fewer times than this in the corpus are ignored (`min_count`). Default: 5.
    pub minimum_count: u64,
    /// At most this many words are kept, by raising the minimum count as far as needed
    /// (`max_final_vocab`; ties at the cut all go, so fewer may remain). Default: `None`.
    pub maximum_vocabulary: Option<usize>,
    /// Skip-gram or CBOW (`sg`). Default: CBOW, as gensim.
    pub architecture: Architecture,
    /// Noise words drawn for every prediction (`negative`); at least 1, since training is by
    /// negative sampling (there is no hierarchical softmax). Default: 5.
    pub negative_samples: usize,
    /// Noise words are drawn in proportion to `count ^ negative_exponent` (`ns_exponent`).
    /// Default: 0.75.
    pub negative_exponent: f64,
    /// Frequent words are randomly skipped (`sample`): below 1, a word making up more than
    /// this share of the corpus is kept with probability `(sqrt(share / sample) + 1) × sample /
    /// share`; 0 keeps every word. Default: 0.001.
    pub sample: f64,
    /// The learning rate at the start (`alpha`). Default: 0.025.
    pub alpha: f32,
    /// The learning rate falls linearly to this by the end of the last epoch (`min_alpha`).
    /// Default: 0.0001.
    pub minimum_alpha: f32,
    /// Passes over the corpus (`epochs`). Default: 5.
    pub epochs: usize,
    /// CBOW predicts from the mean of the context vectors, not their sum (`cbow_mean`).
    /// Default: true.
    pub cbow_mean: bool,
    /// Worker threads (`workers`). Default: the number of cores (gensim's default is 3). With
    /// one thread, the same corpus and seed always give the same vectors.
    pub threads: usize,
    /// Seeds the starting vectors and every random draw (`seed`). Default: 1.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dimensions: 100,
            window: 5,
            minimum_count: 5,
            maximum_vocabulary: None,
            architecture: Architecture::Cbow,
            negative_samples: 5,
            negative_exponent: 0.75,
            sample: 1e-3,
            alpha: 0.025,
            minimum_alpha: 0.0001,
            epochs: 5,
            cbow_mean: true,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            seed: 1,
        }
    }
}

impl Settings {
    /// Sets [`Settings::dimensions`] (default 100).
    #[must_use]
    pub fn dimensions(mut self, dimensions: usize) -> Self {
        self.dimensions = dimensions;
        self
    }

    /// Sets [`Settings::window`] (default 5).
    #[must_use]
    pub fn window(mut self, window: usize) -> Self {
        self.window = window;
        self
    }

    /// Sets [`Settings::minimum_count`] (default 5).
    #[must_use]
    pub fn minimum_count(mut self, minimum_count: u64) -> Self {
        self.minimum_count = minimum_count;
        self
    }

    /// Sets [`Settings::maximum_vocabulary`] (default `None`).
    #[must_use]
    pub fn maximum_vocabulary(mut self, maximum_vocabulary: Option<usize>) -> Self {
        self.maximum_vocabulary = maximum_vocabulary;
        self
    }

    /// Sets [`Settings::architecture`] (default CBOW).
    #[must_use]
    pub fn architecture(mut self, architecture: Architecture) -> Self {
        self.architecture = architecture;
        self
    }

    /// Sets [`Settings::negative_samples`] (default 5).
    #[must_use]
    pub fn negative_samples(mut self, negative_samples: usize) -> Self {
        self.negative_samples = negative_samples;
        self
    }

    /// Sets [`Settings::negative_exponent`] (default 0.75).
    #[must_use]
    pub fn negative_exponent(mut self, negative_exponent: f64) -> Self {
        self.negative_exponent = negative_exponent;
        self
    }

    /// Sets [`Settings::sample`] (default 0.001).
    #[must_use]
    pub fn sample(mut self, sample: f64) -> Self {
        self.sample = sample;
        self
    }

    /// Sets [`Settings::alpha`] (default 0.025).
    #[must_use]
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets [`Settings::minimum_alpha`] (default 0.0001).
    #[must_use]
    pub fn minimum_alpha(mut self, minimum_alpha: f32) -> Self {
        self.minimum_alpha = minimum_alpha;
        self
    }

    /// Sets [`Settings::epochs`] (default 5).
    #[must_use]
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets [`Settings::cbow_mean`] (default true).
    #[must_use]
    pub fn cbow_mean(mut self, cbow_mean: bool) -> Self {
        self.cbow_mean = cbow_mean;
        self
    }

    /// Sets [`Settings::threads`] (default: the number of cores).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Sets [`Settings::seed`] (default 1).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The learning rate of a job that starts when `progress` (0 to 1) of all epochs' words
    /// have been handed out: linear from `alpha` to `minimum_alpha`, as gensim's
    /// `_get_next_alpha`.
    pub(crate) fn alpha_at(&self, progress: f64) -> f32 {
        let (start, end) = (f64::from(self.alpha), f64::from(self.minimum_alpha));
        (start - (start - end) * progress).max(end) as f32
    }

    /// Fails with [`Error::Settings`], saying what to change, on a setting out of range.
    pub(crate) fn check(&self) -> Result<()> {
        let fail = |message: String| Err(Error::Settings(message));
        if self.dimensions == 0 {
            return fail("dimensions is 0: word vectors need at least 1 (100 is usual)".into());
        }
        if self.window == 0 {
            return fail(
                "window is 0: a word needs at least 1 neighbour of context (5 is usual)".into(),
            );
        }
        if self.threads == 0 {
            return fail("threads is 0: training needs at least 1 thread".into());
        }
        if self.epochs == 0 {
            return fail("epochs is 0: training needs at least 1 pass over the corpus".into());
        }
        if self.negative_samples == 0 {
            return fail(
                "negative samples is 0: training is by negative sampling and needs at least 1 \
                 noise word per prediction (5 is usual)"
                    .into(),
            );
        }
        if self.maximum_vocabulary == Some(0) {
            return fail("maximum vocabulary is 0: keep at least 1 word, or set no maximum".into());
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return fail(format!("alpha is {}: the learning rate must be above 0", self.alpha));
        }
        if !(self.minimum_alpha.is_finite() && self.minimum_alpha >= 0.0) {
            return fail(format!(
                "minimum alpha is {}: the final learning rate must be 0 or more",
                self.minimum_alpha
            ));
        }
        if !(self.sample.is_finite() && self.sample >= 0.0) {
            return fail(format!(
                "sample is {}: it must be 0 (no down-sampling) or more",
                self.sample
            ));
        }
        if !self.negative_exponent.is_finite() {
            return fail(format!(
                "negative exponent is {}: it must be a finite number (0.75 is usual)",
                self.negative_exponent
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(settings: Settings) -> String {
        settings.check().unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_gensims() {
        let settings = Settings::default();
        assert_eq!((settings.dimensions, settings.window, settings.minimum_count), (100, 5, 5));
        assert_eq!((settings.negative_samples, settings.epochs, settings.seed), (5, 5, 1));
        assert_eq!((settings.alpha, settings.minimum_alpha), (0.025, 0.0001));
        assert_eq!((settings.sample, settings.negative_exponent), (1e-3, 0.75));
        assert_eq!(settings.architecture, Architecture::Cbow);
        assert!(settings.cbow_mean && settings.maximum_vocabulary.is_none());
        assert!(settings.threads >= 1);
        settings.check().unwrap();
    }

    #[test]
    fn settings_out_of_range_say_what_to_change() {
        let base = Settings::default();
        assert_eq!(
            message(base.dimensions(0)),
            "invalid settings: dimensions is 0: word vectors need at least 1 (100 is usual)"
        );
        assert!(message(base.window(0)).contains("window is 0"));
        assert!(message(base.threads(0)).contains("at least 1 thread"));
        assert!(message(base.epochs(0)).contains("epochs is 0"));
        assert!(message(base.negative_samples(0)).contains("negative sampling"));
        assert!(message(base.maximum_vocabulary(Some(0))).contains("at least 1 word"));
        assert!(message(base.alpha(0.0)).contains("above 0"));
        assert!(message(base.minimum_alpha(-1.0)).contains("0 or more"));
        assert!(message(base.sample(f64::NAN)).contains("sample is NaN"));
        assert!(message(base.negative_exponent(f64::INFINITY)).contains("finite"));
    }

    #[test]
    fn the_learning_rate_falls_linearly_to_its_minimum() {
        let settings = Settings::default().alpha(0.1).minimum_alpha(0.02);
        assert_eq!(settings.alpha_at(0.0), 0.1);
        assert!((settings.alpha_at(0.5) - 0.06).abs() < 1e-7);
        assert!((settings.alpha_at(1.0) - 0.02).abs() < 1e-7);
        assert_eq!(settings.minimum_alpha(0.5).alpha_at(0.9), 0.5);
    }
}
