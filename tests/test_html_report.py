"""The HTML report: structure, self-containment, escaping, and a look in a real browser."""

from __future__ import annotations

import copy
import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import numpy as np
import pytest
from support import make_sampling

from pytest_latency_sla import fmt
from pytest_latency_sla.report import html
from pytest_latency_sla.report.document import build_document, json_ready
from pytest_latency_sla.result import Budget, SlaResult, Subject, Verdict
from pytest_latency_sla.schema import ColdEntry, Comparison, Document, Run, SlaRecord

if TYPE_CHECKING:
    from pathlib import Path

HOSTILE = "tests/test_x.py::test_x[<script>alert(1)</script>&\"'—µ]"
VOID = {"meta", "br", "hr", "img", "input", "link", "source", "wbr", "col", "area", "base"}

# --- documents built from real results ----------------------------------------------------


def _result(
    budget: Budget | None,
    verdict: Verdict | None,
    *,
    median_us: float = 20.0,
    n: int = 2_000,
    seed: int = 1,
    samples_ns: list[int] | None = None,
) -> SlaResult:
    """A result over lognormal samples with a slow tail, as a real model gives."""
    if samples_ns is None:
        rng = np.random.default_rng(seed)
        body = rng.lognormal(np.log(median_us * 1_000), 0.08, n)
        tail = rng.random(n) < 0.004
        body[tail] *= rng.uniform(1.5, 4.0, int(tail.sum()))
        samples_ns = body.astype(np.int64).tolist()
    sampling = make_sampling(
        samples_ns,
        cold_start_ns=400_000,
        warmup_calls=500,
        warmup_ns=50_000_000,
        chunks=10,
        looks=1,
        stop_reason="decided" if budget else "measured",
        timer_overhead_ns=40,
    )
    subject = Subject(
        kind="onnx",
        name="models/funnel.onnx",
        api="session.run(None, feeds)",
        providers_requested=("CPUExecutionProvider",),
        providers=("CPUExecutionProvider",),
        intra_op_threads=0,
        inter_op_threads=0,
        inputs=(("x", "float32[1,6]"),),
        model_sha256="5c" * 32,
    )
    return SlaResult(subject=subject, budget=budget, verdict=verdict, sampling=sampling)


def _record(nodeid: str, budget_us: float | None, *, index: int = 0, **kwargs: object) -> SlaRecord:
    """A record; its verdict follows the margin (pass above 1x, fail below)."""
    budget = Budget(budget_us, "us", 99.0) if budget_us is not None else None
    probe = _result(budget, None, **kwargs)  # type: ignore[arg-type]
    verdict = None
    if budget is not None:
        margin = probe.margin
        verdict = Verdict.PASS if margin is not None and margin >= 1 else Verdict.FAIL
    result = _result(budget, verdict, **kwargs)  # type: ignore[arg-type]
    record = result.to_record(nodeid, index=index)
    record["outcome"] = "passed" if verdict is not Verdict.FAIL else "failed"
    return record


def _run(
    *,
    interrupted: bool = False,
    baseline: str | None = None,
    xdist_workers: int | None = None,
    xdist_mode: str | None = None,
) -> Run:
    return Run(
        started_at="2026-01-02T03:04:05Z",
        duration_s=12.5,
        interrupted=interrupted,
        exit_status=2 if interrupted else 0,
        environment={
            "python": "3.11.7",
            "implementation": "CPython",
            "os": "Linux",
            "platform": "Linux-6.1-x86_64-with-glibc2.36",
            "machine": "x86_64",
            "cpu_model": "AMD EPYC 7B13",
            "cpu_count": 8,
            "load_avg_1m": 0.5,
            "packages": {"pytest": "8.3.0", "numpy": "2.1.0", "onnxruntime": "1.20.0"},
        },
        settings={"percentile": 99.0, "confidence": 0.99, "headroom": 10.0, "report": ["html"]},
        baseline=baseline,
        xdist_workers=xdist_workers,
        xdist_mode=xdist_mode,
        merged_from=None,
    )


