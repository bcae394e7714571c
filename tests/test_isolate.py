"""Isolation: measurements in a worker process, so crashes and hangs fail one test.

Unit tests drive ``pytest_latency_sla.isolate`` with standard-library callables (they
pickle by reference, so no test module has to be importable in the worker; one test's
callable, defined here, is imported by the worker from the tests' folder). End-to-end
tests run real crashes (a SIGSEGV sent to itself, a null read through ``ctypes``),
``os._exit`` and a hang under ``isolate=True`` through ``pytester``. Each isolated
measurement starts a fresh interpreter (a few hundred milliseconds), so these tests use
the short sampling times in ``FAST``.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import onnxruntime
import pytest
from onnx_models import add_model, model_bytes, save
from support import FAST, PLUGIN_FILE, failure_section, load_report, output

from pytest_latency_sla import isolate, isolate_onnx
from pytest_latency_sla.callables import raised_at, where_raised
from pytest_latency_sla.ort import OnnxInputError
from pytest_latency_sla.ort.options import to_fields
from pytest_latency_sla.runner import CallJob, OnnxJob, Timing
from pytest_latency_sla.sampling import Sampling, SamplingPlan

if TYPE_CHECKING:
    from collections.abc import Callable

#: Sampling for unit tests: no verdict, a few milliseconds.
TIMING = Timing(
    SamplingPlan(warmup_calls=5, warmup_time_ns=0, min_time_ns=1_000_000, max_time_ns=50_000_000),
    budget_ns=None,
    quantile=0.99,
)


def run(fn: Callable[..., object], *args: object, timeout: float = 30.0) -> Sampling:
    job = CallJob(fn, args, {}, getattr(fn, "__name__", "fn"))
    return isolate.run_callable(job, TIMING, timeout).sampling


def failure_line(result: pytest.RunResult, test: str) -> str:
    """The one-sentence failure a test's section of the report shows: the problem first,
    the test it happened in last."""
    lines = [
        line
        for line in result.outlines
        if line.endswith(f" (in {test})") and not line.startswith("FAILED ")  # summary
    ]
    assert len(lines) == 1, result.stdout.str()
    return lines[0]


def spawned_children() -> list[int]:
    """Worker processes (multiprocessing spawn children) of this process, from /proc."""
    found: list[int] = []
    if not Path("/proc/self").is_dir():  # not Linux: nothing to scan
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


# --- unit: messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exitcode", "onnx", "expected"),
    [
        (-11, True, "the model crashed the runtime: SIGSEGV (exit code -11)"),
        (-6, False, "the measured code crashed the process: SIGABRT (exit code -6)"),
        (3, False, "the measured code ended the process: exit code 3,"),
        (1, True, "the runtime ended the process: exit code 1,"),
        (-9, False, "SIGKILL (exit code -9); SIGKILL from outside often means the machine ran"),
        (-200, False, "signal 200 (exit code -200)"),
    ],
)
def test_crash_messages(exitcode: int, onnx: bool, expected: str) -> None:
    assert expected in isolate._crash_message(exitcode, onnx)


def test_timeout_message_says_how_to_raise_the_limit() -> None:
    message = isolate._timeout_message(2)
    assert "killed after 2 s (sla_timeout)" in message
    assert "--sla-timeout=4" in message
    assert "sla_timeout = 4" in message


# --- unit: the worker --------------------------------------------------------------------


def test_a_callable_is_timed_in_the_worker() -> None:
    sampling = run(abs, -3)
    assert isinstance(sampling, Sampling)
    assert sampling.samples_ns.size > 0
    assert not sampling.samples_ns.flags.writeable
    assert sampling.warmup_calls >= 5
    assert spawned_children() == []


def test_exit_and_abort_are_reported_with_their_code() -> None:
    with pytest.raises(isolate.WorkerCrashedError, match="ended the process: exit code 3,"):
        run(os._exit, 3)
    with pytest.raises(isolate.WorkerCrashedError, match=r"SIGABRT \(exit code -6\)"):
        run(os.abort)
    assert spawned_children() == []


def test_a_hang_is_killed_at_the_timeout_and_reaped() -> None:
    start = time.monotonic()
    with pytest.raises(isolate.WorkerTimeoutError, match=r"killed after 1 s \(sla_timeout\)"):
        run(time.sleep, 60, timeout=1)
    assert time.monotonic() - start < 10
    assert spawned_children() == []


def start_a_child_and_hang(pid_file: str) -> None:
    """Start a process, write its pid, and never return (the worker's timeout ends it)."""
    child = subprocess.Popen(["sleep", "120"])
    Path(pid_file).write_text(str(child.pid), encoding="utf-8")
    time.sleep(120)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="processes are found in /proc")
