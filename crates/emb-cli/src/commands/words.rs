//! `emb words`: nearest words, analogies, the odd one out, evaluation, maps, conversion.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use emb::words::{evaluate, Expression, Format, Query, Scoring, Similar, WordVectors, Words};

use crate::cli::{
    NearestArgs, ScoringArg, WordModelArgs, WordsCommand, WordsEvalArgs, WordsPlotArgs,
    WordsTrainArgs,
};
use crate::output::Printer;

pub fn run(command: WordsCommand) -> Result<()> {
    match command {
        WordsCommand::Similar { words, nearest } => {
            let query = Query { positive: words, ..Query::default() };
            nearest_words(query, &nearest)
        }
        WordsCommand::Analogy { a, b, c, scoring, nearest } => {
            let query = Query::analogy(&a, &b, &c).scored_by(scoring_of(scoring));
            nearest_words(query, &nearest)
        }
        WordsCommand::Calc { expression, scoring, nearest } => {
            let query = Expression::parse(&expression)?.scored_by(scoring_of(scoring));
            nearest_words(query, &nearest)
        }
        WordsCommand::DoesntMatch { words, model } => doesnt_match(&words, &model),
        WordsCommand::Eval(arguments) => eval(&arguments),
        WordsCommand::Plot(arguments) => plot(&arguments),
        WordsCommand::Train(arguments) => train(&arguments),
        WordsCommand::Convert { input, output, to } => convert(&input, &output, to),
    }
}

fn scoring_of(scoring: ScoringArg) -> Scoring {
    match scoring {
        ScoringArg::Add => Scoring::Add,
        ScoringArg::Multiply => Scoring::Multiply,
    }
}

fn load(arguments: &WordModelArgs) -> Result<Words> {
    Ok(Words::load(&arguments.model)?)
}

fn nearest_words(mut query: Query, arguments: &NearestArgs) -> Result<()> {
    let words = load(&arguments.model)?;
    query.restrict_vocab = arguments.restrict_vocab;
    let answers = words.vectors().most_similar(&query, arguments.number)?;
    let mut printer = Printer::new();
    for Similar { word, score } in &answers {
        if arguments.plain {
            printer.line(&format!("{word}\t{score:.4}"))?;
        } else {
            printer.json(&serde_json::json!({ "word": word, "score": score }))?;
        }
    }
    Ok(printer.finish()?)
}

fn doesnt_match(words: &[String], model: &WordModelArgs) -> Result<()> {
    let split: Vec<String> =
        words.iter().flat_map(|word| word.split_whitespace().map(str::to_owned)).collect();
    let vectors = load(model)?;
    let odd = vectors.vectors().doesnt_match(&split)?;
    let mut printer = Printer::new();
    printer.line(&odd)?;
    Ok(printer.finish()?)
}

/// The evaluation files: those given, else the gensim ones of `scripts/fetch-eval-data`.
fn evaluation_files(arguments: &WordsEvalArgs) -> Result<(Option<PathBuf>, Vec<PathBuf>)> {
    if arguments.analogies.is_some() || !arguments.similarity.is_empty() {
        return Ok((arguments.analogies.clone(), arguments.similarity.clone()));
    }
    let folder = emb::evaluate::default_folder(&emb::settings::home());
    let analogies = folder.join("questions-words.txt");
    if !analogies.is_file() {
        bail!(
            "no evaluation files given and none in {}: pass --analogies FILE and/or --similarity \
             FILE..., or run the project's scripts/fetch-eval-data to install gensim's",
            folder.display()
        );
    }
    Ok((Some(analogies), vec![folder.join("wordsim353.tsv"), folder.join("simlex999.txt")]))
}

fn eval(arguments: &WordsEvalArgs) -> Result<()> {
    let (analogies, pairs) = evaluation_files(arguments)?;
    let loading = Instant::now();
    let words = load(&arguments.model)?;
    let loaded = loading.elapsed().as_secs_f64();
    let settings = evaluate::Settings {
        restrict_vocab: arguments.restrict_vocab,
        case_insensitive: !arguments.case_sensitive,
        scoring: scoring_of(arguments.scoring),
    };
    let vectors = words.vectors();
    let started = Instant::now();
    let analogy_result = analogies
        .as_deref()
        .map(|path| {
            evaluate::analogies(vectors, path, &settings)
                .with_context(|| format!("cannot evaluate analogies from {}", path.display()))
        })
        .transpose()?;
    let analogy_seconds = started.elapsed().as_secs_f64();
    let mut pair_results = Vec::new();
    for path in &pairs {
        let result = evaluate::word_pairs(vectors, path, &settings)
            .with_context(|| format!("cannot evaluate word pairs from {}", path.display()))?;
        pair_results.push((path, result));
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut printer = Printer::new();
    if arguments.json {
        let value = serde_json::json!({
            "model": words.name(),
            "restrict_vocab": arguments.restrict_vocab,
            "analogies": analogy_result.as_ref().map(|result| serde_json::json!({
                "file": analogies.as_ref().map(|path| path.display().to_string()),
                "accuracy": result.total.accuracy(),
                "correct": result.total.correct,
                "incorrect": result.total.incorrect,
                "out_of_vocabulary_percent": result.out_of_vocabulary_percent(),
                "sections": result.sections.iter().map(|section| serde_json::json!({
                    "section": section.section,
                    "accuracy": section.accuracy(),
                    "correct": section.correct,
                    "incorrect": section.incorrect,
                })).collect::<Vec<_>>(),
                "seconds": analogy_seconds,
            })),
            "similarity": pair_results.iter().map(|(path, result)| serde_json::json!({
                "file": path.display().to_string(),
                "pearson": result.pearson,
                "spearman": result.spearman,
                "pairs": result.pairs,
                "out_of_vocabulary_percent": result.out_of_vocabulary_percent(),
            })).collect::<Vec<_>>(),
            "seconds": { "load": loaded, "evaluate": seconds },
        });
        printer.json(&value)?;
        return Ok(printer.finish()?);
    }
    if let Some(result) = &analogy_result {
        let line = |section: &evaluate::Section| {
            format!(
                "{}: {:.1}% ({}/{})",
                section.section,
                100.0 * section.accuracy(),
                section.correct,
                section.correct + section.incorrect
            )
        };
        for section in &result.sections {
            printer.line(&line(section))?;
        }
        printer.line(&line(&result.total))?;
        printer.line(&format!(
            "Quadruplets with out-of-vocabulary words: {:.1}% (skipped)",
            result.out_of_vocabulary_percent()
        ))?;
    }
    for (path, result) in &pair_results {
        printer.line(&format!(
            "{}: Pearson {:.4}, Spearman {:.4} ({} pairs, {:.1}% out of vocabulary)",
            file_name(path),
            result.pearson,
            result.spearman,
            result.pairs,
            result.out_of_vocabulary_percent()
        ))?;
    }
    eprintln!("{}: loaded in {loaded:.2} s, evaluated in {seconds:.2} s", words.name());
    Ok(printer.finish()?)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned())
}

