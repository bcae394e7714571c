"""The pytest entry point (``pytest11``): options, the marker, the fixture and hooks.

Thin on purpose: settings live in ``settings``, the marker in ``marker``, timing in
``sampling``, judging in ``fixture`` and ``stats``, collecting and printing in ``session``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
import warnings
from typing import TYPE_CHECKING

import pytest

from . import marker as marker_module
from . import subtests, workers
from .environment import EnvironmentCache
from .marker import MARKER_HELP, MarkerError, MarkerSpec, own_sla_marks, parse_marker_spec
from .progress import ProgressLines
from .session import (
    RECORDS_ATTR,
    SLA_TEST_ATTR,
    UNMEASURED_ATTR,
    ReplacedAttempts,
    SlaCollector,
    is_sla_property,
)
from .settings import OPTIONS, Option, SettingError, Settings, resolve_settings, setting_source
from .spill import SpillController, pending_path, write_pending
from .timeouts import CALLED_KEY, STARTED_KEY, deadline_of
from .unknownkeys import UnknownKeys

if TYPE_CHECKING:
    from collections.abc import Generator

    from .baseline import Baseline
    from .fixture import SlaFixture
    from .limits import RunClock
    from .schema import SlaRecord

# Heavy modules (numpy behind them) are imported where first needed, so a suite without
# SLA tests does not pay for them: see benchmarks/plugin_tax.py.

SETTINGS_KEY = pytest.StashKey[Settings]()
ENVIRONMENT_KEY = pytest.StashKey[EnvironmentCache]()
COLLECTOR_KEY = pytest.StashKey[SlaCollector]()
#: The closest sla marker, parsed once per run of the item (None: not marked).
MARKER_KEY: pytest.StashKey[MarkerSpec | None] = pytest.StashKey()
#: Set when this plugin skipped the item from a hook, so the skip points at the test.
SKIPPED_HERE_KEY = pytest.StashKey[bool]()
#: Set when a test measured nothing but a fixture of it may measure after its ``yield``.
DEFERRED_KEY = pytest.StashKey[bool]()
ATTEMPTS_KEY = pytest.StashKey[ReplacedAttempts]()
PROGRESS_KEY = pytest.StashKey[ProgressLines]()
RUN_CLOCK_KEY: pytest.StashKey[RunClock] = pytest.StashKey()
RECORDS_KEY: pytest.StashKey[list[SlaRecord]] = pytest.StashKey()
FIXTURE_KEY: pytest.StashKey[SlaFixture] = pytest.StashKey()
BASELINE_KEY: pytest.StashKey[Baseline] = pytest.StashKey()
BASE_PROBLEM_KEY = pytest.StashKey[str]()  # (a pytest-xdist worker's: each SLA test says it)
_COLLECTOR_NAME = "pytest_latency_sla.collector"
_COLLECTED_NAME = "pytest_latency_sla.collected"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("latency-sla", "latency SLAs (pytest-latency-sla)")
    for option in OPTIONS:
        if option.flag:
            group.addoption(option.cli, action="store_true", default=None, help=_help(option))
        elif option.many:
            group.addoption(
                option.cli,
                action="append",
                nargs="?",
                const=option.const,
                default=None,
                metavar=option.metavar,
                help=_help(option),
            )
        else:
            group.addoption(option.cli, default=None, metavar=option.metavar, help=_help(option))
        _addini(parser, option)


def _help(option: Option) -> str:
    """The help text for argparse, which reads ``%`` as a format character."""
    return option.help.replace("%", "%%")


def _addini(parser: pytest.Parser, option: Option) -> None:
    if option.many:
        parser.addini(option.ini, option.help, type="args", default=[])
        return
    native = option.value_type
    if native is not str:
        # pytest >= 9.1 takes a union, so TOML's native `sla_max_time = 2` works as well as
        # the string "2"; older pytest takes only a tag and we parse strings ourselves.
        try:
            parser.addini(option.ini, option.help, type=native | str, default="")  # type: ignore[arg-type]
            return
        except (ValueError, TypeError, AssertionError):
            pass
    parser.addini(option.ini, option.help, type="string", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    cli = {o.name: config.getoption(o.cli) for o in OPTIONS}
    with warnings.catch_warnings():  # pytest's on a TOML list: the settings refuse it
        warnings.simplefilter("ignore", pytest.PytestDeprecationWarning)
        ini = {o.name: config.getini(o.ini) for o in OPTIONS}
    source = str(config.inipath) if config.inipath else "the pytest configuration"
    try:
        settings = resolve_settings(cli, ini, source, _overridden(config))
    except SettingError as exc:
        raise pytest.UsageError(str(exc)) from None
    if settings.save and config.getoption("dist", default=None) == "each":
        raise pytest.UsageError(
            "--sla-save with pytest-xdist's --dist each would record every test once per "
            "worker, and a baseline holds one measurement of each: save it without "
            "--dist each"
        )
    config.stash[SETTINGS_KEY] = settings
    known = [o.ini for o in OPTIONS]
    config.pluginmanager.register(UnknownKeys(config, known, source, _overridden(config)))
    if settings.compare:
        from .baseline import BaselineError, load_baseline
        from .collected import CollectedTests

        try:
            config.stash[BASELINE_KEY] = load_baseline(settings.compare)
        except BaselineError as exc:
            raise pytest.UsageError(f"--sla-compare / sla_compare: {exc}") from None
        # Which of its tests are gone, to find a renamed test's entry by its model.
        config.pluginmanager.register(CollectedTests(config, BASELINE_KEY), _COLLECTED_NAME)
    progress = ProgressLines(config)
    config.stash[PROGRESS_KEY] = progress
    config.pluginmanager.register(progress, "pytest_latency_sla.progress")
    attempts = ReplacedAttempts()
    config.stash[ATTEMPTS_KEY] = attempts
    config.pluginmanager.register(attempts, "pytest_latency_sla.attempts")
    environment = EnvironmentCache()
    config.stash[ENVIRONMENT_KEY] = environment
    if not hasattr(config, "workerinput"):
        # Reports are made where results meet: a plain run, or the xdist controller.
        collector = SlaCollector(
            settings, config, environment, config.stash.get(BASELINE_KEY, None)
        )
        config.stash[COLLECTOR_KEY] = collector
        config.pluginmanager.register(collector, _COLLECTOR_NAME)
        if config.pluginmanager.hasplugin("xdist"):
            # A crashed worker's measurements, from the files its workers keep.
            collector.spill = SpillController()
            config.pluginmanager.register(collector.spill, "pytest_latency_sla.spill")
    if config.pluginmanager.hasplugin("xdist") and settings.xdist == "serial":
        workers.register(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    workers.close(config)
    collector = config.stash.get(COLLECTOR_KEY, None)
    spill = collector.spill if collector is not None else None
    if spill is not None:
        spill.close()
    plugins: list[object] = [
        collector,
        config.stash.get(ATTEMPTS_KEY, None),
        config.stash.get(PROGRESS_KEY, None),
        spill,
    ]
    plugins.append(config.pluginmanager.get_plugin(_COLLECTED_NAME))
    for plugin in plugins:
        if plugin is not None and config.pluginmanager.is_registered(plugin):
            config.pluginmanager.unregister(plugin)


@pytest.hookimpl(trylast=True)  # after -k and -m deselect (a trial: -k plain stopped it)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Once, before any test: a ``--sla-compare-ref`` that the repository of the SLA tests
    does not know (a shallow clone), or a ``--sla-compare-dir`` that is no folder, would
    fail every model test alike, so it stops the run here; on a pytest-xdist worker (where
    that is xdist's internal error) each SLA test fails at its setup, before measuring."""
    settings = config.stash[SETTINGS_KEY]
    compared = settings.compare_dir or settings.compare_ref
    skip = settings.disable or config.option.collectonly or not compared
    folders = {item.path.parent for item in items if _is_sla_test(item)} if not skip else ()
    problem, name = "", "compare_dir"
    if folders and settings.compare_dir:
        from .gitref import check_folder

        problem = check_folder(settings.compare_dir) or ""
    elif folders and settings.compare_ref:
        from .gitref import check_ref

        name, ref = "compare_ref", settings.compare_ref
        problem = next(filter(None, (check_ref(ref, f) for f in sorted(folders))), "")
    if problem and hasattr(config, "workerinput"):
        config.stash[BASE_PROBLEM_KEY] = problem + _given_in(config, name)
    elif problem:
        raise pytest.UsageError(problem + _given_in(config, name))