def _document(records: list[SlaRecord], **run: object) -> Document:
    return build_document(records, _run(**run), "0.1.0")  # type: ignore[arg-type]


def _comparison(status: str, change: float | None, baseline_s: float | None) -> Comparison:
    return Comparison(
        status=status,
        baseline_measured_s=baseline_s,
        baseline_interval_s=[baseline_s * 0.95, baseline_s * 1.05] if baseline_s else None,
        baseline_p50_s=baseline_s / 2 if baseline_s else None,
        percentile_change=change,
        change=change,
        significant=status in ("regression", "improvement"),
        mismatch=["onnxruntime 1.19.0 -> 1.20.0"] if status == "mismatch" else [],
        model_changed=False,
    )


def _mixed() -> list[SlaRecord]:
    """A pass with headroom, a tight pass, a miss, no budget, and a second measurement."""
    return [
        _record("tests/test_a.py::test_fast", 5_000, median_us=20, seed=1),
        _record("tests/test_a.py::test_tight", 45, median_us=30, seed=2),
        _record("tests/test_a.py::test_slow", 200, median_us=240, seed=3),
        _record("tests/test_a.py::test_unbudgeted", None, median_us=8, seed=4),
        _record("tests/test_a.py::test_fast", 5_000, index=1, median_us=50, seed=5),
    ]


# --- parsing helpers ----------------------------------------------------------------------


