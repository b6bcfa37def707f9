"""The ``ofsted-nlp`` command: a thin shell over the stages.

Each subcommand loads params, reads its inputs, calls a stage and writes its
outputs. Nothing heavy is imported at start-up: a command imports what it uses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import config
from pipeline.errors import PipelineError
from pipeline.warehouse.contracts import DOC_TYPES, ISSUE_TAGS, LETTER_KINDS


def _params(path: Path, section: str) -> dict[str, Any]:
    import yaml

    if not path.exists():
        raise PipelineError(f"params file {path} not found; pass --params or run from the repository root")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    value = data.get(section, {})
    if not isinstance(value, dict):
        raise PipelineError(f"{path}: section {section!r} must be a mapping, got {type(value).__name__}")
    return value


def _stage_params(path: Path, section: str, cls: Any) -> Any:
    """A stage's params dataclass from its ``params.yaml`` section; unknown keys are an error."""
    raw = _params(path, section)
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PipelineError(f"{path}: unknown {section} params {unknown}; valid: {sorted(known)}")
    # YAML gives lists; the frozen dataclasses hold tuples
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def _ingest_params(path: Path) -> Any:
    from pipeline.stages.ingest import IngestParams

    return _stage_params(path, "ingest", IngestParams)


def _fetch_params(args: argparse.Namespace) -> Any:
    """The ``fetch`` section of params.yaml, with the flags that override it."""
    from dataclasses import replace

    from pipeline.fetch.params import FetchParams

    params = _stage_params(args.params, "fetch", FetchParams)
    flags = {k: getattr(args, k, None) for k in ("site", "contact", "gias_base_url", "gov_uk_api")}
    return replace(params, **{k: v for k, v in flags.items() if v is not None})


def cmd_fetch(args: argparse.Namespace) -> int:
    """Run the fetch stage, or (--plan) say what it would fetch."""
    from pipeline.fetch.client import PoliteClient, RequestsTransport, check_polite
    from pipeline.fetch.manifest import MANIFEST_NAME
    from pipeline.stages import fetch

    params = _fetch_params(args)
    check_polite(params.site, params, "--site")
    since, until = fetch.parse_day(args.since, "--since"), fetch.parse_day(args.until, "--until")
    wanted = fetch.parse_kinds_arg(args.kinds, params.kinds)
    client = PoliteClient(RequestsTransport(), params)
    targets = fetch.scope(
        params, client, urns=args.urn or (), urns_file=args.urns, la=args.la, schools=args.schools, search=args.search
    )
    manifest = args.manifest or args.out / MANIFEST_NAME
    if args.plan:
        lines, n = fetch.plan(
            targets, args.out, params, client, manifest_path=manifest, since=since, until=until, wanted=wanted,
            refresh=args.refresh,
        )  # fmt: skip
        print(fetch.format_plan(lines, n, params, client.requests))
        return 0
    tally = fetch.run(
        targets, args.out, params, client, manifest_path=manifest, since=since, until=until, wanted=wanted,
        refresh=args.refresh, verify=args.verify,
    )  # fmt: skip
    print(fetch.format_tally(tally, args.out, manifest))
    problem = fetch.verdict(tally, params, manifest)
    if problem:
        raise PipelineError(problem)
    return 0


def cmd_fetch_reference(args: argparse.Namespace) -> int:
    """Download the GIAS and Ofsted MI reference files, or (--plan) say what would be downloaded."""
    from dataclasses import replace

    from pipeline.fetch import reference
    from pipeline.fetch.client import PoliteClient, RequestsTransport, check_polite
    from pipeline.fetch.manifest import MANIFEST_NAME
    from pipeline.stages import fetch

    params = _fetch_params(args)
    check_polite(params.gias_base_url, params, "fetch.gias_base_url")
    check_polite(params.gov_uk_api, params, "fetch.gov_uk_api")
    client = PoliteClient(RequestsTransport(), params)
    manifest = args.manifest or args.out / MANIFEST_NAME
    tally, lines = reference.run_reference(
        args.out, params, client, today=dt.date.today(), manifest_path=manifest, plan_only=args.plan
    )
    print(reference.format_reference(tally, lines, args.out, manifest, args.plan))
    problem = None if args.plan else fetch.verdict(tally, replace(params, max_failed_share=0.0), manifest)
    if problem:  # every reference file is needed: one failure fails the command
        raise PipelineError(problem)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Run the ingest stage."""
    from dataclasses import asdict

    from pipeline.incremental import jobs_arg, parse_shard
    from pipeline.stages import ingest

    n_docs, n_rejects = ingest.run(
        args.raw,
        args.documents,
        args.rejects,
        asdict(_ingest_params(args.params)),
        manifest=args.manifest,
        jobs=jobs_arg(args.jobs),
        shard=parse_shard(args.shard),
    )
    print(f"ingest: {n_docs} documents, {n_rejects} rejects -> {args.documents}, {args.rejects}")
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    """Run the parse stage."""
    from pipeline.incremental import jobs_arg
    from pipeline.stages import parse

    counts = parse.run(args.documents, args.out, jobs=jobs_arg(args.jobs))
    print("parse: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + f" -> {args.out}/")
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    """Run the link stage."""
    from pipeline.stages import link

    counts = link.run(args.parsed, args.reference, args.out, _stage_params(args.params, "link", link.LinkParams))
    print("link: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + f" -> {args.out}/")
    return 0


def _since(value: str | None) -> dt.date | None:
    """The ``--since`` date, or a message saying how to write it."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PipelineError(f"--since {value!r} is not a date; write it as YYYY-MM-DD") from None