def _given_in(config: pytest.Config, name: str) -> str:
    """Where a setting given in an ini file came from, as a setting's error says it (a
    trial: an ini file's bad ref read as if typed on the command line); "" for the
    command line's own option."""
    option = next(o for o in OPTIONS if o.name == name)
    if config.getoption(option.cli) is not None:
        return ""
    ini = str(config.inipath) if config.inipath else "the pytest configuration"
    return f" ({setting_source(option, False, ini, _overridden(config))})"


def _overridden(config: pytest.Config) -> set[str]:
    """The ini keys set on the command line with ``-o``."""
    return {entry.split("=", 1)[0].strip() for entry in config.getoption("override_ini") or ()}


def _is_sla_test(item: pytest.Item) -> bool:
    """Marked ``@pytest.mark.sla``, or using the ``sla`` fixture."""
    return item.get_closest_marker("sla") is not None or "sla" in getattr(item, "fixturenames", ())


# Not tryfirst: after pytest's skip and xfail marks are evaluated (a skipped test's bad
# marker is not an error), still before the fixtures are set up (pytest's own setup hook
# was registered earlier, so it is called later).
def pytest_runtest_setup(item: pytest.Item) -> None:
    # When a timeout around the whole test (pytest-timeout's) started, or a little after.
    item.stash[STARTED_KEY] = time.monotonic_ns()
    # A fresh list on every run of the item: a rerun (pytest-rerunfailures) must neither
    # send the earlier attempt's records again nor count them as measured.
    item.stash[RECORDS_KEY] = []
    item.stash[DEFERRED_KEY] = False
    subtests.begin(item)
    # Nor may an earlier attempt's JUnit properties stay on the test case.
    item.user_properties[:] = [p for p in item.user_properties if not is_sla_property(p)]
    problem = _read_marker(item) or (
        item.config.stash.get(BASE_PROBLEM_KEY, "") if _is_sla_test(item) else ""
    )
    if problem:
        pytest.fail(f"{problem} (in {item.nodeid})", pytrace=False)