fn plot(arguments: &WordsPlotArgs) -> Result<()> {
    let words = load(&arguments.model)?;
    let list: Vec<String> = arguments
        .words
        .iter()
        .flat_map(|word| word.split_whitespace().map(str::to_owned))
        .collect();
    let title = arguments.title.clone().or_else(|| Some(format!("{} (PCA)", words.name())));
    let map = words.map(&list, title)?;
    let style = emb::plot::Style {
        width: arguments.width,
        height: arguments.height,
        point_radius: Some(5.0),
        point_opacity: Some(0.9),
        show_legend: false,
        max_groups: list.len(),
        ..emb::plot::Style::default()
    };
    let extension = arguments.output.extension().and_then(|extension| extension.to_str());
    let bytes = match extension {
        Some("png") => {
            let rendered = emb::plot::png(&map, &style)?;
            for warning in &rendered.warnings {
                eprintln!("warning: {warning}");
            }
            rendered.png
        }
        Some("svg") => emb::plot::svg(&map, &style)?.into_bytes(),
        _ => bail!("{}: the picture must be .png or .svg", arguments.output.display()),
    };
    std::fs::write(&arguments.output, bytes)
        .with_context(|| format!("cannot write {}", arguments.output.display()))?;
    eprintln!("wrote {} ({} words)", arguments.output.display(), list.len());
    Ok(())
}

/// The format a file named `path` should be written in, by its extension.
fn format_for(path: &Path, text_default: Format) -> Format {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("embw") => Format::Native,
        Some("bin") => Format::Word2vecBinary,
        Some("vec") => Format::Word2vecText,
        _ => text_default,
    }
}

fn train(arguments: &WordsTrainArgs) -> Result<()> {
    use emb::words::train::{self, Architecture, Corpus, Settings};

    let mut settings = Settings::default()
        .dimensions(arguments.dim)
        .window(arguments.window)
        .minimum_count(arguments.min_count)
        .maximum_vocabulary(arguments.max_vocab)
        .architecture(if arguments.sg { Architecture::SkipGram } else { Architecture::Cbow })
        .negative_samples(arguments.negative)
        .sample(arguments.sample)
        .alpha(arguments.alpha)
        .minimum_alpha(arguments.min_alpha)
        .epochs(arguments.epochs)
        .seed(arguments.seed);
    if let Some(threads) = arguments.threads {
        settings = settings.threads(threads);
    }
    let corpus = Corpus::from_path(&arguments.corpus);
    let bar = super::progress_bar(Some(0), "words");
    bar.set_message("training: ");
    let (vectors, report) = train::train_with_progress(&corpus, &settings, |progress| {
        bar.set_length(progress.words_total);
        bar.set_position(progress.words_done);
    })
    .with_context(|| format!("cannot train on {}", arguments.corpus.display()))?;
    bar.finish_and_clear();
    let format = format_for(&arguments.output, Format::Word2vecText);
    vectors
        .save(&arguments.output, format)
        .with_context(|| format!("cannot write {}", arguments.output.display()))?;
    eprintln!(
        "trained {} words of {} dimensions on {} words ({} epochs) in {:.1} s ({:.0} words/s); \
         wrote {} ({})",
        report.vocabulary_size,
        vectors.dimensions(),
        report.corpus_words,
        report.epochs,
        report.vocabulary_seconds + report.training_seconds,
        report.words_per_second(),
        arguments.output.display(),
        format.name()
    );
    if let Some(name) = &arguments.add {
        let located =
            emb::register_word_vectors(name, &arguments.output, emb::words::Weighting::Mean)?;
        eprintln!("added {name} in {}; use it with -m {name}", located.path.display());
    }
    Ok(())
}

fn convert(input: &Path, output: &Path, to: Option<Format>) -> Result<()> {
    let format = to.unwrap_or_else(|| format_for(output, Format::Glove));
    let started = Instant::now();
    let vectors = WordVectors::load(input)
        .with_context(|| format!("cannot read word vectors from {}", input.display()))?;
    vectors.save(output, format).with_context(|| format!("cannot write {}", output.display()))?;
    let mut printer = Printer::new();
    printer.line(&format!(
        "wrote {} words of {} dimensions to {} as {} ({:.1} s)",
        vectors.len(),
        vectors.dimensions(),
        output.display(),
        format.name(),
        started.elapsed().as_secs_f64()
    ))?;
    Ok(printer.finish()?)
}