def test_what_the_measured_code_started_ends_with_the_killed_worker(tmp_path: Path) -> None:
    # A trial: a process the isolated callable started outlived the worker killed at the
    # timeout.
    pid_file = tmp_path / "child.pid"
    with pytest.raises(isolate.WorkerTimeoutError):
        run(start_a_child_and_hang, str(pid_file), timeout=2)
    child = int(pid_file.read_text(encoding="utf-8"))
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # (killed; reaped by init, its parent gone)
    assert not Path(f"/proc/{child}").exists()


def start_a_child_then(pid_file: str, end: str) -> None:
    """Start a process, write its pid, then return, exit or crash as ``end`` says."""
    child = subprocess.Popen(["sleep", "120"])
    Path(pid_file).write_text(str(child.pid), encoding="utf-8")
    if end == "fork":
        # A child forked (not a program started): it copies the worker's first environment.
        forked = os.fork()
        if forked == 0:
            time.sleep(120)
            os._exit(0)
        Path(pid_file).write_text(f"{child.pid} {forked}", encoding="utf-8")
        return
    if end == "exit":
        os._exit(3)
    if end == "crash":
        import ctypes

        ctypes.string_at(0)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="processes are found in /proc")
@pytest.mark.parametrize("end", ["return", "exit", "crash", "fork"])
def test_what_the_measured_code_started_ends_with_its_worker_however_it_ends(
    tmp_path: Path, end: str
) -> None:
    """A trial: a child started by an isolated callable was left behind (reparented to
    init) when the worker crashed, exited, or simply finished; only the timeout path
    killed it. It is found by the worker's token in its environment now."""
    pid_file = tmp_path / "child.pid"
    if end in ("return", "fork"):
        run(start_a_child_then, str(pid_file), end, timeout=30)
    else:
        with pytest.raises(isolate.WorkerCrashedError):
            run(start_a_child_then, str(pid_file), end, timeout=30)
    children = [int(pid) for pid in pid_file.read_text(encoding="utf-8").split()]
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{c}").exists() for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)  # (killed; reaped by init, its parent gone)
    assert not [c for c in children if Path(f"/proc/{c}").exists()]


def test_what_the_callable_raises_comes_back_with_its_traceback() -> None:
    with pytest.raises(json.JSONDecodeError, match="Expecting") as info:
        run(json.loads, "{x")
    cause = info.value.__cause__
    assert isinstance(cause, isolate.RemoteTraceback)
    assert "json.decoder.JSONDecodeError: Expecting" in str(cause)
    assert "decoder.py" in str(cause)
    # The worker's own frames are left out.
    assert "isolate.py" not in str(cause)


def interrupt() -> None:
    raise KeyboardInterrupt("from the code")


def test_a_keyboard_interrupt_the_code_raises_fails_its_test_not_the_run() -> None:
    # A trial: it read "the measured code ended the process: exit code 1". Re-raised here
    # as itself, it would stop the whole run as if the user had pressed Ctrl-C.
    with pytest.raises(isolate.IsolatedCallError, match=r"^KeyboardInterrupt: from the code$"):
        run(interrupt)


_THREADS: list[threading.Thread] = []


def leave_a_thread() -> None:
    """Start (once) a thread that is not a daemon and outlives the measurement by far."""
    if not _THREADS:
        _THREADS.append(threading.Thread(target=time.sleep, args=(120,), daemon=False))
        _THREADS[0].start()


def test_a_thread_the_code_leaves_does_not_hold_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A trial: the worker sent its result, then waited at exit for the thread until the
    # parent killed it (5 s later). With that wait raised to a minute, the test shows
    # whether the worker waits at all.
    monkeypatch.setattr(isolate, "_EXIT_GRACE_S", 60.0)
    start = time.monotonic()
    sampling = run(leave_a_thread)
    assert sampling.samples_ns.size > 0
    assert time.monotonic() - start < 40
    assert spawned_children() == []


class _Unpicklable(Exception):
    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("no")


def test_an_unpicklable_exception_comes_back_as_its_type_and_message() -> None:
    exc = isolate._raised(_Unpicklable("deep trouble"))
    with pytest.raises(isolate.IsolatedCallError, match="_Unpicklable: deep trouble"):
        isolate._reraise(exc)


