"""Builds a retrieval evaluation from the Python standard library's own documentation.

    python3 bench/retrieval/make-stdlib-eval.py OUT_DIR [--modules N]

Documents: the docstring of each of N standard library modules (those with the longest module
docstrings among a fixed list), written as OUT_DIR/docs/MODULE.md. Questions: the first line of
the docstring of up to 6 public functions and classes each module defines, in
OUT_DIR/questions.jsonl as {"question", "answer": "MODULE.md"}: which module's documentation
answers "Return a new deque object initialized left-to-right..."? A question is left out when its
text appears word for word in any document (that would be a lookup, not a search). Only the
running Python is needed (no packages); the same Python version gives the same files.
"""

import argparse
import importlib
import inspect
import json
import re
import warnings
from pathlib import Path

CANDIDATES = [
    "argparse", "asyncio", "base64", "bisect", "calendar", "cmd", "codecs", "collections",
    "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal", "difflib",
    "doctest", "email", "enum", "fnmatch", "fractions", "ftplib", "functools", "getopt", "gettext",
    "glob", "gzip", "hashlib", "heapq", "hmac", "html", "http.client", "imaplib", "inspect",
    "ipaddress", "itertools", "json", "locale", "logging", "mailbox", "math", "mimetypes",
    "multiprocessing", "operator", "optparse", "os", "pathlib", "pickle", "pickletools",
    "platform", "plistlib", "poplib", "pprint", "queue", "random", "re", "sched", "secrets",
    "selectors", "shelve", "shlex", "shutil", "signal", "smtplib", "socket", "socketserver",
    "sqlite3", "ssl", "statistics", "string", "struct", "subprocess", "tarfile", "tempfile",
    "textwrap", "threading", "timeit", "tokenize", "trace", "traceback", "turtle", "typing",
    "unittest", "urllib.parse", "urllib.request", "uuid", "warnings", "weakref", "webbrowser",
    "xml.dom.minidom", "zipfile", "zipimport", "zoneinfo",
]


def first_line(docstring: str) -> str:
    paragraph = docstring.strip().split("\n\n")[0]
    sentence = " ".join(paragraph.split())
    return re.split(r"(?<=[.!?])\s", sentence)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--modules", type=int, default=60)
    parser.add_argument("--per-module", type=int, default=6)
    arguments = parser.parse_args()

    modules = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in CANDIDATES:
            try:
                module = importlib.import_module(name)
            except Exception:
                continue
            doc = inspect.getdoc(module) or ""
            if len(doc.split()) >= 60:
                modules.append((name, module, doc))
    modules.sort(key=lambda entry: -len(entry[2]))
    modules = sorted(modules[: arguments.modules], key=lambda entry: entry[0])

    documents = {f"{name}.md": f"# {name}\n\n{doc}\n" for name, _, doc in modules}
    normalised = [" ".join(text.split()).lower() for text in documents.values()]
    questions = []
    for name, module, _ in modules:
        found = []
        for member_name, member in sorted(vars(module).items()):
            if member_name.startswith("_") or not (inspect.isfunction(member) or inspect.isclass(member)):
                continue
            if getattr(member, "__module__", None) != module.__name__:
                continue
            doc = inspect.getdoc(member)
            if not doc:
                continue
            question = first_line(doc)
            if len(question.split()) < 5 or any(question.lower() in text for text in normalised):
                continue
            found.append(question)
        # Spread the picks over the alphabet rather than taking the first few.
        step = max(1, len(found) // arguments.per_module)
        for question in found[::step][: arguments.per_module]:
            questions.append({"question": question, "answer": f"{name}.md"})

    folder = arguments.output / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in documents.items():
        (folder / file_name).write_text(text)
    with open(arguments.output / "questions.jsonl", "w") as output:
        for question in questions:
            output.write(json.dumps(question) + "\n")
    words = sum(len(text.split()) for text in documents.values())
    print(f"{len(documents)} documents ({words} words), {len(questions)} questions in {arguments.output}")


if __name__ == "__main__":
    main()
