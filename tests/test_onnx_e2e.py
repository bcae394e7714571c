"""End-to-end runs of ``sla.onnx()`` with pytester, on tiny models built in code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from onnx import TensorProto
from onnx_models import add_model, new_opset_model, save, scalar_gate_model, string_input_model

if TYPE_CHECKING:
    from pathlib import Path

#: Short sampling, so each run takes a fraction of a second.
FAST = ("--sla-warmup-time=0.005", "--sla-min-time=0.005", "--sla-max-time=0.5")


def _check_clean(result: pytest.RunResult) -> None:
    """No plugin crash and no chained tracebacks in the run's output."""
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text
    assert "During handling of the above exception" not in text
    assert "The above exception was the direct cause" not in text


def _check_message(result: pytest.RunResult, nodeid: str, *fragments: str) -> str:
    """The one failure line for ``nodeid``; it names the test, then says what and how to fix.

    Plain substring checks, in order: the messages hold ``[1]`` and ``{...}``, which
    fnmatch patterns would read as wildcards.
    """
    prefix = f"{nodeid}: sla.onnx(): "
    lines = [line for line in result.outlines if line.startswith(prefix)]
    assert len(lines) == 1, result.stdout.str()
    line = lines[0]
    position = len(prefix)
    for fragment in fragments:
        found = line.find(fragment, position)
        assert found >= 0, f"{fragment!r} not in {line[position:]!r}"
        position = found + len(fragment)
    return line


@pytest.fixture
def models(pytester: pytest.Pytester) -> Path:
    """The pytester directory, holding the models the test files below use."""
    path = pytester.path
    save(add_model(("batch", 6)), path / "add.onnx")
    save(string_input_model(), path / "strings.onnx")
    save(scalar_gate_model(6), path / "gate.onnx")
    save(new_opset_model(99), path / "new_opset.onnx")
    return path


def test_passing_sla_with_dims(pytester: pytest.Pytester, models: Path) -> None:
    pytester.makepyfile(
        test_tiny="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_add(sla):
            result = sla.onnx("add.onnx", dims={"batch": 4})
            assert result.verdict == "pass"
            assert result.subject.name == "add.onnx"
            assert result.subject.inputs == (("a", "float32[4,6]"), ("b", "float32[4,6]"))
            assert result.subject.providers == ("CPUExecutionProvider",)
            assert result.samples > 0
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=1)
    _check_clean(result)


