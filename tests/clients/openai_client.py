#!/usr/bin/env python3
"""Embeds texts through `emb serve` with the official `openai` Python client, unchanged but for
its base URL, and prints what came back as one JSON document on stdout.

    python3 tests/clients/openai_client.py --url http://127.0.0.1:8080/v1 --model all-MiniLM-L6-v2 \\
        --text "Hello world" --text "Goodbye"
"""

import argparse
import json
import sys

import openai


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server's /v1 URL")
    parser.add_argument("--model", required=True)
    parser.add_argument("--text", action="append", required=True)
    parser.add_argument("--api-key", default="unused")
    arguments = parser.parse_args()

    client = openai.OpenAI(base_url=arguments.url, api_key=arguments.api_key, max_retries=0)
    # The client's default (it asks for base64 and decodes it itself).
    default = client.embeddings.create(model=arguments.model, input=arguments.text)
    # Floats asked for explicitly, one text at a time, and shortened.
    floats = client.embeddings.create(model=arguments.model, input=arguments.text[0], encoding_format="float")
    short = client.embeddings.create(model=arguments.model, input=arguments.text[0], dimensions=64)
    models = [model.id for model in client.models.list()]
    try:
        client.embeddings.create(model="no-such-model", input="x")
        missing = None
    except openai.NotFoundError as error:
        missing = {"status": error.status_code, "message": str(error)}
    json.dump(
        {
            "openai": openai.__version__,
            "default": [item.embedding for item in default.data],
            "indexes": [item.index for item in default.data],
            "float": floats.data[0].embedding,
            "short": short.data[0].embedding,
            "usage": default.usage.prompt_tokens,
            "model": default.model,
            "models": models,
            "missing": missing,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
