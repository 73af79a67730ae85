//! Command-line arguments. These types stay in the binary: commands turn them
//! into the library's settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod analysis;
mod rag;
mod serve;
mod words;

pub use analysis::*;
pub use rag::*;
pub use serve::*;
pub use words::*;

/// emb: embeddings on your own machine.
///
/// Turns text into vectors with sentence-transformers models run in pure Rust,
/// keeps them in named collections (llm's embeddings.db), and finds what is similar.
#[derive(Debug, Parser)]
#[command(name = "emb", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Embed one text: print its vector, or store it in a collection.
    ///
    /// The text comes from -c, from -i FILE, or from standard input.
    /// Examples: emb embed -c "Hello world"
    ///           emb embed notes note-1 -c "Buy milk" --store --metadata '{"list": "shopping"}'
    #[command(verbatim_doc_comment)]
    Embed(EmbedArgs),
    /// Embed many items into a collection, skipping those already stored unchanged.
    ///
    /// Input: a CSV, TSV, JSON array or JSON lines file (or - for standard input; the format
    /// is detected), files matched by --files DIR GLOB, or rows of --sql. The first column
    /// (or key) is the id and the others, joined by spaces, the text, unless --id-column,
    /// --text-column and --metadata-columns say otherwise.
    /// Example: emb embed-multi docs docs.jsonl --store
    #[command(verbatim_doc_comment)]
    EmbedMulti(EmbedMultiArgs),
    /// Find the items of a collection most similar to a text or to one of its items.
    ///
    /// Prints JSON lines {"id", "score", "content", "metadata"}, best first.
    /// Examples: emb similar docs -c "sqlite backup tools"
    ///           emb similar docs some-id -n 5
    ///           emb similar docs -c "backups" --where 'lang = "en" and year >= 2020'
    #[command(verbatim_doc_comment)]
    Similar(SimilarArgs),
    /// Find the most similar other items of every item of a collection, in one pass.
    ///
    /// Prints JSON lines {"id", "related": [{"id", "score"}, ...]}; --store also keeps them in
    /// the `emb_related` table of the database (`collection_id`, `id`, `rank`, `related_id`, `score`).
    /// Example: emb related docs -n 5 --store
    #[command(verbatim_doc_comment)]
    Related(RelatedArgs),
    /// Answer a question from a collection's passages with a language model (RAG).
    ///
    /// Retrieves the passages nearest the question (the model's query prompt applied, if it
    /// has one), optionally fused with keywords (--hybrid) and re-ranked (--rerank), sends them
    /// with the question to an OpenAI-compatible chat endpoint, streams the answer and lists
    /// the sources it was given, numbered as the answer cites them.
    /// Examples: emb embed-multi docs --files ./notes '**/*.md' --chunk tokens:256 --store
    ///           emb ask docs "How do I rotate the keys?" --llm-url http://localhost:11434/v1 --llm-model llama3.2
    ///           emb ask docs "How do I rotate the keys?" --context-only
    #[command(verbatim_doc_comment)]
    #[allow(clippy::doc_markdown, reason = "help text, where backticks would show")]
    Ask(AskArgs),
    /// Re-rank passages for a query with a cross-encoder (ms-marco MiniLM).
    ///
    /// Scores each candidate together with the query, which ranks a short list better than
    /// vectors alone. Candidates come from a collection (retrieved first, --candidates of
    /// them) or from standard input as JSON lines with "content" or "text" (what `emb
    /// similar` prints). Prints JSON lines {"id", "score", "content", "metadata"}, best first.
    /// Examples: emb rerank docs -q "rotate the keys" -n 5
    ///           emb similar docs -c "rotate the keys" -n 50 | emb rerank -q "rotate the keys"
    #[command(verbatim_doc_comment)]
    #[allow(clippy::doc_markdown, reason = "help text, where backticks would show")]
    Rerank(RerankArgs),
    /// Measure retrieval on questions with known answers: recall@k and MRR@10 of vector,
    /// hybrid and re-ranked retrieval.
    ///
    /// Example: python3 bench/retrieval/make-stdlib-eval.py /tmp/stdlib
    ///          emb embed-multi stdlib --files /tmp/stdlib/docs '*.md' --chunk tokens:128 --store
    ///          emb eval-retrieval stdlib /tmp/stdlib/questions.jsonl
    #[command(verbatim_doc_comment)]
    EvalRetrieval(EvalRetrievalArgs),
    /// List, inspect, delete, export and import collections.
    #[command(subcommand)]
    Collections(CollectionsCommand),
    /// Build, inspect and drop a collection's search index (HNSW), for fast search of large
    /// collections.
    ///
    /// With an index, `emb similar` searches it instead of scanning every vector; writes by
    /// emb keep it current, and changes made by other tools (llm) are caught up from the
    /// database's change log. An index that cannot be trusted is never used silently: searches
    /// scan exactly and say so, and the next emb write rebuilds it.
    /// Example: emb index build docs --quantize int8
    #[command(subcommand, verbatim_doc_comment)]
    Index(IndexCommand),
    /// Show how a model tokenizes a text, and whether it would be truncated.
    ///
    /// Example: emb tokens "Embeddings turn text into vectors"
    #[command(verbatim_doc_comment)]
    Tokens(TokensArgs),
    /// List, inspect, download and choose models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Group a collection's items into clusters, each named by its distinctive words.
    ///
    /// Prints a JSON array like llm-cluster's: [{"id", "label", "size", "items": [{"id",
    /// "content"}]}], largest cluster first, items nearest their cluster's centre first.
    /// Without -k, tries k = 2..--max-k and keeps the k with the best silhouette.
    /// Examples: emb cluster docs -k 8
    ///           emb cluster docs --method hdbscan --min-cluster-size 10
    ///           emb cluster docs --table
    ///           emb cluster docs --save topic        (stores each cluster number and name in metadata)
    #[command(verbatim_doc_comment)]
    Cluster(ClusterArgs),
    /// Flatten a collection's vectors to 2-D or 3-D coordinates (UMAP or PCA), for maps.
    ///
    /// Prints JSON lines {"id", "x", "y"} (or writes CSV / JSON with -o); the coordinates are
    /// also kept beside the database for `emb plot` until the collection changes.
    /// Example: emb project docs --method umap -o docs-map.csv
    #[command(verbatim_doc_comment)]
    Project(ProjectArgs),
    /// Draw a collection as a map: a PNG or SVG figure with a legend and cluster names, or a
    /// self-contained interactive HTML page (zoom, hover for content, search, colour by field).
    ///
    /// Examples: emb plot docs -o docs.png
    ///           emb plot docs -o docs.html --color-by metadata.language
    #[command(verbatim_doc_comment)]
    Plot(PlotArgs),
    /// Classify a collection's items (or texts from standard input): zero-shot against label
    /// texts, or by a classifier trained on a labelled collection.
    ///
    /// Prints JSON lines {"id", "label", "score"}. The score is the cosine similarity with the
    /// class's label text (zero-shot) or with the class's mean vector (--method centroid), the
    /// share of the k nearest examples' weighted votes (knn), or the probability (logistic).
    /// With --min-score, an item that scores lower for every class gets label null: it fits none.
    /// Examples: emb classify news --labels "sports,politics,technology" --min-score 0.3
    ///           emb classify news --train labelled --field topic --method logistic --eval topic
    ///           echo "The match ended 2-1" | emb classify - --train labelled --field topic
    #[command(verbatim_doc_comment)]
    Classify(ClassifyArgs),
    /// Place each item on the line between two groups of example texts: 0 near the average of
    /// the --from examples, 1 near the average of the --to examples.
    ///
    /// Prints JSON lines {"id", "score", "content"}, highest first.
    /// Example: emb score sentences --from "an idea" --from "freedom" --to "a red brick" --to "a table"
    #[command(verbatim_doc_comment)]
    Score(ScoreArgs),
    /// Find groups of near-duplicate items, each around its most connected item.
    ///
    /// Prints JSON lines {"id", "content", "duplicates": [{"id", "score", "content"}]}, largest
    /// group first.
    /// Example: emb dedup docs --threshold 0.95
    #[command(verbatim_doc_comment)]
    Dedup(DedupArgs),
    /// List the items least like their neighbours.
    ///
    /// Prints JSON lines {"id", "score", "content"}, strangest first.
    /// Example: emb outliers docs -n 20 --method lof
    #[command(verbatim_doc_comment)]
    Outliers(OutliersArgs),
    /// Recommend items like the ones liked and unlike the ones disliked.
    ///
    /// Prints JSON lines {"id", "score", "content", "metadata"} like `emb similar`.
    /// Example: emb recommend films --liked alien,arrival --disliked notebook -n 10
    #[command(verbatim_doc_comment)]
    Recommend(RecommendArgs),
    /// Measure a model's quality on local labelled data: document similarity against human
    /// ratings, clustering, zero-shot and trained classification, retrieval.
    ///
    /// The data sets are from gensim's test data (the gensim 4.4.0 wheel on PyPI):
    /// scripts/fetch-eval-data in emb's repository installs them, or give their folder with
    /// --data. Or measure a labelled collection of your own with --collection and --field.
    /// Examples: emb eval -m all-MiniLM-L6-v2
    ///           emb eval --collection news --field topic -d news.db
    #[command(verbatim_doc_comment)]
    Eval(EvalArgs),
    /// Word vectors (GloVe, word2vec, fastText): nearest words, analogies, the odd one out,
    /// word arithmetic, gensim-compatible evaluation, maps of words, conversion.
    ///
    /// The vectors come from -m (default glove-100: scripts/fetch-word-vectors installs it),
    /// a name registered with `emb models add`, or a vectors file.
    /// Examples: emb words similar france
    ///           emb words analogy france paris germany
    ///           emb words calc "king - man + woman"
    #[command(subcommand, verbatim_doc_comment)]
    Words(WordsCommand),
    /// Serve embeddings and collections over HTTP, with a page to search and map them.
    ///
    /// POST /v1/embeddings answers as OpenAI's API does (the openai client and LangChain's
    /// OpenAI embeddings work with their base URL set to http://HOST:PORT/v1; see the README
    /// for LangChain's one setting); /embed, /tokenize and /similarity
    /// as text-embeddings-inference's; /v1/collections/... lists, writes, searches, clusters
    /// and maps collections; / is a page to search and map them; /openapi.json lists it all.
    /// Concurrent requests are batched by a token budget.
    /// Examples: emb serve
    ///           emb serve --port 9000 -m all-MiniLM-L6-v2 -m BAAI/bge-small-en-v1.5
    ///           emb serve --host 0.0.0.0 --api-key "$KEY"
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Run SQL on the database with emb's SQL functions loaded (the SQLite extension).
    ///
    /// The functions: emb_cosine, emb_dot, emb_l2, emb_decode, emb_encode, emb_dims,
    /// emb_average (aggregate), emb_embed(text [, model]) and the table emb_search(collection,
    /// query [, k]). A temporary view `items` holds the collection's rows (id, embedding,
    /// content, metadata, updated), and emb_embed uses the collection's model unless -m says
    /// otherwise. Prints JSON lines, one object per row (blobs as {"$base64": true, "encoded"}).
    /// Examples: emb sql docs "select id, emb_cosine(embedding, emb_embed('backups')) as score
    ///                         from items order by score desc limit 5"
    ///           emb sql docs "select * from emb_search('docs', 'backups', 5)"
    ///           emb sql docs "select emb_decode(emb_average(embedding)) from items"
    #[command(verbatim_doc_comment)]
    #[allow(clippy::doc_markdown, reason = "help text, where backticks would show")]
    Sql(SqlArgs),
    /// Print the path of emb's loadable SQLite extension.
    ///
    /// For `.load` in the sqlite3 shell, `conn.load_extension()` in Python, or
    /// `datasette --load-extension`. EMB_SQLITE_EXTENSION overrides where it is looked for
    /// (beside the emb binary).
    /// Example: sqlite3 embeddings.db ".load $(emb sql-extension-path)" "select emb_dims(embedding) from embeddings limit 1"
    #[command(verbatim_doc_comment)]
    #[allow(clippy::doc_markdown, reason = "help text, where backticks would show")]
    SqlExtensionPath,
}

