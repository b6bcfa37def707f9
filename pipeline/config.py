"""Default paths, in one place.

dvc.yaml passes every path explicitly; these are the defaults the CLI falls
back on when a user runs a stage by hand.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = Path("corpus/raw")
INTERIM = Path("corpus/interim")
DOCUMENTS = INTERIM / "documents.parquet"
REJECTS = INTERIM / "rejects.parquet"
PARSED_DIR = INTERIM / "parsed"
LINKED_DIR = INTERIM / "linked"
REFERENCE = Path("corpus/reference")
GOLD_LETTERS = Path("corpus/gold/letters.jsonl")
WAREHOUSE = Path("warehouse/ofsted.duckdb")
METRICS = Path("metrics/extraction.json")
METRICS_MISSES = Path("metrics/extraction_misses.json")
PARAMS = Path("params.yaml")
LABELS = Path("corpus/labels/units.jsonl")
LABEL_EMBEDDINGS = INTERIM / "label_embeddings.parquet"
MODEL_DIR = Path("models/tagger")
CLASSIFIED_DIR = INTERIM / "classified"
EMBEDDED_DIR = INTERIM / "embedded"
EMBEDDING_CACHE = INTERIM / "embedding_cache.parquet"
SEARCH_QUERIES = Path("corpus/labels/search_queries.jsonl")
SEARCH_METRICS = Path("metrics/search.json")
SUMMARY_METRICS = Path("metrics/summary.json")
TRAIN_METRICS = Path("metrics/train.json")
TAGGER_METRICS = Path("metrics/tagger.json")
TAGGER_PLOT = Path("metrics/tagger_per_tag.json")
REPORTS = Path("reports")