def _read_marker(item: pytest.Item) -> str:
    """Parse the item's closest sla marker (a subclass's own before its bases') into
    ``MARKER_KEY`` (None: not marked); what is wrong with it, or ""."""
    marker = marker_module.closest_sla_mark(item)
    if marker is None:
        item.stash[MARKER_KEY] = None
        return ""
    settings = item.config.stash[SETTINGS_KEY]
    # Its own (decorators, its parameter set's marks); more than one at a level: stacked.
    stacked = own_sla_marks(item)
    where, marks = marker_module.stacked_sla_marks(item)
    if marks:
        shown = " and ".join(f"@pytest.mark.sla({marker_module.as_written(m)})" for m in marks)
        problem = (
            f"{len(marks)} @pytest.mark.sla markers on {where} ({shown}): pytest would "
            "judge the one nearest the function alone; keep one"
        )
    else:
        try:
            spec = parse_marker_spec(marker.args, marker.kwargs, settings.percentile)
            item.stash[MARKER_KEY] = spec
            # Before the benchmark runs, not after its rounds (the sla fixture's tests
            # measure with the marker's arguments as they are). A wider marker's
            # arguments apply where they can, and are left be on a benchmark test.
            names = getattr(item, "fixturenames", ())
            benchmark = "benchmark" in names and "sla" not in names and bool(stacked)
            problem = marker_module.not_for_benchmarks(spec) if benchmark else ""
        except MarkerError as exc:
            problem = str(exc)
    return problem


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    try:
        return (yield)
    except BaseException:
        # pytest.exit() or Ctrl-C after a measurement: pytest raises it past the phase's
        # report, which would have carried the records. In a plain run they go to the
        # collector here (on an xdist worker there is no report to send them with).
        left = item.stash.get(RECORDS_KEY, [])
        collector = item.config.stash.get(COLLECTOR_KEY, None)
        if left and collector is not None:
            collector.interrupted(item.nodeid, list(left))
            left.clear()
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    item.stash[CALLED_KEY] = time.monotonic_ns()
    fixture = item.stash.get(FIXTURE_KEY, None)
    try:
        with subtests.running(item):
            yield
    except BaseException:
        if fixture is not None:
            fixture.refusals.take()  # (the test ends so anyway: its refusals go with it)
        raise
    # Reached only when the test body passed. (Its subtests' reports took their records.)
    _fail_if_refused(item)
    records = subtests.measured(item, item.stash.get(RECORDS_KEY, []))
    spec = item.stash.get(MARKER_KEY, None)
    if spec is None:
        if item.get_closest_marker("sla") is not None and records:
            pytest.fail(
                "@pytest.mark.sla was added to this test after its sla fixture was made, "
                "so nothing was judged against it: write the marker on the test, or add it "
                "from a fixture that the test requests before sla "
                f"(in {item.nodeid})",
                pytrace=False,
            )
        return
    if records:
        disabled = item.config.stash[SETTINGS_KEY].disable
        # Written on this test (not a module's or class's marker, nor one a conftest
        # added, over tests of both kinds), a budget that nothing checked must not read
        # as met.
        if (
            spec.cold_ms is not None
            and own_sla_marks(item)
            and not disabled
            and all(r["kind"] != "onnx" for r in records)
        ):
            pytest.fail(
                f"cold_ms={spec.cold_ms:g} on @pytest.mark.sla budgets the cold start of "
                "sla.onnx() models, and this test measured none (sla.measure() has no "
                "session to create): remove cold_ms=, or measure the model with "
                f"sla.onnx() (in {item.nodeid})",
                pytrace=False,
            )
        return
    benchmark = getattr(item, "funcargs", {}).get("benchmark")
    if benchmark is not None:
        # A pytest-benchmark test: judge its own rounds (if it ran at all).
        from .bench import judge_benchmark, no_rounds

        if judge_benchmark(_make_fixture(item), benchmark, item.name) is None:
            # The benchmark never ran: say why rather than pass without a verdict.
            item.stash[SKIPPED_HERE_KEY] = True
            option = item.config.getoption  # (--benchmark-enable overrides, as it does)
            disabled = bool(option("benchmark_disable", False)) and not option(
                "benchmark_enable", False
            )
            worker = hasattr(item.config, "workerinput")
            pytest.skip(no_rounds(disabled, worker, item.nodeid))
        return
    if _sla_in_a_fixture(item):
        # That fixture may measure after its yield: judged once the teardown is done.
        item.stash[DEFERRED_KEY] = True
        return
    _measured_nothing(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with subtests.running(item):
        yield
    records = subtests.measured(item, item.stash.get(RECORDS_KEY, []))
    if item.stash.get(DEFERRED_KEY, False) and not records:
        _measured_nothing(item)  # (DEFERRED_KEY stays set: the report says so)


def _sla_in_a_fixture(item: pytest.Item) -> bool:
    """Whether a fixture of the test (not the test function) requests ``sla``."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", None) or {}
    return any(
        "sla" in getattr(definition, "argnames", ())
        for name, chain in definitions.items()
        if name != "sla"
        for definition in chain
    )


def _measured_nothing(item: pytest.Item) -> None:
    node = next((node for node, _ in item.iter_markers_with_node("sla")), item)
    kind = "module" if isinstance(node, pytest.Module) else type(node).__name__.lower()
    what = "class" if isinstance(node, pytest.Class) else f"{kind}'s pytestmark"  # (a TestCase)
    by = "" if node is item else f" (by its {what}, {node.name})"
    pytest.fail(
        f"marked @pytest.mark.sla{by} but measured nothing: request the `sla` fixture and call "
        "sla.onnx(model) or sla.measure(fn) (or use pytest-benchmark's `benchmark` fixture), "
        f"or remove the marker (in {item.nodeid})",
        pytrace=False,
    )


def _ours(report: pytest.TestReport) -> bool:
    """Whether a skip's location is in this package's files."""
    where = report.longrepr
    if not isinstance(where, tuple) or not where:
        return False
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.abspath(str(where[0])).startswith(here + os.sep)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if _is_sla_test(item):
        setattr(report, SLA_TEST_ATTR, True)
    records = item.stash.get(RECORDS_KEY, [])
    # Sent once, with the report of the phase they are judged in: the call's (a fixture's
    # setup measures for it), a setup's that failed (no call follows), a teardown's; or
    # a subtest's, made within it (pytest's subtests).
    deferred = item.stash.get(DEFERRED_KEY, False)
    unmeasured = not subtests.measured(item, records)
    if call.when == "teardown" and report.failed and unmeasured and deferred:
        # The check that waited for the teardown found nothing measured (or the
        # teardown failed first): an SLA test without a measurement.
        setattr(report, UNMEASURED_ATTR, True)
    sent: list[SlaRecord] = []
    if subtests.is_subtest(item, call):
        sent = subtests.take(item, records, call)
    elif records and (call.when != "setup" or not report.passed):
        sent = records[:]
        records.clear()
    if sent:
        setattr(report, RECORDS_ATTR, sent)
        if (spill := pending_path(item.config)) is not None:
            write_pending(spill, records)
    ours = report.skipped and (item.stash.get(SKIPPED_HERE_KEY, False) or _ours(report))
    if call.when == "call" and ours:
        # A skip raised in this plugin (its hook, or sla.onnx() skipping a provider this
        # onnxruntime lacks) would point at its file: point it at the test, as a skip
        # marker does.
        path, line = item.reportinfo()[:2]
        reason = str(call.excinfo.value) if call.excinfo else ""
        report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {reason}")
    return report


@pytest.fixture
def sla(request: pytest.FixtureRequest) -> Generator[SlaFixture, None, None]:
    """Time an ONNX model (``sla.onnx(path)``) or any callable (``sla.measure(fn, *args)``)
    and judge it against the test's ``@pytest.mark.sla(ms=... | us=..., percentile=...)``.

    Fails the test when the budget is missed (or the verdict is too close to call, see
    ``sla_inconclusive``); returns an ``SlaResult`` with percentiles, margin and verdict.
    """
    fixture = _make_fixture(request.node)
    request.node.stash[FIXTURE_KEY] = fixture
    yield fixture
    fixture.close()
    _fail_if_refused(request.node)  # (in a thread during a later fixture's teardown)


def _fail_if_refused(item: pytest.Item) -> None:
    """Fail the test when its ``sla`` fixture was refused a timing in another thread than
    the test's (:class:`~pytest_latency_sla.alone.Refusals`): that thread's failure alone
    does not fail the test, and may go unseen (a thread pool's future)."""
    fixture = item.stash.get(FIXTURE_KEY, None)
    refused = fixture.refusals.take() if fixture is not None else None
    if refused:
        pytest.fail(
            f"a measurement in a thread of this test was refused: {refused} (in {item.nodeid})",
            pytrace=False,
        )


def _make_fixture(item: pytest.Item) -> SlaFixture:
    """The object behind the ``sla`` fixture (also used for pytest-benchmark tests)."""
    records = item.stash.setdefault(RECORDS_KEY, [])

    spill = pending_path(item.config)  # on an xdist worker: kept until sent

    def record(entry: SlaRecord) -> None:
        records.append(entry)
        subtests.made(item, entry)
        if spill is not None:
            write_pending(spill, records)
        # JUnit XML carries these as <properties> of the test case.
        suffix = "" if entry["index"] == 0 else f"_{entry['index'] + 1}"
        for key in ("verdict", "margin", "measured_s", "budget_s", "percentile", "band"):
            if entry[key] is not None:
                item.user_properties.append((f"sla_{key}{suffix}", entry[key]))

    from .fixture import SlaFixture
    from .limits import RunClock

    config = item.config
    if item.stash.get(MARKER_KEY, None) is None and item.get_closest_marker("sla"):
        # Added at run time, by a fixture set up before this one (add_marker): read now.
        problem = _read_marker(item)
        if problem:
            pytest.fail(f"{problem} (in {item.nodeid})", pytrace=False)
    spec = item.stash.get(MARKER_KEY, None)
    settings = config.stash[SETTINGS_KEY]
    if spec is not None and spec.sampling:
        # The marker's sampling settings, for this test alone.
        settings = dataclasses.replace(settings, **spec.sampling)
    if RUN_CLOCK_KEY not in config.stash:
        config.stash[RUN_CLOCK_KEY] = RunClock()
    return SlaFixture(
        nodeid=item.nodeid,
        budget=spec.budget if spec else None,
        settings=settings,
        record=record,
        baseline=config.stash.get(BASELINE_KEY, None),
        environment=config.stash[ENVIRONMENT_KEY].get(),
        isolate=spec.isolate if spec else None,
        cold_ms=spec.cold_ms if spec else None,
        load=spec.load if spec else None,
        run_clock=config.stash[RUN_CLOCK_KEY],
        progress=config.stash[PROGRESS_KEY].writer(item.nodeid),
        deadline=functools.partial(deadline_of, item),
    )
