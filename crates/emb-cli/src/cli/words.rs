//! Arguments of `emb words`.
// The doc comments are `--help` text: field names appear as users type them, not as code.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Which word vectors to use.
#[derive(Debug, Args)]
pub struct WordModelArgs {
    /// The word vectors: a name registered with `emb models add NAME FILE`, or a GloVe /
    /// word2vec (.txt, .bin) / fastText (.vec) / emb (.embw) file.
    #[arg(short, long = "model", env = "EMB_WORD_VECTORS", default_value = "glove-100")]
    pub model: String,
}

/// How analogies are scored.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScoringArg {
    /// Cosine with b - a + c on unit vectors (3CosAdd; gensim's most_similar).
    Add,
    /// cos(x,b)·cos(x,c) / cos(x,a) on shifted cosines (3CosMul; gensim's most_similar_cosmul).
    Multiply,
}

/// Options shared by the commands that list nearest words.
#[derive(Debug, Args)]
pub struct NearestArgs {
    /// How many words to print.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub number: usize,
    /// Only the first N (most frequent) words may be answers. Default: all.
    #[arg(long, value_name = "N")]
    pub restrict_vocab: Option<usize>,
    /// Print `word<TAB>score` lines instead of JSON lines.
    #[arg(short, long)]
    pub plain: bool,
    #[command(flatten)]
    pub model: WordModelArgs,
}

/// `emb words ...`.
#[derive(Debug, Subcommand)]
pub enum WordsCommand {
    /// The words nearest a word (or the mean of several).
    ///
    /// Prints JSON lines {"word", "score"} (cosine), best first.
    /// Example: emb words similar france -n 5
    #[command(verbatim_doc_comment)]
    Similar {
        /// The word(s).
        #[arg(required = true)]
        words: Vec<String>,
        #[command(flatten)]
        nearest: NearestArgs,
    },
    /// Analogy: A is to B as C is to what? The words nearest B - A + C (3CosAdd, as gensim's
    /// most_similar(positive=[B, C], negative=[A]) and word2vec's questions-words.txt order).
    ///
    /// Example: emb words analogy france paris germany      (paris - france + germany: berlin)
    ///          emb words analogy man king woman --scoring multiply      (queen)
    #[command(verbatim_doc_comment)]
    Analogy {
        /// A: the first word of the known pair.
        a: String,
        /// B: what A is to it, the answer is to C.
        b: String,
        /// C: the word whose counterpart is asked for.
        c: String,
        /// add (3CosAdd) or multiply (3CosMul).
        #[arg(long, value_enum, default_value = "add")]
        scoring: ScoringArg,
        #[command(flatten)]
        nearest: NearestArgs,
    },
    /// Words added and subtracted: the words nearest the result.
    ///
    /// Example: emb words calc "king - man + woman"
    #[command(verbatim_doc_comment)]
    Calc {
        /// The expression: words joined by + and -.
        expression: String,
        /// add (3CosAdd) or multiply (3CosMul).
        #[arg(long, value_enum, default_value = "add")]
        scoring: ScoringArg,
        #[command(flatten)]
        nearest: NearestArgs,
    },
    /// The word that does not belong with the others.
    ///
    /// Example: emb words doesnt-match breakfast cereal dinner lunch     (prints cereal)
    ///          emb words doesnt-match "breakfast cereal dinner lunch"
    #[command(verbatim_doc_comment)]
    DoesntMatch {
        /// The words (separate arguments, or one argument with spaces).
        #[arg(required = true)]
        words: Vec<String>,
        #[command(flatten)]
        model: WordModelArgs,
    },
    /// Evaluate word vectors as gensim does: analogy accuracy per section
    /// (evaluate_word_analogies) and Spearman/Pearson on rated word pairs (evaluate_word_pairs).
    ///
    /// Without --analogies and --similarity, uses questions-words.txt, wordsim353.tsv and
    /// simlex999.txt from the evaluation data (scripts/fetch-eval-data).
    /// Example: emb words eval -m glove-100 --analogies questions-words.txt --similarity wordsim353.tsv simlex999.txt
    #[command(verbatim_doc_comment)]
    Eval(WordsEvalArgs),
    /// Draw words on a 2-D map of their vectors' first two principal components.
    ///
    /// Example: emb words plot king queen man woman paris france berlin germany -o words.png
    #[command(verbatim_doc_comment)]
    Plot(WordsPlotArgs),
    /// Train word2vec (skip-gram or CBOW with negative sampling) on a text file, as gensim's
    /// Word2Vec does: one sentence per line, words split on whitespace, kept as written.
    ///
    /// Example: emb words train corpus.txt -o vectors.bin --sg --epochs 5
    ///          emb words train corpus.txt -o vectors.embw --add my-words   (then: -m my-words)
    #[command(verbatim_doc_comment)]
    Train(WordsTrainArgs),
    /// Convert a word-vector file to another format (emb's .embw opens by mmap in milliseconds).
    ///
    /// Example: emb words convert glove.6B.300d.txt glove300.embw
    #[command(verbatim_doc_comment)]
    Convert {
        /// The file to read (format detected).
        input: PathBuf,
        /// The file to write.
        output: PathBuf,
        /// The output format. Default: from the output's extension (.embw native, .bin
        /// word2vec binary, .vec word2vec text, else GloVe text).
        #[arg(long, value_parser = parse_format)]
        to: Option<emb::words::Format>,
    },
}

