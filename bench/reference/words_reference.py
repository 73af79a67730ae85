"""Fixtures and gensim's answers for the word-vector conformance test (crates/emb-cli/tests/words.rs).

    PEERS_PYTHON bench/reference/words_reference.py [EVAL_FOLDER]

EVAL_FOLDER is what scripts/fetch-eval-data installs (default ~/.local/share/emb/eval/gensim-4.4.0);
its test_glove.txt (76 words of GloVe 6B 50-d, gensim's own test file) is the vocabulary. The
script writes, into tests/fixtures/words/:
  questions.txt  analogy questions over that vocabulary in questions-words.txt's format: random
                 a b c, with an "expected" word that is one of gensim's own top three answers,
                 or a random word (so some are right and some wrong), some upper-cased, some
                 with unknown words, and a few malformed lines gensim skips;
  pairs.tsv      rated word pairs in wordsim353.tsv's format (random ratings with ties,
                 comments, unknown words, case variants, malformed lines);
  gensim.json    gensim 4.4.0's evaluate_word_analogies (default and restrict_vocab=40) and
                 evaluate_word_pairs on those files and on questions-words.txt, plus
                 most_similar, most_similar_cosmul and doesnt_match answers.
Rerun it when gensim's version or the fixture vocabulary changes.
"""
import json
import pathlib
import random
import sys

import gensim
from gensim.models import KeyedVectors

EVAL = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                    pathlib.Path.home() / ".local/share/emb/eval/gensim-4.4.0")
OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/words"
UNKNOWN = ["wombat", "zeppelin", "quux"]

vectors = KeyedVectors.load_word2vec_format(EVAL / "test_glove.txt", no_header=True)
vocabulary = list(vectors.index_to_key)
alphabetic = [word for word in vocabulary if word.isalpha()]
generator = random.Random(20261123)


def cased(word):
    return word.upper() if generator.random() < 0.2 else word


lines = []
for section in ["grammar", "function-words", "mixed", "rare"]:
    lines.append(f": {section}")
    for _ in range(60):
        a, b, c = generator.sample(vocabulary, 3)
        answers = [word for word, _ in vectors.most_similar(positive=[b, c], negative=[a], topn=3)]
        expected = generator.choice(answers) if generator.random() < 0.6 else generator.choice(vocabulary)
        if generator.random() < 0.08:
            expected = generator.choice(UNKNOWN)
        lines.append(" ".join(cased(word) for word in (a, b, c, expected)))
    lines.append("only three words")
OUT.mkdir(parents=True, exist_ok=True)
(OUT / "questions.txt").write_text("\n".join(lines) + "\n")

pairs = ["# Rated pairs over gensim's test_glove.txt vocabulary, for emb's conformance test",
         "# Word 1\tWord 2\tRating"]
for _ in range(150):
    first, second = generator.sample(alphabetic, 2)
    if generator.random() < 0.06:
        second = generator.choice(UNKNOWN)
    rating = round(generator.uniform(0, 10) * 2) / 2  # halves: plenty of ties
    pairs.append(f"{cased(first)}\t{cased(second)}\t{rating}")
pairs.append("not\ta rating\tnumber")
pairs.append("too few fields")
(OUT / "pairs.tsv").write_text("\n".join(pairs) + "\n")


def analogies(path, **options):
    score, sections = vectors.evaluate_word_analogies(str(path), **options)
    return {
        "score": score,
        "sections": [{"section": s["section"], "correct": len(s["correct"]), "incorrect": len(s["incorrect"])}
                     for s in sections],
    }


def word_pairs(path):
    pearson, spearman, oov = vectors.evaluate_word_pairs(str(path))
    return {"pearson": pearson[0], "spearman": spearman.statistic, "oov_percent": oov}


reference = {
    "gensim": gensim.__version__,
    "analogies": analogies(OUT / "questions.txt"),
    "analogies_restricted_40": analogies(OUT / "questions.txt", restrict_vocab=40),
    "questions_words": analogies(EVAL / "questions-words.txt"),
    "pairs": word_pairs(OUT / "pairs.tsv"),
    "most_similar": {word: vectors.most_similar(word, topn=5) for word in ["the", "he", "said", "percent", "year"]},
    "analogy": [
        {"positive": [b, c], "negative": [a],
         "add": vectors.most_similar(positive=[b, c], negative=[a], topn=3),
         "multiply": vectors.most_similar_cosmul(positive=[b, c], negative=[a], topn=3)}
        for a, b, c in [("he", "his", "she"), ("is", "was", "are"), ("one", "first", "two"),
                        ("i", "we", "he"), ("year", "percent", "people")]
    ],
    "doesnt_match": {" ".join(words): vectors.doesnt_match(words) for words in
                     [["he", "she", "year", "his"], ["the", "a", "an", "people"],
                      ["said", "was", "percent", "has"], ["one", "two", "first", "the"]]},
}
(OUT / "gensim.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {OUT}/questions.txt, pairs.tsv, gensim.json (gensim {gensim.__version__})")