def test_bad_inputs_fail_only_their_test(pytester: pytest.Pytester, models: Path) -> None:
    pytester.makepyfile(
        test_bad="""
        import numpy as np
        import pytest

        @pytest.mark.sla(ms=50)
        def test_missing_file(sla):
            sla.onnx("missing.onnx")

        @pytest.mark.sla(ms=50)
        def test_string_input(sla):
            sla.onnx("strings.onnx")

        @pytest.mark.sla(ms=50)
        def test_unknown_feed(sla):
            sla.onnx("add.onnx", feeds={"c": np.zeros((1, 6), dtype=np.float32)})

        @pytest.mark.sla(ms=50)
        def test_fails_at_run_time(sla):
            sla.onnx("gate.onnx")

        @pytest.mark.sla(ms=50)
        def test_new_opset(sla):
            sla.onnx("new_opset.onnx")

        @pytest.mark.sla(ms=50)
        def test_gate_with_feeds(sla):
            sla.onnx("gate.onnx", feeds={"shape": np.array([6], dtype=np.int64)})
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=1, failed=5)
    _check_message(
        result,
        "test_bad.py::test_missing_file",
        "model file 'missing.onnx' does not exist (relative paths are taken from the current "
        "directory, ",
        "pass the path to an .onnx file",
    )
    _check_message(
        result,
        "test_bad.py::test_string_input",
        "cannot generate a value for input 'x' of type tensor(string)",
        "pass it in feeds, e.g. feeds={'x': <value>}",
    )
    _check_message(
        result,
        "test_bad.py::test_unknown_feed",
        "feeds names 'c', which is not an input of the model; its inputs are 'a', 'b'",
    )
    runtime = _check_message(
        result,
        "test_bad.py::test_fails_at_run_time",
        "model gate.onnx raised when run with inputs (shape: int64[1]): ",
        "Reshape",
        "Input shape:{6}, requested shape:{",
        "Pass real values for the inputs it rejects in feeds={name: array}, or sizes for "
        "symbolic dimensions in dims={name: size}",
    )
    # Without onnxruntime's C++ source locations and signatures.
    assert "onnxruntime::" not in runtime
    assert ".h:" not in runtime
    _check_message(
        result,
        "test_bad.py::test_new_opset",
        "could not load model new_opset.onnx: ",
        "Opset 99",
        "Check that the file is a complete ONNX model",
    )
    # Failures are one-line messages: no Python frames of the plugin or of onnxruntime.
    assert "Traceback" not in result.stdout.str()
    assert "pytest_latency_sla/" not in result.stdout.str()
    _check_clean(result)


def test_bad_provider_and_dims(pytester: pytest.Pytester, models: Path) -> None:
    pytester.makepyfile(
        test_options="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_provider_string(sla):
            sla.onnx("add.onnx", providers="CPUExecutionProvider")

        @pytest.mark.sla(ms=50)
        def test_bad_dims(sla):
            sla.onnx("add.onnx", dims={"batch": 0})

        @pytest.mark.sla(ms=50)
        def test_good(sla):
            sla.onnx("add.onnx", providers=["CPUExecutionProvider"])
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=1, failed=2)
    _check_message(
        result,
        "test_options.py::test_provider_string",
        "providers must be a list, got the string 'CPUExecutionProvider'; write "
        "providers=['CPUExecutionProvider']",
    )
    _check_message(
        result,
        "test_options.py::test_bad_dims",
        "dims['batch'] must be a positive whole number, got 0",
    )
    _check_clean(result)


def test_model_proto_and_session_in_a_test(pytester: pytest.Pytester) -> None:
    """Models built or loaded inside the test file: a ModelProto and an InferenceSession."""
    pytester.makepyfile(
        test_objects=f"""
        import onnx
        import onnxruntime
        import pytest
        from onnx import helper

        def build():
            vi = helper.make_tensor_value_info
            graph = helper.make_graph(
                [helper.make_node("Identity", ["x"], ["y"])], "tiny",
                [vi("x", {TensorProto.FLOAT}, ["batch", 3])],
                [vi("y", {TensorProto.FLOAT}, ["batch", 3])],
            )
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
            model.ir_version = 8
            return model

        @pytest.mark.sla(ms=50)
        def test_proto(sla):
            result = sla.onnx(build(), dims={{"batch": 2}})
            assert result.subject.name == "<ModelProto tiny>"
            assert result.subject.inputs == (("x", "float32[2,3]"),)

        @pytest.mark.sla(ms=50)
        def test_session(sla):
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                build().SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            result = sla.onnx(session)
            assert result.subject.intra_op_threads == 1

        @pytest.mark.sla(ms=50)
        def test_session_with_providers(sla):
            session = onnxruntime.InferenceSession(
                build().SerializeToString(), providers=["CPUExecutionProvider"]
            )
            sla.onnx(session, providers=["CPUExecutionProvider"])
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=2, failed=1)
    _check_message(
        result,
        "test_objects.py::test_session_with_providers",
        "providers and session_options cannot change an existing InferenceSession",
    )
    _check_clean(result)


def test_unavailable_provider_skips_or_fails(pytester: pytest.Pytester, models: Path) -> None:
    pytester.makepyfile(
        test_gpu="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_on_a_gpu(sla):
            sla.onnx("add.onnx", providers=["NoSuchExecutionProvider", "CPUExecutionProvider"])
        """
    )
    result = pytester.runpytest(*FAST, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED*test_on_a_gpu*'NoSuchExecutionProvider' is not available*--sla-require-*"]
    )
    result = pytester.runpytest(*FAST, "--sla-require-providers")
    result.assert_outcomes(failed=1)
    _check_message(
        result, "test_gpu.py::test_on_a_gpu", "'NoSuchExecutionProvider' is not available"
    )
    _check_clean(result)
