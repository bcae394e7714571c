"""The command line beside pytest: ``python -m pytest_latency_sla merge SHARD.json ...``.

Merges the JSON reports of CI shards into one report and writes it as ``--sla-report``
and ``--sla-save`` do in a pytest run (the same options, parsed by the same settings
declarations). Exit status: 0 merged; 1 merged, and a measured test failed in its shard,
an SLA test failed there without a measurement, or a shard was interrupted; 2 nothing
merged or a report not written (a sentence on stderr says why).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from . import __version__
from .settings import OPTIONS, SettingError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .report.files import Target
    from .schema import Document, SlaRecord

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def _option(name: str) -> tuple[str, str, str | None]:
    """(flag, help, metavar) of a setting, from its one declaration."""
    option = next(o for o in OPTIONS if o.name == name)
    return option.cli, option.help, option.metavar


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_latency_sla",
        description="Tools for the reports of pytest-latency-sla.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    merge = commands.add_parser(
        "merge",
        help="merge the JSON reports of CI shards into one report",
        description=(
            "Merge the JSON reports of CI shards (each written with "
            "--sla-report=json:PATH) into the report of one run, and write it as a pytest "
            "run would: the terminal table by default, or the reports named."
        ),
    )
    merge.add_argument("reports", nargs="+", metavar="REPORT", help="a shard's JSON report")
    flag, text, metavar = _option("report")
    text = text.replace("(default: none)", "(default: term)")
    merge.add_argument(
        flag, action="append", nargs="?", const="term", default=[], metavar=metavar, help=text
    )
    flag, text, _ = _option("save")
    merge.add_argument(flag, metavar="PATH", help=text)
    merge.add_argument(
        "--allow-mixed",
        action="store_true",
        help="merge shards measured on different machines, software or settings (the "
        "report names the differences); refused otherwise",
    )
    merge.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors and the files written"
    )
    return parser


def _merge(arguments: argparse.Namespace) -> int:
    from .merge import MergeError, load_shard, merge_runs, merged_records
    from .report import files
    from .report.document import build_document

    flag, _, _ = _option("report")
    parse = next(o for o in OPTIONS if o.name == "report").parse
    try:
        requested = [parse(spec) for spec in arguments.sla_report if spec.strip()] or ["term"]
    except SettingError as exc:
        return _error(f"{flag}: {exc}")
    try:  # (as a pytest run reads it: a test path or '-' is refused)
        next(o for o in OPTIONS if o.name == "save").parse(arguments.sla_save or "")
    except SettingError as exc:
        return _error(f"{_option('save')[0]}: {exc}")
    wanted = files.targets(_targets(requested), arguments.sla_save, os.environ)
    problem = files.clash(wanted, os.getcwd(), None)
    if problem:
        return _error(problem)
    # A merged report written over a shard it reads would lose that shard (a CI retry
    # of the same merge would then fail).
    reads = {os.path.realpath(path): path for path in arguments.reports}
    for target in wanted:
        full = files.target_path(target, os.getcwd())
        shard = reads.get(os.path.realpath(full))
        if shard is not None:
            return _error(
                f"the merged {target.label} would overwrite {shard!r}, a report this "
                "merge reads; write it to another path"
            )
        try:
            # Nor a file that is not a report: refused before anything is written.
            if not target.append:
                files.check_ours(full)
        except (OSError, files.NotOursError) as exc:
            return _error(f"could not write the merged {target.label} to {target.path}: {exc}")
    try:
        shards = [load_shard(path) for path in arguments.reports]
        run = merge_runs(shards, allow_mixed=arguments.allow_mixed)
        results, attempts = merged_records(shards)
    except MergeError as exc:
        return _error(str(exc))
    # Each test once (the first shard's entry); one measured in another shard is not.
    seen = {r["nodeid"] for r in results}
    unmeasured = []
    for entry in (e for shard in shards for e in shard.unmeasured):
        if entry["nodeid"] not in seen:
            seen.add(entry["nodeid"])
            unmeasured.append(entry)
    document = build_document(results, run, __version__, attempts, unmeasured)
    if "term" in (kind for kind, _ in _targets(requested)) and not arguments.quiet:
        _print_table(document)
    stopped = [s["path"] for s in run["merged_from"] or () if s["interrupted"]]
    wanted, why = _saving(wanted, results, stopped, arguments.sla_save)
    if why:
        print(f"sla: {why}", file=sys.stderr)
    written, errors = files.write_reports(document, wanted, os.getcwd())
    for label, path in written:
        print(f"sla: {label} written to {path}")
    for error in errors:
        print(f"sla: {error}", file=sys.stderr)
    if errors:
        return EXIT_ERROR
    if stopped:
        # Partial results must not pass the merge job, the one gate, as a whole run.
        print(
            f"sla: {', '.join(stopped)} {'was' if len(stopped) == 1 else 'were'} interrupted: "
            "the merged results are partial",
            file=sys.stderr,
        )
    failed = any(r["outcome"] == "failed" for r in document["results"])
    return EXIT_FAILED if failed or document["unmeasured"] or stopped else EXIT_OK


def _saving(
    wanted: list[Target], results: list[SlaRecord], stopped: list[str], save: str | None
) -> tuple[list[Target], str]:
    """The targets to write, and why ``--sla-save`` writes none ("" when it does): the
    rules of a pytest run (``baseline.save_refusal``), an interrupted shard standing for
    a stopped run. Nor is a JSON report at the baseline's path written then."""
    from .report import files
    from .saving import save_refusal

    where = [os.path.realpath(files.target_path(t, os.getcwd())) for t in wanted]
    saved = [w for w, t in zip(where, wanted, strict=True) if t.kind == "baseline"]
    if not saved or not save:
        return wanted, ""
    partial = f"{', '.join(stopped)} {'was' if len(stopped) == 1 else 'were'} interrupted"
    exists = os.path.exists(saved[0])
    why = save_refusal(save, results, partial if stopped else "", "these reports", exists)
    if not why:
        return wanted, ""
    for target, full in zip(wanted, where, strict=True):
        if full in saved and target.kind != "baseline":
            why += f" (nor the SLA {target.label} at {target.path}, the same file)"
    return [t for t, w in zip(wanted, where, strict=True) if w not in saved], why


def _print_table(document: Document) -> None:
    from .report import labels, terminal
    from .report.document import inconclusive_fails

    records = document["results"]
    for line in labels.merged_lines(document["run"]):
        print(f"sla: {line}")
    if document["unmeasured"]:
        print(f"sla: {labels.unmeasured_heading(len(document['unmeasured']))}:")
        for entry in document["unmeasured"]:
            print(f"  {entry['nodeid']} ({entry['phase']})")
    if not records:
        print("no SLA measurements in these reports")
        return
    for line in terminal.table(records):
        print(line)
    for line in terminal.notes(records):
        print(line)
    for line in terminal.advice(records):
        print(line)
    headroom = float(document["run"]["settings"].get("headroom", 10))
    fails = inconclusive_fails(document["run"])
    partial = bool(document["run"].get("interrupted"))
    print("sla: " + labels.summary_line(records, headroom, fails, partial))


def _targets(requested: list[str]) -> list[tuple[str, str | None]]:
    """``--sla-report`` values as (type, path or None)."""
    return [(kind, path or None) for kind, _, path in (s.partition(":") for s in requested)]


def _error(message: str) -> int:
    print(f"python -m pytest_latency_sla: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "merge":
        return _merge(arguments)
    return EXIT_ERROR  # pragma: no cover - argparse requires a command