/// Which model, and how to prompt it.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The model: a short name, a hub id (org/name) or a folder path; `pixels:28x28:gray` for raw
    /// pixels; `audio:MODEL` for sounds through a picture model (audio:clip-ViT-B-32).
    /// Default: the one set with `emb models default`, else all-MiniLM-L6-v2.
    #[arg(short, long, env = "EMB_MODEL")]
    pub model: Option<String>,
    /// Text to prepend to the input, as sentence-transformers' `prompt` (e.g. "query: ").
    #[arg(long, conflicts_with = "prompt_name")]
    pub prompt: Option<String>,
    /// The name of a prompt the model defines (`query`, `document`, ...) to prepend.
    #[arg(long)]
    pub prompt_name: Option<String>,
}

/// Where one text comes from.
#[derive(Debug, Args)]
pub struct TextSource {
    /// The text itself.
    #[arg(short, long, conflicts_with = "input")]
    pub content: Option<String>,
    /// A file holding the text (`-` for standard input).
    #[arg(short, long)]
    pub input: Option<PathBuf>,
}

/// Which database.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The database: a SQLite file, or a PostgreSQL database with pgvector
    /// (postgres://user:password@host:port/name). Default: embeddings.db in the emb home folder.
    #[arg(short, long = "database", env = "EMB_DB", value_name = "FILE|URL")]
    pub database: Option<PathBuf>,
}