class _Unspeakable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str fails")


def unspeakable() -> None:
    raise _Unspeakable()


def skipper() -> None:
    pytest.skip("not here")


def failer() -> None:
    pytest.fail("explicit fail", pytrace=False)


def test_an_exception_whose_str_raises_comes_back_from_the_worker() -> None:
    # A trial: the worker's own str(exc) raised, the worker died, and the test read "the
    # measured code ended the process: exit code 1".
    with pytest.raises(_Unspeakable) as info:
        run(unspeakable)
    assert "str fails" not in str(info.value.__cause__)
    reply = isolate._raised(_Unspeakable())
    assert reply.message == "<exception str() failed>"


def test_pytest_s_skip_and_fail_in_the_worker_come_back_as_themselves() -> None:
    # A trial: pickle cannot carry them (their class names no module), and they came back
    # as IsolatedCallError: the test failed where it would have skipped in-process.
    with pytest.raises(pytest.skip.Exception, match=r"^not here$"):
        run(skipper)
    with pytest.raises(pytest.fail.Exception, match=r"^explicit fail$") as info:
        run(failer)
    assert info.value.pytrace is False


def test_a_lambda_cannot_be_sent() -> None:
    with pytest.raises(isolate.NotSendableError) as info:
        run(lambda: None)
    message = str(info.value)
    assert "the callable <lambda> cannot be sent to another process" in message
    assert "define it at module level" in message
    assert "functools.partial" in message
    assert "drop isolate=True" in message


def test_an_unpicklable_argument_cannot_be_sent() -> None:
    with pytest.raises(isolate.NotSendableError, match="an argument to isinstance cannot be sent"):
        run(isinstance, threading.Lock(), int)


def test_an_inference_session_cannot_be_sent(tmp_path: Path) -> None:
    path = save(add_model(), tmp_path / "add.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with pytest.raises(isolate.NotSendableError) as info:
        isolate_onnx.run_onnx(OnnxJob(session), TIMING, timeout=30)
    message = str(info.value)
    assert "InferenceSession cannot be sent to another process" in message
    assert "pass the model's path" in message


def test_bad_input_comes_back_as_the_same_error(tmp_path: Path) -> None:
    with pytest.raises(OnnxInputError, match=r"model file 'missing\.onnx' does not exist"):
        isolate_onnx.run_onnx(OnnxJob("missing.onnx"), TIMING, timeout=30)


def test_session_options_are_rebuilt_in_the_worker() -> None:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 2
    options.execution_mode = onnxruntime.ExecutionMode.ORT_PARALLEL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    fields = to_fields(options)
    # Through pickle, as the worker gets it.
    import pickle

    rebuilt = pickle.loads(pickle.dumps(OnnxJob(b"", session_options=fields))).session_options
    rebuilt = rebuilt.build()
    assert rebuilt.intra_op_num_threads == 1
    assert rebuilt.inter_op_num_threads == 2
    assert rebuilt.execution_mode == onnxruntime.ExecutionMode.ORT_PARALLEL
    assert rebuilt.graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert rebuilt.enable_mem_pattern is False
    assert rebuilt.get_session_config_entry("session.intra_op.allow_spinning") == "0"


# --- end to end --------------------------------------------------------------------------

CRASHES = """
    import ctypes
    import os
    import signal

    import pytest

    def noop():
        pass

    def segfault():
        os.kill(os.getpid(), signal.SIGSEGV)

    def null_read():
        ctypes.string_at(0)

    def exit_3():
        os._exit(3)

    @pytest.mark.sla(ms=50, isolate=True)
    def test_segfault(sla):
        sla.measure(segfault)

    @pytest.mark.sla(ms=50, isolate=True)
    def test_null_read(sla):
        sla.measure(null_read)

    @pytest.mark.sla(ms=50, isolate=True)
    def test_exit(sla):
        sla.measure(exit_3)

    @pytest.mark.sla(ms=50, isolate=True)
    def test_passes(sla):
        sla.measure(noop)
    """


def test_crashes_fail_only_their_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_crashes=CRASHES)
    result = pytester.runpytest(*FAST, "--sla-report", "--sla-report=json:r.json")
    result.assert_outcomes(failed=3, passed=1)
    segv = "sla.measure(): the measured code crashed the process: SIGSEGV (exit code -11)"
    assert failure_line(result, "test_crashes.py::test_segfault").startswith(segv)
    assert failure_line(result, "test_crashes.py::test_null_read").startswith(segv)
    exit_line = failure_line(result, "test_crashes.py::test_exit")
    assert "sla.measure(): the measured code ended the process: exit code 3," in exit_line
    # faulthandler in the worker shows where it crashed, in the test's captured stderr.
    result.stdout.fnmatch_lines(["*Fatal Python error: Segmentation fault*"])
    result.stdout.fnmatch_lines(["*- SLA report -*", "test_crashes.py::test_passes *p99 <= 50 ms*"])
    results = load_report(pytester.path / "r.json")["results"]
    assert [entry["nodeid"] for entry in results] == ["test_crashes.py::test_passes"]
    assert results[0]["api"] == "fn(*args, **kwargs) [isolated]"
    assert results[0]["verdict"] == "pass"
    assert "INTERNALERROR" not in output(result)
    assert spawned_children() == []


