"""JSON Schemas of the events, committed under ``libs/contracts/schemas``.

``newsflow-schemas --write`` regenerates them; a test fails when the committed files are stale.
"""

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from newsflow_contracts.articles import ArticleData
from newsflow_contracts.comments import CommentData
from newsflow_contracts.envelope import Envelope

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

MODELS: dict[str, type[BaseModel]] = {
    "article-event.v1.json": Envelope[ArticleData],
    "comment-event.v1.json": Envelope[CommentData],
}


def render() -> dict[str, str]:
    """Each schema file's expected text."""
    return {
        name: json.dumps(model.model_json_schema(mode="serialization"), indent=2, sort_keys=True) + "\n"
        for name, model in MODELS.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the committed schemas")
    args = parser.parse_args(argv)
    stale = [name for name, text in render().items() if _read(SCHEMA_DIR / name) != text]
    if args.write:
        SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
        for name, text in render().items():
            (SCHEMA_DIR / name).write_text(text)
        return 0
    for name in stale:
        sys.stderr.write(f"stale schema: {SCHEMA_DIR / name} (run `make schemas`)\n")
    return 1 if stale else 0


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None