/// `emb embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Store the vector in this collection instead of printing it (needs an ID).
    #[arg(requires = "id")]
    pub collection: Option<String>,
    /// The id of the item in the collection.
    pub id: Option<String>,
    #[command(flatten)]
    pub source: TextSource,
    /// Read -i FILE as a picture (JPEG, PNG, WebP, GIF) for a picture model such as CLIP, or a
    /// sound (WAV, FLAC, MP3, Ogg) for an audio: model; both are recognised by their first bytes
    /// without this.
    #[arg(long, requires = "input")]
    pub binary: bool,
    /// Store the text (or a picture's or sound's bytes) with the vector.
    #[arg(long, requires = "collection")]
    pub store: bool,
    /// Metadata to store with the item: a JSON object.
    #[arg(long, requires = "collection", value_name = "JSON")]
    pub metadata: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// How to print the vector.
    #[arg(short, long, value_enum, default_value_t = VectorFormat::Json)]
    pub format: VectorFormat,
}

/// `emb embed-multi`.
#[derive(Debug, Args)]
#[allow(clippy::doc_markdown, reason = "help text, where backticks would show")]
pub struct EmbedMultiArgs {
    /// The collection to embed into (created if missing).
    pub collection: String,
    /// A CSV, TSV, JSON or JSON lines file, or - for standard input.
    pub input: Option<PathBuf>,
    /// The input's format. Default: detected from its first bytes.
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
    /// Embed the files under DIR whose relative path matches GLOB (e.g. '**/*.md'); the id is
    /// the relative path. Repeatable. Markdown is embedded as it is (front matter left out),
    /// HTML and PDF as their text, other files as plain text in whatever encoding they are in
    /// (detected, or --encoding). A file that is binary, over --max-file-size, invalid UTF-8
    /// or a PDF without text is reported and skipped; the others go on.
    #[arg(long, num_args = 2, value_names = ["DIR", "GLOB"], action = clap::ArgAction::Append)]
    pub files: Vec<String>,
    /// Embed the source code under DIR function by function: the functions, methods, classes
    /// and types of its Python, Rust, JavaScript, TypeScript and Go files (found with
    /// tree-sitter), each an item with id PATH:NAME (Class.method for methods), content
    /// signature + docs + body, and metadata {source, symbol, kind, language, start_line,
    /// end_line}. .git, node_modules, target, __pycache__, venv and vendor are left out.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["input", "files", "sql", "idx"])]
    pub code: Option<PathBuf>,
    /// Cut long texts into chunks of at most this size, each an item: tokens:N counts the
    /// model's own tokens (chars:N counts characters). A chunk ends at a heading, paragraph,
    /// line or sentence where it can. Chunk ids are ID#0, ID#1, ... and their metadata
    /// {source, chunk_index, start_line, end_line, heading}; a document that shrinks loses
    /// its surplus chunks. Sizes over the model's maximum are lowered to it.
    #[arg(long, value_name = "SIZE")]
    pub chunk: Option<String>,
    /// How much of the end of a chunk the next one repeats, in the unit of --chunk.
    #[arg(long, default_value_t = 0, requires = "chunk")]
    pub overlap: usize,
    /// The encoding of --files text (a WHATWG label: utf-8, windows-1252, shift_jis,
    /// utf-16le...). Default: detected (a byte order mark always wins).
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,
    /// Skip --files and --code files larger than this many bytes.
    #[arg(long, default_value_t = 20 * 1024 * 1024, value_name = "BYTES")]
    pub max_file_size: u64,
    /// Embed the pictures of an IDX file (MNIST's format, gzip or not), e.g. Fashion-MNIST's
    /// t10k-images-idx3-ubyte.gz, with a picture model (-m pixels:28x28:gray); the id of each is
    /// its index, and --store keeps it as a PNG.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["input", "files", "sql"])]
    pub idx: Option<PathBuf>,
    /// The IDX file of the --idx pictures' labels (one byte each), stored as metadata
    /// {"label": "n"} for `emb classify --train ... --field label` and `--color-by
    /// metadata.label`.
    #[arg(long, value_name = "FILE", requires = "idx")]
    pub idx_labels: Option<PathBuf>,
    /// Embed --files as they are, not as text: pictures (JPEG, PNG, WebP, GIF) for a picture
    /// model such as CLIP (-m clip-ViT-B-32), a ResNet (-m resnet50) or raw pixels (-m
    /// pixels:28x28:gray); sounds (WAV, FLAC, MP3, Ogg) for -m audio:MODEL. With --store
    /// the bytes are kept with the vector. A file that cannot be read stops the run, or with
    /// --skip-errors is reported and passed over.
    #[arg(long, requires = "files")]
    pub binary: bool,
    /// Embed the rows of this SQL query, run on the database (see --attach).
    #[arg(long, value_name = "SQL", conflicts_with_all = ["input", "files"])]
    pub sql: Option<String>,
    /// Attach another database for --sql, as ALIAS. Repeatable.
    #[arg(long, num_args = 2, value_names = ["ALIAS", "PATH"], action = clap::ArgAction::Append, requires = "sql")]
    pub attach: Vec<String>,
    /// The column (or JSON key) holding the id. Default: the first.
    #[arg(long, value_name = "NAME")]
    pub id_column: Option<String>,
    /// A column to embed (repeatable or comma-separated). Default: all but the id and metadata.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub text_column: Vec<String>,
    /// Columns to store as metadata instead of embedding them (comma-separated).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub metadata_columns: Vec<String>,
    /// Store each item's text (or with --binary, its bytes) with its vector.
    #[arg(long)]
    pub store: bool,
    /// Prepend this to every id.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Prepend this to every text before embedding it (e.g. `search_document: `).
    #[arg(long, default_value = "")]
    pub prepend: String,
    /// Items per batch (and per transaction).
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Report bad items on stderr and go on, instead of stopping at the first.
    #[arg(long)]
    pub skip_errors: bool,
    /// Refuse texts longer than this many bytes.
    #[arg(long, default_value_t = 1_000_000, value_name = "BYTES")]
    pub max_text_bytes: usize,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// A table format for `emb embed-multi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// `emb similar`.
#[allow(clippy::struct_excessive_bools)] // independent switches, as on the command line
#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// The collection to search.
    pub collection: String,
    /// Find items similar to the stored item with this id (it is left out of the results).
    #[arg(conflicts_with_all = ["content", "input"])]
    pub id: Option<String>,
    #[command(flatten)]
    pub source: TextSource,
    /// Read -i FILE as a picture or sound to search with (both are recognised by their first
    /// bytes without this); the collection's model must embed them (CLIP, ResNet, raw pixels,
    /// audio:MODEL).
    #[arg(long, requires = "input")]
    pub binary: bool,
    /// How many results.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub number: usize,
    /// Only items whose id starts with this.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Only items at least this similar (cosine, -1 to 1).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Only items whose metadata passes this filter, e.g. 'lang = "en" and year >= 2020'
    /// (= != < <= > >=, in (...), is [not] null, and, or, not, parentheses; a.b for nested
    /// keys). The filter is applied before ranking, so -n results still come back. It may nest
    /// 64 levels deep (parentheses and not) and hold 256 conditions (each value of an in list
    /// counts).
    #[arg(long = "where", value_name = "FILTER")]
    pub filter: Option<String>,
    /// Print "id (score)" and the content as plain text instead of JSON lines.
    #[arg(short, long)]
    pub plain: bool,
    /// Scan every vector even if the collection has an index (exact results).
    #[arg(long)]
    pub exact: bool,
    /// Also rank items by their stored content's match with the words of the query (SQLite
    /// FTS5, BM25), and fuse both rankings by reciprocal rank; the score printed is then the
    /// fused score. Content is indexed when it is stored (--store).
    #[arg(long)]
    pub hybrid: bool,
    /// Candidates the index keeps while searching: higher finds more of the true nearest
    /// items, slower. Default: 100 (at least -n).
    #[arg(long, conflicts_with = "exact")]
    pub ef: Option<usize>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `emb related`.
#[derive(Debug, Args)]
pub struct RelatedArgs {
    /// The collection.
    pub collection: String,
    /// How many related items per item.
    #[arg(short = 'n', long, default_value_t = 10)]
    pub number: usize,
    /// Also store them in the database (replacing the collection's earlier ones).
    #[arg(long)]
    pub store: bool,
    /// Print nothing (with --store).
    #[arg(short, long, requires = "store")]
    pub quiet: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `emb collections ...`.
#[derive(Debug, Subcommand)]
pub enum CollectionsCommand {
    /// List the collections with their model, item count and dimensions.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Show one collection: model, count, dimensions, size.
    Info {
        /// The collection.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Delete a collection and everything in it.
    Delete {
        /// The collection.
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Write a collection's items and vectors to a file (or standard output).
    ///
    /// jsonl: one {"id", "embedding", "content", "metadata"} per line. csv: id, content,
    /// metadata and one column per dimension (e0, e1, ...). npy: a float32 matrix (count x
    /// dimensions), with the ids, content and metadata in a JSON lines file beside it (same
    /// name, .jsonl). parquet: columns id, content, metadata and embedding (list of float).
    Export {
        /// The collection.
        name: String,
        /// The file format. Default: from the extension of -o, else jsonl.
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// The file to write. Default: standard output (jsonl and csv only). An .npy file gets
        /// its ids, content and metadata in a JSON lines file of the same name beside it
        /// (docs.npy -> docs.jsonl), which must not exist yet unless --overwrite is given.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Replace the JSON lines file an .npy export writes beside its -o file when it exists.
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Copy a collection to another database: SQLite to PostgreSQL, PostgreSQL to SQLite, or
    /// between two of either.
    ///
    /// Streams the items with their vectors (no model runs), a batch per transaction. Items
    /// the target already holds unchanged are skipped, so a copy that was interrupted resumes
    /// when run again. At the end both databases must count the same items.
    ///
    /// Example: `emb collections copy docs --from embeddings.db --to postgres://me@db/vectors`
    Copy {
        /// The collection.
        name: String,
        /// The database to copy from (a file or a `postgres://` URL). Default: `EMB_DB`, else
        /// embeddings.db in the emb home folder.
        #[arg(long, env = "EMB_DB", value_name = "FILE|URL")]
        from: Option<PathBuf>,
        /// The database to copy to (a file or a `postgres://` URL).
        #[arg(long, value_name = "FILE|URL")]
        to: PathBuf,
        /// Items per transaction.
        #[arg(long, default_value_t = 2000)]
        batch_size: usize,
    },
    /// Read items with their vectors from a file (as export writes it) into a collection,
    /// without running a model.
    Import {
        /// The collection (created if missing).
        name: String,
        /// The file (jsonl, csv, npy with its .jsonl beside it, or parquet), or - for JSON
        /// lines on standard input.
        input: PathBuf,
        /// The file format. Default: from the file's extension.
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// The model the vectors came from, recorded for a new collection.
        /// Default: the default model.
        #[arg(short, long, env = "EMB_MODEL")]
        model: Option<String>,
        /// Items per transaction.
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// A file format for `emb collections export` and `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// JSON lines.
    Jsonl,
    /// Comma-separated values.
    Csv,
    /// A NumPy float32 matrix plus a JSON lines file of ids.
    Npy,
    /// Apache Parquet.
    Parquet,
}

/// How a vector is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VectorFormat {
    /// A JSON array of numbers.
    Json,
    /// Raw little-endian float32 bytes (as stored in embeddings.db).
    Blob,
    /// The blob, base64-encoded.
    Base64,
    /// The blob, hex-encoded.
    Hex,
}

/// `emb sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The collection the view `items` shows (and whose model `emb_embed` uses).
    pub collection: String,
    /// One SQL statement.
    pub sql: String,
    /// The model `emb_embed` uses when a call names none. Default: the collection's.
    #[arg(short, long, env = "EMB_MODEL")]
    pub model: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `emb tokens`.
#[derive(Debug, Args)]
pub struct TokensArgs {
    /// The text (or use -i, or standard input).
    #[arg(conflicts_with_all = ["content", "input"])]
    pub text: Option<String>,
    #[command(flatten)]
    pub source: TextSource,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `emb models ...`.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List installed models (emb cache and Hugging Face cache) with their dimensions,
    /// maximum length, pooling and size.
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one model's details.
    Info {
        /// The model (short name, hub id or folder). Default: the default model.
        name: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download a model from the Hugging Face hub into the emb model cache.
    Pull {
        /// The model (short name or hub id).
        name: String,
    },
    /// Show the default model, or set it.
    Default {
        /// The model to use when -m is not given.
        name: Option<String>,
    },
    /// Register word vectors (GloVe, word2vec .txt/.bin, fastText .vec, the wink JSON) as a
    /// model: converted once into emb's file in the model cache, so -m NAME loads them in a
    /// fraction of a second, for `emb embed`, `emb embed-multi` and `emb words`.
    ///
    /// Example: emb models add glove-100 glove.6B.100d.txt
    #[command(verbatim_doc_comment)]
    Add {
        /// The name to give them.
        name: String,
        /// The word-vector file.
        path: PathBuf,
        /// How a text's word vectors are combined when it is embedded: mean, or sif (smooth
        /// inverse frequency: frequent words weigh less).
        #[arg(long, default_value = "mean", value_parser = ["mean", "sif"])]
        weighting: String,
    },
}

/// `emb index` subcommands.
#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Build (or rebuild) the HNSW index of a collection and save it beside the database.
    Build {
        /// The collection.
        collection: String,
        /// Links per item: more gives better recall and a bigger index.
        #[arg(long, default_value_t = 16)]
        m: usize,
        /// Candidates considered while linking each item: more builds a better graph, slower.
        #[arg(long, default_value_t = 200)]
        ef_construction: usize,
        /// How the index stores vectors for searching: none (f32), f16 (half the memory),
        /// int8 (a quarter: one byte per dimension, scaled to each dimension's range) or binary
        /// (1/32: one bit per dimension). Quantised indexes rescore their candidates on the
        /// full vectors, so scores stay exact.
        #[arg(long, default_value = "none", value_parser = parse_quantization)]
        quantize: emb::Quantization,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Show a collection's index: settings, size, and whether it is current.
    Info {
        /// The collection.
        collection: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Delete a collection's index (searches scan every vector again).
    Drop {
        /// The collection.
        collection: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn parse_quantization(text: &str) -> Result<emb::Quantization, String> {
    text.parse()
}