def test_a_hang_times_out_and_leaves_no_process(pytester: pytest.Pytester) -> None:
    pid_file = pytester.path / "worker.pid"
    pytester.makepyfile(
        test_hang=f"""
        import os
        import time

        import pytest

        def hang():
            with open({str(pid_file)!r}, "w") as handle:
                handle.write(str(os.getpid()))
            time.sleep(60)

        @pytest.mark.sla(ms=50, isolate=True)
        def test_hangs(sla):
            sla.measure(hang)

        def test_after():
            pass
        """
    )
    start = time.monotonic()
    result = pytester.runpytest(*FAST, "--sla-timeout=2")
    assert time.monotonic() - start < 15
    result.assert_outcomes(failed=1, passed=1)
    line = failure_line(result, "test_hang.py::test_hangs")
    assert "sla.measure(): timed out:" in line
    assert "killed after 2 s (sla_timeout)" in line
    assert "--sla-timeout=4" in line
    worker = int(pid_file.read_text())
    assert worker != os.getpid()
    # Killed and reaped: not even a zombie is left.
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)
    assert spawned_children() == []


def test_what_cannot_be_sent_fails_with_the_fix(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_send="""
        import threading

        import pytest

        def takes(lock):
            pass

        def fails(n):
            raise ValueError(f"cannot handle {n}")

        @pytest.mark.sla(ms=50, isolate=True)
        def test_lambda(sla):
            sla.measure(lambda: None)

        @pytest.mark.sla(ms=50, isolate=True)
        def test_nested(sla):
            def inner():
                pass
            sla.measure(inner)

        @pytest.mark.sla(ms=50, isolate=True)
        def test_argument(sla):
            sla.measure(takes, threading.Lock())

        @pytest.mark.sla(ms=50, isolate=True)
        def test_raises(sla):
            sla.measure(fails, 7)
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=4)
    lambda_line = failure_line(result, "test_send.py::test_lambda")
    lambda_name = "test_send.test_lambda.<locals>.<lambda>"
    assert f"sla.measure(): the callable {lambda_name} cannot be sent to another process" in (
        lambda_line
    )
    assert "define it at module level of the test file" in lambda_line
    assert "functools.partial(module_level_function, ...)" in lambda_line
    assert "drop isolate=True / --sla-isolate" in lambda_line
    nested = failure_line(result, "test_send.py::test_nested")
    assert "the callable test_send.test_nested.<locals>.inner cannot be sent" in nested
    argument = failure_line(result, "test_send.py::test_argument")
    assert "an argument to test_send.takes cannot be sent" in argument
    # An exception raised in the worker fails the test as itself, with its traceback.
    result.stdout.fnmatch_lines(
        ['*raise ValueError(f"cannot handle {n}")*', "E*ValueError: cannot handle 7"]
    )


def test_what_the_callable_raises_in_the_worker_shows_the_test_and_the_callable(
    pytester: pytest.Pytester,
) -> None:
    # A trial: pytest printed the whole source of SlaFixture.measure, its docstring
    # included, with the E line pointing into fixture.py.
    pytester.makepyfile(
        test_worker="""
        import pytest

        calls = {"n": 0}

        def flaky():
            calls["n"] += 1  # (in the worker, a fresh process: from 0)
            if calls["n"] == 500:
                raise ValueError("boom on call 500")

        @pytest.mark.sla(ms=5, isolate=True)
        def test_isolated(sla):
            sla.measure(flaky)
        """
    )
    result = pytester.runpytest(*FAST, "--sla-warmup-time=1")
    result.assert_outcomes(failed=1)
    section = failure_section(result, "test_isolated")
    assert not PLUGIN_FILE.search(section), section
    assert "def measure(" not in section
    # The worker's traceback, as the cause, then the test's line with the exception.
    assert '    raise ValueError("boom on call 500")' in section
    result.stdout.fnmatch_lines(
        [
            "*line 8, in flaky",
            "The above exception was the direct cause of the following exception:",
            "    def test_isolated(sla):",
            ">       sla.measure(flaky)",
            "E       ValueError: boom on call 500",
            "E       sla.measure(): test_worker.flaky raised this on call 500, in the warmup "
            "(in test_worker.py::test_isolated)",
        ]
    )


def test_an_exception_that_comes_back_as_another_keeps_which_call_raised() -> None:
    exc = _Unpicklable("deep trouble")
    raised_at(exc, "call 7, in the warmup")
    reply = isolate._raised(exc)
    assert reply.where == "call 7, in the warmup"
    assert where_raised(exc) is None  # taken off before the exception is pickled
    with pytest.raises(isolate.IsolatedCallError) as info:
        isolate._reraise(reply)
    assert where_raised(info.value) == "call 7, in the warmup"


def test_onnx_models_as_path_bytes_and_proto(pytester: pytest.Pytester) -> None:
    path = save(add_model(), pytester.path / "add.onnx")
    (pytester.path / "add.bin").write_bytes(model_bytes(add_model()))
    pytester.makepyfile(
        test_models=f"""
        import onnx
        import onnxruntime
        import pytest

        @pytest.mark.sla(ms=50, isolate=True)
        def test_path(sla):
            sla.onnx("add.onnx", dims={{"batch": 2}})

        @pytest.mark.sla(ms=50, isolate=True)
        def test_bytes(sla):
            with open("add.bin", "rb") as handle:
                sla.onnx(handle.read())

        @pytest.mark.sla(ms=50, isolate=True)
        def test_proto(sla):
            sla.onnx(onnx.load("add.onnx"))

        @pytest.mark.sla(ms=50, isolate=True)
        def test_session(sla):
            sla.onnx(onnxruntime.InferenceSession({str(path)!r}))
        """
    )
    result = pytester.runpytest(*FAST, "--sla-report=json:r.json")
    result.assert_outcomes(passed=3, failed=1)
    session = failure_line(result, "test_models.py::test_session")
    assert (
        "sla.onnx(): an onnxruntime.InferenceSession cannot be sent to another process" in session
    )
    assert "pass the model's path" in session
    results = {e["nodeid"]: e for e in load_report(pytester.path / "r.json")["results"]}
    assert set(results) == {f"test_models.py::test_{kind}" for kind in ("path", "bytes", "proto")}
    for entry in results.values():
        assert entry["api"] == "session.run(None, feeds) [isolated]"
        assert entry["providers"] == ["CPUExecutionProvider"]
        assert entry["verdict"] == "pass"
    # The same names and hashes as an in-process measurement would record.
    assert results["test_models.py::test_path"]["subject"] == "add.onnx"
    assert results["test_models.py::test_path"]["inputs"][0]["shape"] == [2, 6]
    assert results["test_models.py::test_proto"]["subject"] == "<ModelProto add>"
    assert results["test_models.py::test_bytes"]["subject"].startswith("<bytes sha256:")
    assert len({e["model_sha256"] for e in results.values()}) == 1


PID_CHECK = """
    import os

    import pytest

    def write_pid(path):
        if not os.path.exists(path):
            with open(path, "w") as handle:
                handle.write(str(os.getpid()))

    @pytest.mark.sla(ms=50)
    def test_follows_the_setting(sla, tmp_path):
        sla.measure(write_pid, tmp_path / "pid")
        assert sla.isolated
        assert int((tmp_path / "pid").read_text()) != os.getpid()
        assert sla.results[0].subject.isolated
        assert sla.results[0].subject.api_text.endswith("[isolated]")

    @pytest.mark.sla(ms=50, isolate=False)
    def test_marker_opts_out(sla):
        assert not sla.isolated
        sla.measure(lambda: None)
    """


def test_isolate_from_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_setting=PID_CHECK)
    result = pytester.runpytest(*FAST, "--sla-isolate")
    result.assert_outcomes(passed=2)


def test_isolate_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsla_isolate = true\nsla_timeout = 30\n")
    pytester.makepyfile(test_setting=PID_CHECK)
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=2)


def test_a_bad_isolate_argument_is_a_setup_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.sla(ms=50, isolate="yes")
        def test_bad(sla):
            pass
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.sla(isolate='yes'): isolate= must be True or False* "
            "(in test_bad.py::test_bad)"
        ]
    )


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no os.mkfifo on this platform")
def test_a_feeds_path_that_is_a_pipe_is_refused_in_the_worker(tmp_path: Path) -> None:
    # The worker reads the feeds: a FIFO blocked it until the timeout, whose message
    # then said to raise the limit.
    path = save(add_model(), tmp_path / "add.onnx")
    fifo = tmp_path / "in.npz"
    os.mkfifo(fifo)
    with pytest.raises(OnnxInputError) as info:
        isolate_onnx.run_onnx(OnnxJob(str(path), feeds=str(fifo)), TIMING, timeout=20)
    assert str(info.value).startswith(
        f"feeds path {str(fifo)!r} is not a regular file (a device, a pipe or a socket); "
        "pass a folder of input_0.pb"
    )


@pytest.mark.usefixtures("not_an_xdist_worker")  # -W error: its warning
def test_the_tests_warning_filters_apply_in_the_worker(pytester: pytest.Pytester) -> None:
    # A trial: under -W error::UserWarning a warning of the measured code failed its test
    # in-process and passed isolated (the worker kept Python's default filters).
    pytester.makepyfile(
        test_warns="""
        import warnings

        import pytest

        def warner():
            warnings.warn("careful", UserWarning)

        @pytest.mark.sla(ms=50, isolate=True)
        def test_error(sla):
            sla.measure(warner)

        @pytest.mark.sla(ms=50, isolate=True)
        @pytest.mark.filterwarnings("ignore:careful")
        def test_ignored(sla):
            sla.measure(warner)
        """
    )
    result = pytester.runpytest(*FAST, "-W", "error::UserWarning", "-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["FAILED test_warns.py::test_error - UserWarning: careful"])
    # A filter that shows a warning ahead of an `error` keeps it from raising, there as
    # here (a review: only error and ignore filters were sent, and the worker raised).
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n    default::UserWarning\n")
    result = pytester.runpytest(*FAST, "-p", "no:randomly")
    result.assert_outcomes(passed=2)


@pytest.mark.usefixtures("not_an_xdist_worker")  # -W error: its warning
def test_only_the_filters_that_decide_an_outcome_reach_the_worker(
    pytester: pytest.Pytester,
) -> None:
    # A review: pytest's `always::DeprecationWarning` sent along printed every call's
    # warning to stderr in the worker (42,457 lines, and slower calls); and a category
    # defined in a conftest imported the conftest in the worker to unpickle it.
    pytester.makeconftest(
        """
        import os

        with open("imported.txt", "a") as out:
            out.write(f"{os.getpid()}\\n")

        class MyWarning(UserWarning):
            pass
        """
    )
    pytester.makepyfile(
        test_filters="""
        import os
        import warnings

        import pytest

        def record():
            if not os.path.exists("worker.txt"):
                with open("worker.txt", "w") as out:
                    out.write(repr([(f[0], f[2].__name__) for f in warnings.filters]))

        @pytest.mark.sla(ms=50, isolate=True)
        @pytest.mark.filterwarnings("error::conftest.MyWarning")
        def test_record(sla):
            sla.measure(record)
        """
    )
    result = pytester.runpytest(*FAST, "-W", "error::UserWarning")
    result.assert_outcomes(passed=1)
    actions = (pytester.path / "worker.txt").read_text()
    assert "('error', 'UserWarning')" in actions  # -W error::UserWarning
    assert "('always', 'DeprecationWarning')" not in actions  # pytest's, for its summary
    pids = (pytester.path / "imported.txt").read_text().split()
    assert pids == [str(os.getpid())]  # the conftest, in this process only


def test_a_timing_fitted_again_runs_as_it_was_made_again_and_isolated_goes_without() -> None:
    import dataclasses

    from pytest_latency_sla.runner import TooLateError

    shorter = dataclasses.replace(TIMING, plan=dataclasses.replace(TIMING.plan, max_samples=50))
    again = dataclasses.replace(TIMING, refit=lambda: shorter)
    assert again.run(lambda: None).samples_ns.size == 50  # the timing made again
    late = dataclasses.replace(TIMING, refit=lambda: "the timeout leaves nothing")
    with pytest.raises(TooLateError, match=r"^the timeout leaves nothing$"):
        late.run(lambda: None)
    # An isolated worker gets no refit (it could not be sent; the worker's own fit holds).
    assert isolate._task(CallJob(lambda: None, (), {}, "f"), again).timing.refit is None
