"""A recipe's RESULTS.md: the tables of its results file under a header naming commit, machine and seeds."""

from __future__ import annotations

import sys

from embspace.report import load_comparisons, load_rows, load_written_by, render_markdown
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError
from embspace.utils.provenance import machine, source_commit


def run_seeds(rows: list[dict], seeds: str) -> str:
    """The seeds of a run: those given as text, and the seed fields and per-seed lists of its rows."""
    found = {f"{k}={r[k]}" for r in rows for k in r if "seed" in k and k != "seeds"}
    found |= {f"{r['system']}: seeds " + ",".join(str(s["seed"]) for s in r["seeds"]) for r in rows if r.get("seeds")}
    return "; ".join(x for x in (seeds.strip(), ", ".join(sorted(found))) if x) or "not given"


def written_by(results: str) -> str:
    """The commits and machines that wrote the rows of ``results`` (``written_by`` in the file)."""
    writers = load_written_by(results)
    if not writers:
        return f"commit {source_commit()} (of this checkout; the file does not record its own); machine {machine()}"
    return "; ".join(f"commit {w['commit']} on {w['machine']}" for w in writers)


def markdown_page(results: str, seeds: str) -> str:
    """The tables of ``results`` under a header: the command that made them, commit, machine, seeds."""
    rows = load_rows(results)
    header = ["# Results", "",
              f"Generated from `{results}` by `python -m embspace.bin.report --from-results {results} --markdown ...`;",
              "do not edit by hand (rerun the recipe, then that command).", "",
              f"- written by: {written_by(results)}", f"- seeds: {run_seeds(rows, seeds)}", "", ""]
    tables = render_markdown(rows, load_comparisons(results)).split("\n", 2)[2]  # without its own "# Results" title
    return "\n".join(header) + tables


def write_pages(results: str, seeds: str, markdown: str | None, docs: list[str]) -> None:
    """``markdown``: the whole page; ``docs``: every results block of those documents (embspace.reporting.docs)."""
    from embspace.reporting.docs import update_document

    if markdown:
        atomic_write_text(markdown, markdown_page(results, seeds))
        print(f"report: tables of {results} -> {markdown}", file=sys.stderr)
    rows = load_rows(results)
    provenance = (f"Generated from `{results}` by `python -m embspace.bin.report --from-results ... --update-docs ...`; "
                  f"written by {written_by(results)}; seeds: {run_seeds(rows, seeds)}.")
    total = 0
    for doc in docs:  # a file without a block (docs/*.md) is left as it is; none with a block is an error
        n = update_document(doc, results, provenance)
        total += n
        print(f"report: {n} results block(s) of {doc} from {results}" if n else f"report: {doc}: no results block",
              file=sys.stderr)
    if docs and total == 0:
        raise DataError("no results block (<!-- results systems=... --> ... <!-- /results -->) in "
                        + ", ".join(docs), docs[0])