def cmd_query(args: argparse.Namespace) -> int:
    """Answer a named query from the warehouse."""
    from pipeline.warehouse import queries

    since = _since(args.since)
    con = queries.connect_read_only(args.warehouse)
    try:
        df = queries.run_query(con, args.name, args.la, since)
    finally:
        con.close()
    sys.stdout.write(queries.render(df, args.format))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    """Write a synthetic corpus with its ground truth and a GIAS extract."""
    from pipeline.synth import generate as synth

    counts = synth.run(args.n, args.pdf_share, args.seed, args.out)
    print(
        f"synth: {counts['letters']} letters ({counts['txt']} text, {counts['pdf']} PDF), "
        f"{counts['schools']} schools -> {args.out}/raw, {args.out}/truth.jsonl, {args.out}/reference"
    )
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    """Merge the interim folders of shard runs."""
    from pipeline.stages import merge

    counts = merge.run(args.shards, args.out)
    print("merge: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + f" -> {args.out}/")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the LA strategy report pages."""
    from pipeline.stages import report

    params = _stage_params(args.params, "report", report.ReportParams)
    from pipeline.incremental import jobs_arg

    written = report.run(
        args.warehouse, args.out, params, args.metrics, args.la, _since(args.since), jobs=jobs_arg(args.jobs)
    )
    print(f"report: {len(written)} page(s) -> " + ", ".join(str(p) for p in written))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """Run SQL on the warehouse, read-only, with file access, ATTACH and extensions locked off (`connect_locked`)."""
    import duckdb

    from pipeline.warehouse import queries

    def locked(detail: str) -> PipelineError:
        return PipelineError(
            f"this command reads the warehouse only: file access, ATTACH and extensions are disabled ({detail}); "
            "to keep a result, write it with --format csv (or json) > FILE"
        )

    con = queries.connect_locked(args.warehouse)
    try:
        # DuckDB refuses an ATTACH of a file, not of ':memory:'; neither belongs here
        if any(s.type == duckdb.StatementType.ATTACH for s in con.extract_statements(args.query)):
            raise locked("ATTACH is refused")
        df = con.execute(args.query).df()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        if isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in first:
            raise locked(first) from None
        raise PipelineError(
            f"{exc} (the warehouse is opened read-only; `ofsted-nlp query --help` lists the views)"
        ) from None
    finally:
        con.close()
    sys.stdout.write(queries.render(df, args.format))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """Run the load stage."""
    from pipeline.stages import load

    sources = {"documents": args.documents, "rejects": args.rejects}
    sources.update({name: args.parsed / f"{name}.parquet" for name in load.PARSE_TABLES})
    sources.update({name: args.embedded / f"{name}.parquet" for name in load.EMBED_TABLES})
    sources.update({name: args.classified / f"{name}.parquet" for name in load.CLASSIFY_TABLES})
    sources.update({name: args.linked / f"{name}.parquet" for name in load.LINK_TABLES})
    params = _stage_params(args.params, "load", load.LoadParams)
    counts = load.run(sources, args.warehouse, full=args.full, params=params)
    print("load: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + f" -> {args.warehouse}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Run the evaluate stage."""
    from pipeline.stages import evaluate

    m = evaluate.run(args.warehouse, args.gold, args.out, args.misses)
    summary: dict[str, Any] = {
        "extraction": {
            "field_accuracy": m["field_accuracy"],
            "n_field_values": m["n_field_values"],
            "recommendations_f1": m["recommendations"]["f1"],
            "support_types_f1": m["support_types"]["f1"],
            "held_out": False,
        }
    }
    print(
        f"evaluate: field accuracy {m['field_accuracy']} over {m['n_field_values']} values in {m['n_letters']} "
        f"letters; recommendations F1 {m['recommendations']['f1']} (n={m['recommendations']['n_gold']}); "
        f"support types F1 {m['support_types']['f1']} -> {args.out}"
    )
    if args.labels:
        t = evaluate.run_tagger(
            args.labels, args.label_embeddings, args.model, _params(args.params, "evaluate"), args.tagger_out,
            args.tagger_plot,
        )  # fmt: skip
        print(
            f"evaluate: tagger {t['chosen']} on {t['n_test_units']} held-out units: macro-F1 {t['macro_f1']} "
            f"(keyword baseline {t['keyword_macro_f1']}), polarity accuracy {t['polarity_accuracy']}; "
            f"support types F1 {t['support_types_model']['f1']} (rules alone {t['support_types_rules']['f1']}) "
            f"-> {args.tagger_out}"
        )
        summary["tagger"] = {
            "chosen": t["chosen"],
            "n_test_units": t["n_test_units"],
            "macro_f1": t["macro_f1"],
            "micro_f1": t["micro_f1"],
            "polarity_accuracy": t["polarity_accuracy"],
            "keyword_macro_f1": t["keyword_macro_f1"],
            "support_types_rules_f1": t["support_types_rules"]["f1"],
            "support_types_f1": t["support_types_model"]["f1"],
        }
    if args.search_queries:
        from pipeline.search.index import SearchParams

        params = _stage_params(args.params, "search", SearchParams)
        q = evaluate.run_search(args.warehouse, args.search_queries, args.query_embeddings, params, args.search_out)
        print(
            f"evaluate: search on {q['n_queries']} judged queries: nDCG@10 hybrid {q['hybrid']['ndcg@10']}, "
            f"dense {q['dense']['ndcg@10']}, lexical {q['lexical']['ndcg@10']}; MRR hybrid {q['hybrid']['mrr']} "
            f"-> {args.search_out}"
        )
        summary["search"] = {
            "n_queries": q["n_queries"],
            **{
                f"{name}_{k.replace('@', '_at_')}": v
                for name in ("hybrid", "dense", "lexical")
                for k, v in q[name].items()
            },
        }
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Run the train stage."""
    from pipeline.search.encoder import load_encoder
    from pipeline.stages import train
    from pipeline.tagging.labels import read_labels

    params = _stage_params(args.params, "train", train.TrainParams)
    units = read_labels(args.labels)
    report = train.run(units, load_encoder(params.batch_size), params, args.model, args.embeddings)
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    args.metrics.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    cv = report["cross_validation"]
    summary = ", ".join(f"{k} {v['tags']['macro_f1']}" for k, v in cv.items())
    first = next(iter(cv.values()), {"n": 0, "scored": "real"})
    print(
        f"train: out-of-fold macro-F1 on the {first['n']} {first['scored']} units of the train split: {summary}; "
        f"chose {report['chosen']} -> {args.model}"
    )
    return 0


def cmd_label_sheet(args: argparse.Namespace) -> int:
    """Write a labelling sheet: the units of the ingested documents that are not labelled yet."""
    import pyarrow.parquet as pq

    from pipeline.readers.units import make_nlp
    from pipeline.stages.embed import unit_spans
    from pipeline.tagging.labels import read_labels, sheet

    if args.out.exists():
        raise PipelineError(f"{args.out} exists and may hold labels: add it with `ofsted-nlp label-add {args.out}`")
    if not args.documents.exists():
        raise PipelineError(f"{args.documents} not found; run the ingest stage first (`dvc repro ingest`)")
    docs = [
        d
        for d in pq.read_table(args.documents, columns=["doc_id", "source", "text"]).to_pylist()
        if args.source is None or args.source in d["source"]
    ]
    source = {d["doc_id"]: d["source"] for d in docs}
    spans = unit_spans(((d["doc_id"], d["text"]) for d in docs), make_nlp())
    rows, same_text = sheet([{**r, "source": source[r["doc_id"]]} for r in spans], read_labels(args.labels))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(
        f"label-sheet: {len(rows)} units to label from {len({r['doc_id'] for r in rows})} of {len(docs)} documents "
        f"({same_text} more left out: their text is labelled already) -> {args.out}"
    )
    return 0


def cmd_label_add(args: argparse.Namespace) -> int:
    """Append a sheet's labelled rows to the labels file, each new unit with its fixed split."""
    from pipeline.tagging.labels import LabelParams, add_labelled

    if not args.sheet.exists():
        raise PipelineError(f"labelling sheet {args.sheet} not found; write one with `ofsted-nlp label-sheet`")
    params = _stage_params(args.params, "labels", LabelParams)
    n = add_labelled(args.sheet, args.labels, params.test_share)
    print(
        f"label-add: {n['added']} units added ({n['train']} train, {n['test']} test); {n['unlabelled']} rows "
        f"not labelled yet, {n['already_labelled']} labelled already -> {args.labels}"
    )
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    """Run the embed stage."""
    from pipeline.incremental import jobs_arg
    from pipeline.search.encoder import LazyEncoder
    from pipeline.stages import embed

    params = _stage_params(args.params, "embed", embed.EmbedParams)
    counts = embed.run(
        args.documents,
        args.queries,
        args.cache,
        args.out,
        LazyEncoder(params.batch_size),
        None,  # spaCy is built only if a document is new
        params,
        jobs=jobs_arg(args.jobs),
    )
    print(
        f"embed: {counts['unit_spans']} units, {counts['queries']} queries; "
        f"{counts['encoded']} texts encoded, the rest from the cache -> {args.out}/"
    )
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Run the classify stage, or classify TEXT arguments / stdin lines."""
    from pipeline.search.encoder import load_encoder
    from pipeline.stages import classify, train

    model = train.load(args.model)
    if args.embedded:
        from pipeline.incremental import jobs_arg

        counts = classify.run(
            args.embedded / "unit_spans.parquet",
            args.embedded / "unit_embeddings.parquet",
            model,
            args.out,
            jobs=jobs_arg(args.jobs),
        )
        print("classify: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + f" -> {args.out}/")
        return 0
    texts = list(args.texts) or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    results = classify.classify_texts(texts, model, load_encoder())
    for r in results:
        if args.format == "jsonl":
            print(json.dumps(r, ensure_ascii=False))
        else:
            tags = ", ".join(f"{t['tag']} ({t['score']:.2f})" for t in r["tags"]) or "-"
            support = ", ".join(r["support_types"]) or "-"
            print(f"{r['polarity']:<9} {tags} | support: {support} | {r['text']}")
    return 0


def _present(value: Any) -> bool:
    return value is not None and value == value  # NaN != NaN


def cmd_search(args: argparse.Namespace) -> int:
    """Search the warehouse for units like the query."""
    from pipeline.search import index as search

    since = _since(args.since)
    params = _stage_params(args.params, "search", search.SearchParams) if args.params.exists() else None
    searcher = search.Searcher(search.open_index(args.warehouse, params))
    filters = {"la": args.la, "kind": args.kind, "tag": args.tag, "since": since, "doc_type": args.doc_type}
    df = searcher.similar(args.query, k=args.k, **filters)
    if args.format == "json":
        cols = ["score", "cosine", "lexical", "unit_id", "doc_id", "doc_type", "school", "la", "date", "letter_kind",
                "section", "polarity", "tags", "next_outcome", "why", "text", "start", "end"]  # fmt: skip
        from pipeline.warehouse.queries import render

        sys.stdout.write(render(df[cols], "json"))
        return 0
    if not len(df):
        print("(no results: loosen the filters)")
        return 0
    for rank, r in enumerate(df.to_dict("records"), 1):
        where = " · ".join(str(r[c]) for c in ("doc_type", "school", "la", "date", "section") if _present(r[c]))
        text = str(r["text"])
        text = text if len(text) <= 160 else text[:157] + "..."
        nxt = r["next_outcome"] if _present(r["next_outcome"]) else "-"
        print(f"{rank:>2}. {r['score']:.3f}  {where}\n    {text}\n    why: {r['why']}; next: {nxt}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    """Print one record per document."""
    from pipeline.stages.extract import expand, extract

    paths = expand(args.paths)
    params = _ingest_params(args.params) if args.params.exists() else _default_ingest_params()
    tag = None
    if args.issues:
        from functools import partial

        from pipeline.readers.units import make_nlp
        from pipeline.search.encoder import load_encoder
        from pipeline.stages import classify, train

        tag = partial(classify.record_issues, nlp=make_nlp(), encoder=load_encoder(), model=train.load(args.model))
    records = extract(paths, params, tag)
    progress = None
    if len(paths) >= 20 and sys.stderr.isatty():
        from tqdm import tqdm

        progress = tqdm(total=len(paths), unit="doc", file=sys.stderr)
    rejected = 0
    rows = []
    for rec in records:
        rejected += rec["status"] == "rejected"
        if rec["status"] == "rejected":
            print(f"extract: rejected {rec['source']}: {rec['error']}", file=sys.stderr)
        if args.format == "jsonl":
            print(json.dumps(rec, ensure_ascii=False), flush=False)
        else:
            rows.append(rec)
        if progress:
            progress.update()
    if progress:
        progress.close()
    if args.format == "table":
        print(_table(rows))
    return 1 if args.strict and rejected else 0


def _default_ingest_params() -> Any:
    from pipeline.stages.ingest import IngestParams

    return IngestParams()


_TABLE_COLS = (
    ("source", 28),
    ("doc_type", 17),
    ("status", 8),
    ("letter_kind", 29),
    ("letter_date", 11),
    ("school_name", 28),
    ("postcode", 8),
    ("local_authority", 16),
    ("effective_action", 9),
    ("recs", 4),
)


def _table(rows: list[dict[str, Any]]) -> str:
    def cell(rec: dict[str, Any], key: str, width: int) -> str:
        value = len(rec["recommendations"]) if key == "recs" else rec.get(key)
        text = "" if value is None else Path(str(value)).name if key == "source" else str(value)
        return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)

    head = "  ".join(("effective" if k == "effective_action" else k)[:w].ljust(w) for k, w in _TABLE_COLS)
    lines = [head.rstrip(), "  ".join("-" * w for _, w in _TABLE_COLS)]
    lines += ["  ".join(cell(r, k, w) for k, w in _TABLE_COLS).rstrip() for r in rows]
    return "\n".join(lines)


def cmd_contracts(args: argparse.Namespace) -> int:
    """Print the table contracts as Markdown."""
    from pipeline.warehouse.contracts import markdown

    print(markdown(), end="")
    return 0


_QUERY_NAMES = (
    "recurring_weaknesses",
    "school_timeline",
    "support_then_outcome",
    "category_vs_letters",
    "headline",
    "weakness_evidence",
    "schools_of_concern",
    "what_worked",
    "unmatched_documents",
    "missing_fields",
    "rejected_inputs",
    "classifier_versions",
)
"""The named queries (`pipeline.warehouse.queries.QUERIES`), listed here so `--help` needs no import of duckdb."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with a subcommand per stage."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="ofsted-nlp",
        description="Turn Ofsted inspection letters into structured, grounded records.",
        epilog="Example:\n  ofsted-nlp extract corpus/raw/000_9679ccaa734ab79b.txt --format jsonl",
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, epilog=f"Example:\n  {example}", formatter_class=fmt)
        return p

    p = add(
        "extract",
        "Print the record of each document (letters parsed; others typed).",
        "ofsted-nlp extract corpus/raw --format table",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to read")
    p.add_argument("--format", choices=("jsonl", "table"), default="jsonl", help="output format (default jsonl)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any document is rejected")
    p.add_argument(
        "--issues", action="store_true", help="also fill `issues` with the trained tagger (loads the model: about 9 s)"
    )
    p.add_argument("--model", type=Path, default=config.MODEL_DIR, help="the trained tagger, for --issues")
    p.add_argument("--params", type=Path, default=config.PARAMS, help="params.yaml (defaults if absent)")
    p.set_defaults(func=cmd_extract)

    p = add(
        "fetch",
        "Stage fetch: the chosen schools' documents from Ofsted's reports site -> corpus/raw/ofsted, with a manifest.",
        "ofsted-nlp fetch --la Luton --schools corpus/reference/edubasealldata_sample.csv --since 2012-09-01 "
        "--kinds monitoring_letter,section8_letter --contact you@example.org --plan",
    )
    p.add_argument("--urn", type=int, action="append", metavar="N", help="a school's URN (repeatable)")
    p.add_argument("--urns", type=Path, metavar="FILE", help="a file of URNs, one a line")
    p.add_argument("--la", metavar="NAME|CODE", help="every establishment of this LA in the --schools file")
    p.add_argument("--schools", type=Path, metavar="PATH", help="a GIAS establishments CSV (edubasealldata*.csv)")
    p.add_argument("--search", metavar="URL", help="a page of the site's search results: every school on every page")
    p.add_argument("--since", help="only documents dated on or after this day (YYYY-MM-DD)")
    p.add_argument("--until", help="only documents dated on or before this day (YYYY-MM-DD)")
    p.add_argument("--kinds", metavar="K,K", help="only these kinds (of fetch.kinds, and unknown; default all)")
    p.add_argument(
        "--plan", action="store_true", help="list the pages, print what would be fetched and how long; download nothing"
    )
    p.add_argument("--site", help="the reports site (default fetch.site); a mirror or a local test server")
    p.add_argument("--contact", help="your e-mail or URL, for the User-Agent (default fetch.contact); needed off-site")
    p.add_argument("--out", type=Path, default=config.RAW / "ofsted", help="folder of the files (corpus/raw/ofsted)")
    p.add_argument("--manifest", type=Path, help="the manifest CSV (default OUT/.manifest.csv)")
    p.add_argument("--refresh", action="store_true", help="ask again for files held, if changed (ETag, Last-Modified)")
    p.add_argument("--verify", action="store_true", help="check held files' sha256, not only their size")
    p.add_argument("--params", type=Path, default=config.PARAMS)
    p.set_defaults(func=cmd_fetch)

    p = add(
        "fetch-reference",
        "Download the GIAS establishments and links files and Ofsted's schools MI -> corpus/reference, and a manifest.",
        "ofsted-nlp fetch-reference --contact you@example.org --plan",
    )
    p.add_argument("--plan", action="store_true", help="print what would be downloaded; download nothing")
    p.add_argument("--contact", help="your e-mail or URL for the User-Agent (default fetch.contact)")
    p.add_argument("--gias-base-url", help="where the GIAS files are (default fetch.gias_base_url)")
    p.add_argument("--gov-uk-api", help="GOV.UK's content API (default fetch.gov_uk_api)")
    p.add_argument("--out", type=Path, default=config.REFERENCE, help="folder of the files (default corpus/reference)")
    p.add_argument("--manifest", type=Path, help="the manifest CSV (default OUT/.manifest.csv)")
    p.add_argument("--params", type=Path, default=config.PARAMS)
    p.set_defaults(func=cmd_fetch_reference)

    p = add(
        "ingest",
        "Stage ingest: raw files -> documents and rejects tables.",
        "ofsted-nlp ingest --raw corpus/raw --documents corpus/interim/documents.parquet "
        "--rejects corpus/interim/rejects.parquet",
    )
    p.add_argument("--raw", type=Path, default=config.RAW)
    p.add_argument("--documents", type=Path, default=config.DOCUMENTS)
    p.add_argument("--rejects", type=Path, default=config.REJECTS)
    p.add_argument("--params", type=Path, default=config.PARAMS)
    p.add_argument(
        "--manifest", type=Path, help="file list of the last run: unchanged files are not read again (incremental)"
    )
    p.add_argument("--jobs", type=int, default=1, help="processes reading files (0: every core; default 1)")
    p.add_argument("--shard", metavar="K/N", help="only the files of shard K of N (by a hash of the path)")
    p.set_defaults(func=cmd_ingest)

    p = add(
        "parse",
        "Stage parse: documents -> the tables of letters, reports, case studies and LA plans.",
        "ofsted-nlp parse --documents corpus/interim/documents.parquet --out corpus/interim/parsed",
    )
    p.add_argument("--documents", type=Path, default=config.DOCUMENTS)
    p.add_argument("--out", type=Path, default=config.PARSED_DIR)
    p.add_argument("--jobs", type=int, default=1, help="processes parsing documents (0: every core; default 1)")
    p.set_defaults(func=cmd_parse)

    p = add(
        "link",
        "Stage link: reference files (schools, links, outcomes, LA categories) in; letters and reports linked.",
        "ofsted-nlp link --parsed corpus/interim/parsed --reference corpus/reference --out corpus/interim/linked",
    )
    p.add_argument("--parsed", type=Path, default=config.PARSED_DIR, help="the parse stage's output")
    p.add_argument("--reference", type=Path, default=config.REFERENCE, help="folder of reference CSV files")
    p.add_argument("--out", type=Path, default=config.LINKED_DIR)
    p.add_argument("--params", type=Path, default=config.PARAMS)
    p.set_defaults(func=cmd_link)

    p = add(
        "load",
        "Stage load: interim tables -> DuckDB warehouse (updated or rebuilt aside, swapped in whole).",
        "ofsted-nlp load --parsed corpus/interim/parsed --warehouse warehouse/ofsted.duckdb",
    )
    p.add_argument("--documents", type=Path, default=config.DOCUMENTS)
    p.add_argument("--rejects", type=Path, default=config.REJECTS)
    p.add_argument("--parsed", type=Path, default=config.PARSED_DIR, help="the parse stage's output")
    p.add_argument("--linked", type=Path, default=config.LINKED_DIR, help="the link stage's output")
    p.add_argument("--embedded", type=Path, default=config.EMBEDDED_DIR, help="the embed stage's output")
    p.add_argument("--classified", type=Path, default=config.CLASSIFIED_DIR, help="the classify stage's output")
    p.add_argument("--warehouse", type=Path, default=config.WAREHOUSE)
    p.add_argument(
        "--full", action="store_true", help="rebuild the warehouse whole (by default only changed documents' rows)"
    )
    p.add_argument("--params", type=Path, default=config.PARAMS)
    p.set_defaults(func=cmd_load)

    p = add(
        "evaluate",
        "Stage evaluate: score the warehouse's letters against gold records.",
        "ofsted-nlp evaluate --warehouse warehouse/ofsted.duckdb --gold corpus/gold/letters.jsonl "
        "--out metrics/extraction.json --misses metrics/extraction_misses.json",
    )
    p.add_argument("--warehouse", type=Path, default=config.WAREHOUSE)
    p.add_argument("--gold", type=Path, default=config.GOLD_LETTERS)
    p.add_argument("--out", type=Path, default=config.METRICS, help="metrics JSON (numbers only)")
    p.add_argument("--misses", type=Path, default=config.METRICS_MISSES, help="JSON list of every wrong value")
    p.add_argument("--labels", type=Path, help="labelled units: also score the issue tagger on their test split")
    p.add_argument("--label-embeddings", type=Path, default=config.LABEL_EMBEDDINGS, help="written by train")
    p.add_argument("--model", type=Path, default=config.MODEL_DIR, help="the trained tagger")
    p.add_argument("--tagger-out", type=Path, default=config.TAGGER_METRICS, help="tagger metrics JSON")
    p.add_argument("--tagger-plot", type=Path, default=config.TAGGER_PLOT, help="per-tag F1 for dvc plots")
    p.add_argument("--search-queries", type=Path, help="judged search queries: also score the search")
    p.add_argument(
        "--query-embeddings", type=Path, default=config.EMBEDDED_DIR / "query_embeddings.parquet", help="from embed"
    )
    p.add_argument("--search-out", type=Path, default=config.SEARCH_METRICS, help="search metrics JSON")
    p.add_argument("--summary", type=Path, default=config.SUMMARY_METRICS, help="headline figures (dvc metrics)")
    p.add_argument("--params", type=Path, default=config.PARAMS)
    p.set_defaults(func=cmd_evaluate)

    p = add(
        "train",
        "Stage train: fit the issue taggers on the train split of the labels, keep the best by cross-validation.",
        "ofsted-nlp train --labels corpus/labels/units.jsonl --model models/tagger --metrics metrics/train.json",
    )
    p.add_argument("--labels", type=Path, default=config.LABELS)
    p.add_argument("--model", type=Path, default=config.MODEL_DIR)
    p.add_argument("--embeddings", type=Path, default=config.LABEL_EMBEDDINGS, help="embeddings of labelled units")
    p.add_argument("--metrics", type=Path, default=config.TRAIN_METRICS, help="cross-validation report")
    p.add_argument("--params", type=Path, default=config.PARAMS)
    p.set_defaults(func=cmd_train)

    p = add(
        "label-sheet",
        "Write the units not labelled yet, with blank labels and their neighbours, for a reader to label (GUIDE.md).",
        "ofsted-nlp label-sheet --source corpus/raw/2027 --out sheets/2027.jsonl",
    )
    p.add_argument("--documents", type=Path, default=config.DOCUMENTS, help="the ingest stage's documents")
    p.add_argument("--labels", type=Path, default=config.LABELS)
    p.add_argument("--source", help="only documents whose source path contains this")
    p.add_argument("--out", type=Path, required=True, help="the sheet to write (JSON lines; must not exist)")
    p.set_defaults(func=cmd_label_sheet)

    p = add(
        "label-add",
        "Append the labelled rows of a sheet to the labels file; each new unit gets its fixed train/test split.",
        "ofsted-nlp label-add sheets/2027.jsonl",
    )
    p.add_argument("sheet", type=Path, metavar="SHEET", help="a sheet from label-sheet, rows labelled by reading")
    p.add_argument("--labels", type=Path, default=config.LABELS)
    p.add_argument("--params", type=Path, default=config.PARAMS, help="params.yaml (its labels section)")
    p.set_defaults(func=cmd_label_add)

    p = add(
        "embed",
        "Stage embed: cut every document into units and embed each once (cached by text).",
        "ofsted-nlp embed --documents corpus/interim/documents.parquet --out corpus/interim/embedded",
    )
    p.add_argument("--documents", type=Path, default=config.DOCUMENTS)
    p.add_argument("--queries", type=Path, help="judged search queries to embed for evaluation")
    p.add_argument("--cache", type=Path, default=config.EMBEDDING_CACHE, help="vectors kept between runs")
    p.add_argument("--out", type=Path, default=config.EMBEDDED_DIR)
    p.add_argument("--params", type=Path, default=config.PARAMS)
    p.add_argument(
        "--jobs", type=int, default=1, help="processes cutting new documents into units (0: every core; default 1)"
    )
    p.set_defaults(func=cmd_embed)

    p = add(
        "classify",
        "Tag units with issue tags, polarity and support types: TEXT arguments, stdin lines, or (stage) documents.",
        'ofsted-nlp classify "Governors do not challenge leaders." --format jsonl',
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help="units to classify (default: one per line of stdin)")
    p.add_argument("--format", choices=("jsonl", "table"), default="table", help="output format for TEXT")
    p.add_argument("--model", type=Path, default=config.MODEL_DIR, help="the trained tagger")
    p.add_argument("--embedded", type=Path, help="stage mode: classify every unit the embed stage wrote there")
    p.add_argument("--out", type=Path, default=config.CLASSIFIED_DIR, help="stage mode: output folder")
    p.add_argument(
        "--jobs", type=int, default=1, help="stage mode: processes classifying batches of units (0: every core)"
    )
    p.set_defaults(func=cmd_classify)

    p = add(
        "query",
        "Answer a named query from the warehouse: " + ", ".join(_QUERY_NAMES) + ".",
        "ofsted-nlp query recurring_weaknesses --la Luton --since 2012-09-01 --format table",
    )
    p.add_argument("name", choices=_QUERY_NAMES, metavar="NAME", help="one of: " + ", ".join(_QUERY_NAMES))
    p.add_argument("--la", help="only this local authority (case-insensitive; %% wildcards allowed)")
    p.add_argument("--since", help="only documents and events on or after this date (YYYY-MM-DD)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--warehouse", type=Path, default=config.WAREHOUSE)
    p.set_defaults(func=cmd_query)

    p = add(
        "report",
        "Stage report: the LA strategy report, one self-contained HTML page per LA and one for all LAs.",
        "ofsted-nlp report --la Luton --since 2012-09-01 --out reports",
    )
    p.add_argument("--la", help="only this LA's page (case-insensitive; %% wildcards allowed)")
    p.add_argument("--since", help="only documents and events on or after this date (YYYY-MM-DD)")
    p.add_argument("--warehouse", type=Path, default=config.WAREHOUSE)
    p.add_argument("--metrics", type=Path, default=config.SUMMARY_METRICS, help="the tagger's held-out figures")
    p.add_argument("--params", type=Path, default=config.PARAMS, help="params.yaml (its report section)")
    p.add_argument("--out", type=Path, default=config.REPORTS, help="folder of the pages (default reports)")
    p.add_argument("--jobs", type=int, default=1, help="processes writing pages (0: every core; default 1)")
    p.set_defaults(func=cmd_report)

    p = add(
        "merge",
        "Merge the interim folders of --shard runs (one per machine) into one, for the load stage.",
        "ofsted-nlp merge shards/1 shards/2 --out corpus/interim",
    )
    p.add_argument("shards", nargs="+", type=Path, metavar="SHARD", help="interim folders of the shard runs")
    p.add_argument("--out", type=Path, required=True, help="the merged interim folder")
    p.set_defaults(func=cmd_merge)

    p = add(
        "synth",
        "Write synthetic HMI letters (text and PDF), the fields and tags each used, and a GIAS extract of the schools.",
        "ofsted-nlp synth --n 1000 --pdf-share 0.3 --seed 1 /tmp/synth",
    )
    p.add_argument("out", type=Path, metavar="OUT", help="folder to create: OUT/raw, OUT/truth.jsonl, OUT/reference")
    p.add_argument("--n", type=int, default=1000, help="letters (default 1000)")
    p.add_argument("--pdf-share", type=float, default=0.3, help="share written as PDF (default 0.3)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same bytes")
    p.set_defaults(func=cmd_synth)

    p = add(
        "search",
        "Find the units (sentences, recommendations, case-study items) most like QUERY: meaning and exact words.",
        'ofsted-nlp search "governors do not challenge leaders" --k 5 --kind ri_monitoring',
    )
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--k", type=int, default=10, help="results (default 10; at most 2 per document)")
    p.add_argument("--la", help="only this local authority (case-insensitive)")
    p.add_argument("--kind", choices=sorted(LETTER_KINDS), help="only letters of this kind")
    p.add_argument("--tag", choices=ISSUE_TAGS, metavar="TAG", help="only units with this issue tag")
    p.add_argument("--since", help="only documents dated on or after this day (YYYY-MM-DD)")
    p.add_argument("--doc-type", choices=sorted(DOC_TYPES), help="only this kind of document")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--warehouse", type=Path, default=config.WAREHOUSE)
    p.add_argument("--params", type=Path, default=config.PARAMS, help="params.yaml (its search section)")
    p.set_defaults(func=cmd_search)

    p = add(
        "sql",
        "Run SQL on the warehouse, read-only (tables and the named-query views); reading or writing files, "
        "ATTACH and extensions are disabled.",
        'ofsted-nlp sql "SELECT tag, count(*) FROM issues GROUP BY tag ORDER BY 2 DESC"',
    )
    p.add_argument("query", metavar="SQL")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--warehouse", type=Path, default=config.WAREHOUSE)
    p.set_defaults(func=cmd_sql)

    p = add("contracts", "Print every table's contract (columns, types, keys) as Markdown.", "ofsted-nlp contracts")
    p.set_defaults(func=cmd_contracts)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ofsted-nlp`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except PipelineError as exc:
        print(f"ofsted-nlp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