/// `emb words eval`.
#[derive(Debug, Args)]
pub struct WordsEvalArgs {
    /// An analogy file like word2vec's questions-words.txt (": section" lines, then "a b c d").
    #[arg(long)]
    pub analogies: Option<PathBuf>,
    /// Rated word-pair files ("word1<TAB>word2<TAB>rating", # comments), like wordsim353.tsv.
    #[arg(long, num_args = 1..)]
    pub similarity: Vec<PathBuf>,
    /// Skip questions and pairs with a word outside the first N words; only those words are
    /// candidate answers (gensim's restrict_vocab).
    #[arg(long, value_name = "N", default_value_t = 300_000)]
    pub restrict_vocab: usize,
    /// Compare words as written instead of upper-cased (gensim's case_insensitive=False).
    #[arg(long)]
    pub case_sensitive: bool,
    /// add (3CosAdd, as gensim) or multiply (3CosMul).
    #[arg(long, value_enum, default_value = "add")]
    pub scoring: ScoringArg,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: WordModelArgs,
}

/// `emb words train`.
#[derive(Debug, Args)]
pub struct WordsTrainArgs {
    /// The corpus: UTF-8 text, one sentence (or document) per line.
    pub corpus: PathBuf,
    /// Where to write the vectors: .bin (word2vec binary), .vec / .txt (word2vec text), or
    /// .embw (emb's own file).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also register the vectors as a model of this name (for -m NAME).
    #[arg(long, value_name = "NAME")]
    pub add: Option<String>,
    /// Dimensions of the vectors.
    #[arg(long, default_value_t = 100)]
    pub dim: usize,
    /// The largest distance between a word and a word it predicts (or is predicted by).
    #[arg(long, default_value_t = 5)]
    pub window: usize,
    /// Words seen fewer times are dropped.
    #[arg(long, default_value_t = 5)]
    pub min_count: u64,
    /// Skip-gram: each word predicts its neighbours (better for rare words).
    #[arg(long, conflicts_with = "cbow")]
    pub sg: bool,
    /// CBOW: the neighbours predict the word (faster; the default, as in gensim).
    #[arg(long)]
    pub cbow: bool,
    /// Noise words drawn per prediction (negative sampling).
    #[arg(long, default_value_t = 5)]
    pub negative: usize,
    /// Passes over the corpus.
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Threads. Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Down-sampling of frequent words (0: none).
    #[arg(long, default_value_t = 1e-3)]
    pub sample: f64,
    /// The starting learning rate (falls linearly to --min-alpha).
    #[arg(long, default_value_t = 0.025)]
    pub alpha: f32,
    /// The final learning rate.
    #[arg(long, default_value_t = 0.0001)]
    pub min_alpha: f32,
    /// Keep only the N most frequent words.
    #[arg(long, value_name = "N")]
    pub max_vocab: Option<usize>,
    /// The random seed (a run on one thread is exactly reproducible).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `emb words plot`.
#[derive(Debug, Args)]
pub struct WordsPlotArgs {
    /// The words to draw (at least three).
    #[arg(required = true, num_args = 3..)]
    pub words: Vec<String>,
    /// The picture to write: .png or .svg.
    #[arg(short, long)]
    pub output: PathBuf,
    /// The title. Default: the vectors' name.
    #[arg(long)]
    pub title: Option<String>,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1200)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 900)]
    pub height: u32,
    #[command(flatten)]
    pub model: WordModelArgs,
}

fn parse_format(text: &str) -> Result<emb::words::Format, String> {
    emb::words::Format::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = emb::words::Format::ALL.iter().map(|format| format.name()).collect();
        format!("unknown format {text:?}; one of: {}", names.join(", "))
    })
}