class _Balance(HTMLParser):
    """Checks that every element is closed, in order, as an HTML parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _parse(page: str) -> ET.Element:
    """The page as XML, after checking it is balanced HTML."""
    assert page.startswith("<!DOCTYPE html>\n")
    checker = _Balance()
    checker.feed(page)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    return ET.fromstring(page)


def _classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


def _find(root: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [e for e in root.iter(tag) if css in _classes(e)]


def _text(element: ET.Element) -> str:
    return "".join(element.itertext())


def _cards(root: ET.Element) -> dict[str, ET.Element]:
    """Measurement cards by their heading (the record's label)."""
    cards = {}
    for section in _find(root, "section", "measurement"):
        heading = next(section.iter("h3"))
        cards[_text(heading)] = section
    return cards


# --- structure ----------------------------------------------------------------------------


def test_well_formed_with_every_section() -> None:
    records = _mixed()
    document = _document(records)
    root = _parse(html.render(document))
    assert root.tag == "html"
    assert root.get("lang") == "en"
    body = _text(root)
    assert "SLA report" in body
    assert "SLA missed" in body  # test_slow fails
    assert "Results" in body
    assert "Environment" in body
    for fact in ("AMD EPYC 7B13, 8 logical CPUs", "CPython 3.11.7", "onnxruntime 1.20.0"):
        assert fact in body
    assert "2026-01-02 03:04:05 UTC" in body
    assert "12.5 s" in body
    assert "baseline" in body
    # The status header counts verdicts.
    counts = {_text(li).split(" ", 1)[1]: _text(li).split(" ", 1)[0] for li in root.iter("li")}
    assert counts["pass"] == "3"
    assert counts["fail"] == "1"
    assert counts["inconclusive"] == "0"
    assert counts["no budget"] == "1"


def test_the_status_header_counts_missed_cold_starts() -> None:
    # A trial: a run failed by a missed cold_ms= budget counted "0 fail" and no cold miss.
    records = _mixed()
    records[0]["cold"] = ColdEntry(
        budget_s=0.001,
        runs=1,
        session_s=[0.01],
        first_call_s=[0.001],
        total_s=[0.011],
        median_s=0.011,
        worst_s=0.011,
        verdict="fail",
        idle_gap_s=None,
        after_idle_s=None,
    )
    root = _parse(html.render(_document(records)))
    counts = {_text(li).split(" ", 1)[1]: _text(li).split(" ", 1)[0] for li in root.iter("li")}
    assert counts["cold miss"] == "1"
    assert "cold miss" not in {
        _text(li).split(" ", 1)[1] for li in _parse(html.render(_document(_mixed()))).iter("li")
    }


def test_self_contained_no_scripts_no_network() -> None:
    page = html.render(_document(_mixed(), baseline="baseline.json"))
    lowered = page.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    for needle in ("http://", "https://", "//cdn", "@import", "url(", "@font-face", " src="):
        assert needle not in lowered, needle
    root = _parse(page)
    for tag in ("link", "img", "iframe", "object", "embed", "script", "image", "use", "audio"):
        assert list(root.iter(tag)) == [], tag
    hrefs = [e.get("href") for e in root.iter() if e.get("href") is not None]
    assert hrefs
    assert all(href.startswith("#") for href in hrefs if href is not None)
    ids = {e.get("id") for e in root.iter()}
    assert all(href[1:] in ids for href in hrefs if href is not None)  # anchors resolve
    # Every fetch is forbidden, whatever the page holds.
    policy = [m for m in root.iter("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert policy
    assert "default-src 'none'" in (policy[0].get("content") or "")
    # Inline CSS only, with the system's fonts.
    styles = list(root.iter("style"))
    assert len(styles) == 1
    assert "system-ui" in (styles[0].text or "")


def test_one_svg_per_measurement() -> None:
    records = _mixed()
    root = _parse(html.render(_document(records)))
    svgs = list(root.iter("svg"))
    assert len(svgs) == len(records)
    cards = _cards(root)
    assert set(cards) == {r["label"] for r in records}
    assert "tests/test_a.py::test_fast #2" in cards
    for card in cards.values():
        (svg,) = card.iter("svg")
        assert _find(svg, "rect", "bar")  # bars drawn
        assert svg.get("viewBox")
        assert svg.get("role") == "img"


def test_table_tightest_margin_first_same_columns_as_markdown() -> None:
    records = _mixed()
    document = _document(records)
    root = _parse(html.render(document))
    (table,) = _find(root, "table", "results")
    head = [_text(th) for th in table.iter("th")]
    assert head == ["test", "budget", "measured", "p50", "margin", "band", "verdict", "calls"]
    rows = list(next(table.iter("tbody")).iter("tr"))
    labels = [_text(next(row.iter("td"))) for row in rows]
    assert labels == [r["label"] for r in document["results"]]
    assert labels[0] == "tests/test_a.py::test_slow"  # the miss: tightest margin
    assert labels[-1] == "tests/test_a.py::test_unbudgeted"  # no budget: last
    first = [_text(td) for td in rows[0].iter("td")]
    slow = document["results"][0]
    assert first[1] == "p99 ≤ 200 µs"
    assert first[2] == fmt.duration(slow["measured_s"])
    assert first[4] == fmt.margin(slow["margin"])
    assert first[5:7] == ["MISS", "fail"]
    # Verdicts and bands are colour-coded.
    verdict = next(e for e in rows[0].iter("span") if _text(e) == "fail")
    assert "s-fail" in _classes(verdict)
    band = next(e for e in rows[0].iter("span") if _text(e) == "MISS")
    assert "s-fail" in _classes(band)
    assert [_text(td) for td in rows[-1].iter("td")][1] == "p99 (no budget)"


def test_budget_line_only_with_a_budget_and_percentile_labels() -> None:
    records = _mixed()
    root = _parse(html.render(_document(records)))
    cards = _cards(root)
    for record in records:
        (svg,) = cards[record["label"]].iter("svg")
        budgets = _find(svg, "g", "budget")
        if record["budget_s"] is None:
            assert budgets == []
        else:
            assert len(budgets) == 1
            assert _text(next(budgets[0].iter("text"))).startswith("budget ")
        (measured,) = _find(svg, "g", "measured")
        assert _text(measured) == f"p99 {fmt.duration(record['measured_s'])}"  # "p99 24.6 µs"
        assert list(measured.iter("line"))
        (p50,) = _find(svg, "g", "p50")
        assert _text(p50) == f"p50 {fmt.duration(record['p50_s'])}"


def test_budget_near_the_samples_is_a_line_far_off_scale_is_a_marker() -> None:
    near = _record("t.py::test_near", 60, median_us=30)
    far = _record("t.py::test_far", 50_000, median_us=6)
    cards = _cards(_parse(html.render(_document([near, far]))))
    (line_budget,) = _find(cards["t.py::test_near"], "g", "budget")
    (line,) = line_budget.iter("line")
    assert _text(line_budget) == "budget 60 µs"
    # The line sits right of the measured p99's (60 µs is beyond the samples' p99).
    (measured,) = _find(cards["t.py::test_near"], "g", "measured")
    assert float(line.get("x1") or 0) > float(next(measured.iter("line")).get("x1") or 0)
    (off_scale,) = _find(cards["t.py::test_far"], "g", "budget")
    assert list(off_scale.iter("line")) == []
    assert _text(next(off_scale.iter("text"))) == "budget 50000 µs \u2192"
    assert "off the scale" in _text(next(off_scale.iter("title")))


def test_line_labels_do_not_overlap() -> None:
    # Close percentiles (a narrow distribution) and a budget right beside them.
    records = [
        _record("t.py::test_narrow", 24, median_us=20, seed=7),
        _record("t.py::test_wide", 5_000, median_us=20, seed=8),
        _record("t.py::test_miss", 15, median_us=20, seed=9),
    ]
    for svg in _parse(html.render(_document(records))).iter("svg"):
        spans = []
        for kind in ("budget", "measured", "p50"):
            for group in _find(svg, "g", kind):
                text = next(group.iter("text"))
                x, width = float(text.get("x") or 0), len(_text(text)) * 6.6
                left = {"start": x, "end": x - width}[text.get("text-anchor") or ""]
                spans.append((float(text.get("y") or 0), left, left + width))
        assert len(spans) >= 2
        for i, (y, left, right) in enumerate(spans):
            assert left >= 0
            assert right <= 860
            for other_y, other_left, other_right in spans[i + 1 :]:
                assert y != other_y or right <= other_left or other_right <= left


def test_hostile_node_id_is_escaped_everywhere() -> None:
    record = _record(HOSTILE, 100, median_us=20)
    page = html.render(_document([record]))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#x27;" in page
    root = _parse(page)
    # Text round-trips exactly, unicode included.
    assert list(_cards(root)) == [HOSTILE]
    (table,) = _find(root, "table", "results")
    assert _text(next(next(table.iter("tbody")).iter("td"))) == HOSTILE
    assert next(root.iter("svg")).find("title") is not None
    titles = [_text(t) for t in root.iter("title")]
    assert f"Latency histogram of {HOSTILE}" in titles
    # So do a hostile model path, baseline path and package version.
    record["subject"] = "<img src=x onerror=alert(1)>.onnx"
    document = _document([record], baseline='"/><script>x</script>')
    document["run"]["environment"]["packages"]["evil"] = "<i>1</i>"
    page = html.render(document)
    assert "<img" not in page
    assert "<i>" not in page
    root = _parse(page)
    assert "<img src=x onerror=alert(1)>.onnx" in _text(root)
    assert '"/><script>x</script>' in _text(root)


def test_interrupted_banner() -> None:
    records = _mixed()[:2]
    calm = _parse(html.render(_document(records)))
    assert not _find(calm, "div", "banner")
    stopped = _parse(html.render(_document(records, interrupted=True)))
    (banner,) = _find(stopped, "div", "banner")
    assert "Interrupted" in _text(banner)
    assert "partial" in _text(banner)


def test_xdist_note() -> None:
    records = _mixed()[:2]
    parallel = _parse(html.render(_document(records, xdist_workers=4, xdist_mode="parallel")))
    (banner,) = _find(parallel, "div", "banner")
    assert "contention" in _text(banner)
    serial = _parse(html.render(_document(records, xdist_workers=4, xdist_mode="serial")))
    assert not _find(serial, "div", "banner")
    assert "one at a time" in _text(serial)
    assert "4 workers, serial" in _text(serial)


def test_change_column_with_a_comparison() -> None:
    records = _mixed()
    plain = _parse(html.render(_document(records)))
    assert "change" not in [_text(th) for th in plain.iter("th")]
    by_label = {r["label"]: r for r in records}
    fast = by_label["tests/test_a.py::test_fast"]
    fast["comparison"] = _comparison("regression", 0.23, fast["measured_s"] / 1.23)
    tight = by_label["tests/test_a.py::test_tight"]
    tight["comparison"] = _comparison("improvement", -0.31, tight["measured_s"] / 0.69)
    slow = by_label["tests/test_a.py::test_slow"]
    slow["comparison"] = _comparison("mismatch", None, slow["measured_s"])
    by_label["tests/test_a.py::test_unbudgeted"]["comparison"] = _comparison("new", None, None)
    document = _document(records, baseline="main.json")
    root = _parse(html.render(document))
    (table,) = _find(root, "table", "results")
    assert [_text(th) for th in table.iter("th")][-1] == "change"
    rows = {_text(next(r.iter("td"))): r for r in next(table.iter("tbody")).iter("tr")}
    change = {label: _text(list(row.iter("td"))[-1]) for label, row in rows.items()}
    assert change["tests/test_a.py::test_fast"] == "\u25b2 p50 +23% regression"
    assert change["tests/test_a.py::test_tight"] == "\u25bc p50 -31% improvement"
    assert change["tests/test_a.py::test_slow"] == "mismatch"
    assert change["tests/test_a.py::test_unbudgeted"] == "new"
    assert change["tests/test_a.py::test_fast #2"] == "-"
    # Regressions are highlighted, and only they.
    highlighted = [label for label, row in rows.items() if "regression" in _classes(row)]
    assert highlighted == ["tests/test_a.py::test_fast"]
    counts = {_text(li).split(" ", 1)[1]: _text(li).split(" ", 1)[0] for li in root.iter("li")}
    assert counts["regression"] == "1"
    assert counts["improvement"] == "1"
    assert counts["mismatch"] == "1"
    assert "onnxruntime 1.19.0 -> 1.20.0" in _text(root)
    assert "main.json" in _text(root)


def test_no_measurements() -> None:
    root = _parse(html.render(_document([])))
    assert list(root.iter("svg")) == []
    assert "No SLA measurements in this run." in _text(root)
    assert "No SLA measurements" in _text(next(root.iter("title")))


@pytest.mark.parametrize(
    "samples_ns",
    [[7_000], [5_000] * 50, [0] * 20, [0, 0, 1, 3_000_000_000], list(range(1, 10_000, 7))],
    ids=["one", "constant", "coarse-clock", "extreme-range", "uniform"],
)
def test_degenerate_distributions_render(samples_ns: list[int]) -> None:
    records = [
        _record("t.py::test_budget", 10, samples_ns=samples_ns),
        _record("t.py::test_none", None, samples_ns=samples_ns),
    ]
    document = _document(records)
    for doc in (document, json.loads(json.dumps(json_ready(document)))):
        root = _parse(html.render(doc))
        assert len(list(root.iter("svg"))) == 2
        assert "nan" not in html.render(doc).lower()


def test_unusable_histogram_still_draws_a_frame() -> None:
    record = _record("t.py::test_x", 100)
    record["histogram"] = {"edges_s": [], "counts": []}
    root = _parse(html.render(_document([record])))
    (svg,) = root.iter("svg")
    assert "no samples to draw" in _text(svg)


def test_pure_function_of_the_document() -> None:
    document = _document(_mixed(), interrupted=True, baseline="b.json")
    before = copy.deepcopy(document)
    assert html.render(document) == html.render(document)
    assert document == before
    # The JSON report renders the same as the document it was written from.
    assert html.render(json.loads(json.dumps(json_ready(document)))) == html.render(document)


def test_many_measurements_and_long_ids() -> None:
    long_id = (
        "tests/" + "deep/" * 30 + "test_very_long.py::test_" + "x" * 200 + "[" + "p" * 80 + "]"
    )
    records = [_record(f"{long_id}{i}", 40 + i * 7, median_us=20 + i, seed=i) for i in range(25)]
    root = _parse(html.render(_document(records)))
    assert len(list(root.iter("svg"))) == 25


# --- a real browser -----------------------------------------------------------------------


def _decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """Width, height, unfiltered rows and bytes per pixel of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks = 8, []
    width = height = channels = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, interlace) == (8, 0), (depth, interlace)
            assert colour in (2, 6), colour  # RGB or RGBA
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind_of_filter = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if kind_of_filter == 1:
            for x in range(channels, stride):
                line[x] = (line[x] + line[x - channels]) & 255
        elif kind_of_filter == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, previous, strict=True))
        elif kind_of_filter == 3:
            for x in range(stride):
                left = line[x - channels] if x >= channels else 0
                line[x] = (line[x] + (left + previous[x]) // 2) & 255
        elif kind_of_filter == 4:
            for x in range(stride):
                a = line[x - channels] if x >= channels else 0
                b = previous[x]
                c = previous[x - channels] if x >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, rows, channels


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium not installed; .ci/run installs it with apt-get")


def test_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    records = _mixed()
    records[0]["comparison"] = _comparison("regression", 0.23, records[0]["measured_s"] / 1.23)
    page = tmp_path / "report.html"
    page.write_text(html.render(_document(records, baseline="main.json")), encoding="utf-8")
    shot = tmp_path / "shot.png"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert shot.exists(), f"no screenshot (exit {done.returncode}):\n{done.stderr[-2000:]}"
    width, height, rows, channels = _decode_png(shot.read_bytes())
    assert (width, height) == (1280, 1600)
    counts: dict[bytes, int] = {}
    red = blue = 0
    for row in rows[::2]:
        for x in range(0, width * channels, channels * 2):
            pixel = row[x : x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
            r, g, b = pixel
            red += r > 170 and g < 90 and b < 100  # the budget line and the MISS pill
            blue += b > 170 and r < 110 and 80 < g < 160  # the measured percentile line
    total = sum(counts.values())
    background = max(counts.values())
    assert total - background > total * 0.05, "the page is (nearly) blank"
    assert len(counts) > 100, f"only {len(counts)} colours: text and charts did not render"
    assert red > 50, "no red pixels: the budget lines did not render"
    assert blue > 50, "no blue pixels: the percentile lines did not render"


def test_the_settings_are_shown_in_their_units() -> None:
    from pytest_latency_sla.report.html import render

    document = _document([])
    document["run"]["settings"].update(
        noise_floor=1.0, max_time=20.0, max_regression=None, max_samples=1_000_000
    )
    document["run"]["setting_units"] = {
        "noise_floor": "fraction",
        "confidence": "fraction",
        "percentile": "%",
        "max_time": "s",
        "headroom": "x",
        "max_regression": "fraction",
    }
    page = render(document)
    for name, shown in [
        ("noise_floor", "100%"),
        ("confidence", "99%"),
        ("percentile", "99%"),
        ("max_time", "20 s"),
        ("headroom", "10x"),
        ("max_regression", "-"),
        ("max_samples", "1,000,000"),  # a count, not 1e+06
        ("report", "html"),
    ]:
        assert f"<dt><code>sla_{name}</code></dt><dd>{shown}</dd>" in page, name
    # A report written before the units existed: the values as stored.
    del document["run"]["setting_units"]
    assert "<dt><code>sla_noise_floor</code></dt><dd>1</dd>" in render(document)
