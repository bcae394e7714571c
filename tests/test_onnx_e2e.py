"""End-to-end runs of ``sla.onnx()`` with pytester, on tiny models built in code."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
from typing import TYPE_CHECKING

import numpy as np
import onnx
import pytest
from onnx import TensorProto
from onnx_models import (
    HOLDER,
    add_model,
    identity_model,
    looped_matmul_model,
    matmul_chain_model,
    misfit_reshape_model,
    model_bytes,
    multi_input_model,
    new_opset_model,
    sample_rate_model,
    save,
    save_test_data,
    save_with_external_data,
    scalar_gate_model,
    string_input_model,
    unknown_op_model,
)
from support import FAST, load_report, output

if TYPE_CHECKING:
    from pathlib import Path


def _check_clean(result: pytest.RunResult) -> None:
    """No plugin crash and no chained tracebacks in the run's output."""
    text = output(result)
    assert "INTERNALERROR" not in text
    assert "During handling of the above exception" not in text
    assert "The above exception was the direct cause" not in text


def _check_message(result: pytest.RunResult, nodeid: str, *fragments: str) -> str:
    """The one failure line for ``nodeid``: what went wrong and how to fix it first (the
    short summary shows the start), then the test it happened in.

    Plain substring checks, in order: the messages hold ``[1]`` and ``{...}``, which
    fnmatch patterns would read as wildcards.
    """
    prefix = "sla.onnx(): "
    suffix = f" (in {nodeid})"
    lines = [line for line in result.outlines if line.startswith(prefix) and line.endswith(suffix)]
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


def test_a_misspelt_keyword_fails_its_test_with_the_fix(
    pytester: pytest.Pytester, models: Path
) -> None:
    # A new user's trial: sla.onnx(provider=...) got Python's TypeError, which names
    # neither the fix nor the keywords there are.
    pytester.makepyfile(
        test_funnel="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_funnel_model(sla):
            sla.onnx("add.onnx", provider=["CPUExecutionProvider"])

        @pytest.mark.sla(ms=50)
        def test_compared(sla):
            sla.compare({"a": "add.onnx"}, feed={}, sesion_options=None, advise=True)
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    said = (
        "sla.onnx() got unknown argument provider= (provider=: did you mean providers=?; it "
        "takes feeds=, dims=, providers=, session_options=, advise=, sweep=) "
        "(in test_funnel.py::test_funnel_model)"
    )
    assert said in text
    assert (
        "sla.compare() got unknown arguments advise=, feed=, sesion_options= (advise= is "
        "for sla.onnx(), not sla.compare(); feed=: did you mean feeds=?; sesion_options=: "
        "did you mean session_options=?; it takes feeds=, dims=, providers=, "
        "session_options=) (in test_funnel.py::test_compared)"
    ) in text
    assert "TypeError" not in text
    docs = pathlib.Path(__file__).parent.parent / "docs" / "fixture.md"
    assert said in docs.read_text(encoding="utf-8")
    _check_clean(result)


def test_a_misspelt_model_keyword_gets_a_sentence_not_a_type_error(
    pytester: pytest.Pytester,
) -> None:
    # A new user's trial: sla.onnx(modle=...) got Python's "missing 1 required positional
    # argument: 'model'", which does not say which keyword was wrong.
    pytester.makepyfile(
        test_funnel="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_funnel_model(sla):
            sla.onnx(modle="add.onnx")

        @pytest.mark.sla(ms=50)
        def test_compared(sla):
            sla.compare(model={"a": "add.onnx", "b": "add.onnx"})
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    assert "sla.onnx() got unknown argument modle= (modle=: did you mean model=?; it " in text
    assert "sla.compare() got unknown argument model= (model=: did you mean models=?; " in text
    assert "TypeError" not in text


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
        "The generated values for input 'shape' (int64[1] = [0]) are the likely cause",
        "pass real values for it in feeds=, e.g. "
        "feeds={'shape': np.array([<value>], dtype=np.int64)}",
    )
    # Without onnxruntime's C++ source locations and signatures.
    assert "onnxruntime::" not in runtime
    assert ".h:" not in runtime
    _check_message(
        result,
        "test_bad.py::test_new_opset",
        "could not load model new_opset.onnx: ",
        "it uses opset 99 of ai.onnx, and this onnxruntime supports ai.onnx up to opset ",
        "export the model with opset ",
        "or upgrade onnxruntime",
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
    # A provider of another onnxruntime build (CUDA on a CPU build): skipped, as a GPU test
    # on a CPU runner; a name no build has (a typo) fails, with the name it meant.
    import onnxruntime

    absent = [
        p for p in onnxruntime.get_all_providers() if p not in onnxruntime.get_available_providers()
    ]
    if not absent:  # pragma: no cover - a build with every provider
        pytest.skip("this onnxruntime has every provider it knows")
    pytester.makepyfile(
        test_gpu=f"""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_on_a_gpu(sla):
            sla.onnx("add.onnx", providers=[{absent[0]!r}, "CPUExecutionProvider"])

        @pytest.mark.sla(ms=50)
        def test_a_typo(sla):
            sla.onnx("add.onnx", providers=["CPUExecutionProvder"])
        """
    )
    result = pytester.runpytest(*FAST, "-rs")
    result.assert_outcomes(skipped=1, failed=1)
    result.stdout.fnmatch_lines(
        # Located at the test, not at the plugin's file that raised the skip.
        [f"SKIPPED ?1? test_gpu.py:*{absent[0]!r} is not available*--sla-require-*test_on_a_gpu)"]
    )
    _check_message(
        result,
        "test_gpu.py::test_a_typo",
        "execution provider 'CPUExecutionProvder' is not a name onnxruntime knows; did you "
        "mean 'CPUExecutionProvider'?: fix it in providers=",
    )
    result = pytester.runpytest(*FAST, "--sla-require-providers")
    result.assert_outcomes(failed=2)
    _check_message(result, "test_gpu.py::test_on_a_gpu", f"{absent[0]!r} is not available")
    _check_clean(result)


@pytest.fixture
def broken_models(pytester: pytest.Pytester) -> Path:
    """Model files that cannot be loaded, each broken in its own way, and one that can."""
    path = pytester.path
    save(identity_model(), path / "good.onnx")
    data = model_bytes(scalar_gate_model(64))
    (path / "truncated.onnx").write_bytes(data[: len(data) // 2])
    (path / "readme.onnx").write_text("this is not a model\n")
    (path / "empty.onnx").write_bytes(b"")
    (path / "folder").mkdir()
    save(unknown_op_model(), path / "unknown_op.onnx")
    save(new_opset_model(99), path / "new_opset.onnx")
    save_with_external_data(scalar_gate_model(64), path / "external.onnx")
    (path / "weights.bin").unlink()
    return path


def test_models_that_cannot_be_loaded(pytester: pytest.Pytester, broken_models: Path) -> None:
    pytester.makepyfile(
        test_models="""
        import pytest

        @pytest.mark.sla(ms=50)
        @pytest.mark.parametrize(
            "model",
            ["missing.onnx", "folder", "empty.onnx", "truncated.onnx", "readme.onnx",
             "unknown_op.onnx", "new_opset.onnx", "external.onnx", "good.onnx"],
        )
        def test_load(sla, model):
            sla.onnx(model)
        """
    )
    result = pytester.runpytest(*FAST, "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=8)
    _check_message(
        result, "test_models.py::test_load[missing.onnx]", "model file 'missing.onnx' does not"
    )
    _check_message(
        result,
        "test_models.py::test_load[folder]",
        "model path 'folder' is a directory (it holds no .onnx file); pass the path to the .onnx",
    )
    _check_message(
        result,
        "test_models.py::test_load[empty.onnx]",
        "model file 'empty.onnx' is empty; re-export or re-download it",
    )
    _check_message(
        result,
        "test_models.py::test_load[truncated.onnx]",
        "could not load model truncated.onnx: it starts like an ONNX model (IR version 8) but ",
        "it is probably truncated or corrupted",
        "re-export or re-download it",
    )
    _check_message(
        result,
        "test_models.py::test_load[readme.onnx]",
        "could not load model readme.onnx: it is text, not an ONNX model (it starts with ",
        "pass an .onnx file",
    )
    _check_message(
        result,
        "test_models.py::test_load[unknown_op.onnx]",
        "could not load model unknown_op.onnx: operator NoSuchOperator (opset 17) is not known ",
        "upgrade onnxruntime",
    )
    _check_message(
        result,
        "test_models.py::test_load[new_opset.onnx]",
        "it uses opset 99 of ai.onnx",
    )
    _check_message(
        result,
        "test_models.py::test_load[external.onnx]",
        f"could not load model external.onnx: its external data file 'weights.bin'{HOLDER} is "
        "missing: it was expected at ",
        f"{broken_models / 'weights.bin'} ",
        "Put the file that came with the model there",
    )
    assert "Traceback" not in result.stdout.str()
    _check_clean(result)
    assert (pytester.path / "junit.xml").read_text().count("<failure") == 8


def test_feeds_that_do_not_fit(pytester: pytest.Pytester, models: Path) -> None:
    save(identity_model(TensorProto.FLOAT, [1, 6]), models / "fixed.onnx")
    pytester.makepyfile(
        test_feeds="""
        import numpy as np
        import pytest

        @pytest.mark.sla(ms=50)
        def test_dtype(sla):
            sla.onnx("fixed.onnx", feeds={"x": np.zeros((1, 6))})

        @pytest.mark.sla(ms=50)
        def test_shape(sla):
            sla.onnx("fixed.onnx", feeds={"x": np.zeros((1, 5), dtype=np.float32)})

        @pytest.mark.sla(ms=50)
        def test_rank(sla):
            sla.onnx("add.onnx", feeds={"a": np.zeros(6, dtype=np.float32)})

        @pytest.mark.sla(ms=50)
        def test_lossy_list(sla):
            sla.onnx("gate.onnx", feeds={"shape": [6.5]})

        @pytest.mark.sla(ms=50)
        def test_bytes_for_strings(sla):
            sla.onnx("strings.onnx", feeds={"x": np.array([b"hi"])})

        @pytest.mark.sla(ms=50)
        def test_lists_are_converted(sla):
            result = sla.onnx("fixed.onnx", feeds={"x": [[0.5] * 6]})
            assert result.subject.inputs == (("x", "float32[1,6]"),)

        @pytest.mark.sla(ms=50)
        def test_strings(sla):
            sla.onnx("strings.onnx", feeds={"x": ["hello"]})

        @pytest.mark.sla(ms=50)
        def test_generated_follow_given(sla):
            result = sla.onnx("add.onnx", feeds={"a": np.zeros((3, 6), dtype=np.float32)})
            assert result.subject.inputs == (("a", "float32[3,6]"), ("b", "float32[3,6]"))
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=3, failed=5)
    _check_message(
        result,
        "test_feeds.py::test_dtype",
        "feeds['x'] is float64, but the model's input 'x' takes float32[1,6] (tensor(float)); "
        "convert it with .astype(np.float32)",
    )
    _check_message(
        result,
        "test_feeds.py::test_shape",
        "feeds['x'] has shape (1, 5), but the model's input 'x' takes float32[1,6]: dimension 1 "
        "is fixed at 6, not 5; pass an array of shape (1, 6)",
    )
    _check_message(
        result,
        "test_feeds.py::test_rank",
        "feeds['a'] has shape (6,) (1 dimension), but the model's input 'a' takes "
        "float32[batch,6] (2 dimensions); pass an array of that rank, e.g. value[np.newaxis]",
    )
    _check_message(
        result,
        "test_feeds.py::test_lossy_list",
        "feeds['shape'] is a list of float64 values, which do not convert to int64 without loss",
        "np.asarray(value, dtype=np.int64)",
    )
    _check_message(result, "test_feeds.py::test_bytes_for_strings", "feeds['x'] holds bytes")
    # Checked before the first run: onnxruntime never saw these feeds.
    assert "ONNXRuntimeError" not in result.stdout.str()
    _check_clean(result)


def test_a_model_that_rejects_generated_values(pytester: pytest.Pytester) -> None:
    save(sample_rate_model(), pytester.path / "vad.onnx")
    pytester.makepyfile(
        test_vad="""
        import numpy as np
        import pytest

        @pytest.mark.sla(ms=50)
        def test_generated(sla):
            sla.onnx("vad.onnx", dims={"samples": 160})

        @pytest.mark.sla(ms=50)
        def test_given(sla):
            sla.onnx("vad.onnx", feeds={"sample_rate": 16000}, dims={"samples": 160})
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=1, failed=1)
    line = _check_message(
        result,
        "test_vad.py::test_generated",
        "model vad.onnx raised when run with inputs (audio: float32[1,160], sample_rate: "
        "int64[]): ",
        "Gather",
        "The generated values for input 'sample_rate' (int64[] = ",
        ") are the likely cause",
        "pass real values for it in feeds=, e.g. feeds={'sample_rate': np.array(<value>, "
        "dtype=np.int64)} (also generated: 'audio')",
    )
    # samples was given in dims: no hint about sizes.
    assert "dims=" not in line.split("likely cause", 1)[1]
    _check_clean(result)


def test_feeds_from_files(pytester: pytest.Pytester, models: Path) -> None:
    a = np.full((2, 6), 1.0, dtype=np.float32)
    save_test_data(models / "test_data_set_0", [("a", a), ("b", a)])
    np.savez(models / "inputs.npz", b=a)
    (models / "empty").mkdir()
    pytester.makepyfile(
        test_files="""
        import pytest

        @pytest.mark.sla(ms=50)
        def test_folder(sla):
            result = sla.onnx("add.onnx", feeds="test_data_set_0")
            assert result.subject.inputs == (("a", "float32[2,6]"), ("b", "float32[2,6]"))

        @pytest.mark.sla(ms=50)
        def test_npz(sla):
            result = sla.onnx("add.onnx", feeds="inputs.npz")
            assert result.subject.inputs == (("a", "float32[2,6]"), ("b", "float32[2,6]"))

        @pytest.mark.sla(ms=50)
        def test_missing(sla):
            sla.onnx("add.onnx", feeds="test_data_set_1")

        @pytest.mark.sla(ms=50)
        def test_empty_folder(sla):
            sla.onnx("add.onnx", feeds="empty")
        """
    )
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(passed=2, failed=2)
    _check_message(
        result,
        "test_files.py::test_missing",
        "feeds path 'test_data_set_1' does not exist (relative paths are taken from the current "
        "directory, ",
        "pass a folder of input_0.pb, input_1.pb, ... TensorProto files",
    )
    _check_message(
        result,
        "test_files.py::test_empty_folder",
        "feeds folder 'empty' holds no input_0.pb file",
    )
    _check_clean(result)


def test_a_callable_that_raises_fails_with_its_exception(pytester: pytest.Pytester) -> None:
    """Raised on a later call, during sampling: the test fails with it, others are kept."""
    pytester.makepyfile(
        test_raises="""
        import itertools
        import pytest

        class ModelError(Exception):
            pass

        COUNTER = itertools.count()

        def flaky():
            if next(COUNTER) == 50:
                raise ModelError("call 50 failed")

        @pytest.mark.sla(ms=50)
        def test_flaky(sla):
            sla.measure(flaky)

        @pytest.mark.sla(ms=50)
        def test_fine(sla):
            sla.measure(abs, -1)
        """
    )
    result = pytester.runpytest(*FAST, "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*raise ModelError*", "E   *ModelError: call 50 failed", "*1 SLA measurement*"]
    )
    _check_clean(result)


# --- sizes that defaulted to 1 ------------------------------------------------------------


def test_defaulted_sizes_are_shown_and_withhold_stop_optimizing(pytester: pytest.Pytester) -> None:
    save(add_model(("batch", "seq")), pytester.path / "text.onnx")
    save(add_model(("batch", 6)), pytester.path / "rows.onnx")
    pytester.makepyfile(
        test_sizes="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_naive(sla):
            sla.onnx("text.onnx")

        @pytest.mark.sla(ms=500)
        def test_sized(sla):
            sla.onnx("text.onnx", dims={"batch": 1, "seq": 64})

        @pytest.mark.sla(ms=500)
        def test_rows(sla):
            sla.onnx("rows.onnx")
        """
    )
    result = pytester.runpytest(
        *FAST,
        "--sla-report",
        "--sla-report=json:r.json",
        "--sla-report=md:r.md",
        "--sla-report=html:r.html",
    )
    result.assert_outcomes(passed=3)
    rows = {line.split()[0]: line for line in result.outlines if line.startswith("test_sizes.py::")}
    assert " stop optimizing " not in rows["test_sizes.py::test_naive"]
    assert " ok " in rows["test_sizes.py::test_naive"]
    assert " stop optimizing " in rows["test_sizes.py::test_sized"]
    # batch=1 is single-request latency, a real size: the band stays.
    assert " stop optimizing " in rows["test_sizes.py::test_rows"]
    result.stdout.fnmatch_lines(
        [
            "sla: test_sizes.py::test_naive: batch=1, seq=1 (defaulted): measured with inputs "
            'of that size only, so "stop optimizing" is withheld; give real sizes with '
            "dims={'seq': <size>}",
        ]
    )
    assert "test_sized: " not in result.stdout.str()
    records = {
        r["nodeid"].split("::")[1]: r for r in load_report(pytester.path / "r.json")["results"]
    }
    assert records["test_naive"]["defaulted_dims"] == [
        {"name": "batch", "batch": True},
        {"name": "seq", "batch": False},
    ]
    assert records["test_sized"]["defaulted_dims"] == []
    assert records["test_rows"]["band"] == "headroom"
    assert "seq=1 (defaulted)" in (pytester.path / "r.md").read_text(encoding="utf-8")
    assert "seq=1 (defaulted)" in (pytester.path / "r.html").read_text(encoding="utf-8")


def test_batch_dims_are_the_leading_axis_of_every_input_they_appear_in() -> None:
    from pytest_latency_sla.ort import prepare

    prepared = prepare(multi_input_model())
    # mask is bool[batch, ?]: its unnamed second axis counts, named as dims= names it.
    assert prepared.subject.defaulted_dims == ("batch", "height", "seq", "width", "mask[1]")
    assert prepared.subject.batch_dims == ("batch",)
    assert prepared.subject.defaulted_sizes == ("height", "seq", "width", "mask[1]")


# --- side by side against a git revision -------------------------------------------------


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd, capture_output=True, check=True,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_compare_ref_measures_a_changed_model_side_by_side(pytester: pytest.Pytester) -> None:
    root = pytester.path
    _git(root, "init", "-q", "-b", "main")
    save(matmul_chain_model(8), root / "slower.onnx")
    save(matmul_chain_model(8), root / "same.onnx")
    pytester.makepyfile(
        test_models="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_slower(sla):
            sla.onnx("slower.onnx")

        @pytest.mark.sla(ms=500)
        def test_same(sla):
            sla.onnx("same.onnx")

        @pytest.mark.sla(ms=500)
        def test_callable(sla):
            sla.measure(sum, [1, 2, 3])
        """
    )
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    # 10x the layers: the whole ratio interval lands far above the 1.10 gate, even on a
    # contended runner.
    save(matmul_chain_model(80), root / "slower.onnx")
    result = pytester.runpytest(
        *FAST,
        "--sla-compare-ref=main",
        "--sla-max-regression=10",
        "--sla-report",
        "--sla-report=json:r.json",
        "--sla-report=md:r.md",
        "--sla-report=html:r.html",
    )
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(
        [
            "*SLA regression against main: p50 * is *x the base's * (*x at 99% "
            "confidence, measured side by side), beyond the 10% allowed by "
            "sla_max_regression*",
        ]
    )
    result.stdout.fnmatch_lines_random(
        [
            "sla: test_models.py::test_slower: against main: p50 * -> *, *x (*); "
            "p99 * -> *, *x (*): regression*",
            "sla: test_models.py::test_same: model identical at main (same bytes): not measured "
            "again",
            "sla: 1 measurement not comparable with main (test_models.py::test_callable): "
            "only model files given by path*",
        ]
    )
    records = {r["nodeid"].split("::")[1]: r for r in load_report(root / "r.json")["results"]}
    slower = records["test_slower"]["revision"]
    assert slower["status"] == "changed"
    assert slower["outcome"] == "regression"
    assert slower["p50_ratio"][1] > 1.5  # 10x the work: the whole interval well above 1
    assert slower["blocks"] >= 20
    assert records["test_slower"]["verdict"] == "pass"  # the budget's verdict stands
    assert records["test_same"]["revision"]["status"] == "unchanged"
    assert records["test_callable"]["revision"]["status"] == "not comparable"
    # The Markdown reads as a pull-request comment: the changed model in a table of its own.
    markdown = (root / "r.md").read_text(encoding="utf-8")
    assert "**Changed models, measured side by side with `main`**" in markdown
    assert (
        "- 1 measurement not comparable with main (`test_models.py::test_callable`): only "
        "model files given by path are measured side by side with the base\n"
    ) in markdown
    (row,) = [
        line
        for line in markdown.splitlines()
        if line.startswith("| `test_models.py::test_slower`")
        and "head/base" not in line
        and "**slower**" in line
    ]
    assert row.endswith("| **slower** |")
    # test, base and head p50, their ratio, base and head p99, their ratio, outcome.
    assert len(row.strip("|").split(" | ")) == 8
    assert "| base p99 | head p99 | p99 head/base |" in markdown
    # The HTML report has the same table.
    page = (root / "r.html").read_text(encoding="utf-8")
    assert '<h2 id="side-by-side">Changed models, measured side by side with <code>main</code>' in (
        page
    )
    assert '<span class="chg-regression">slower</span>' in page
    assert (
        "- `test_models.py::test_same`: model identical at main (same bytes): not measured again"
    ) in markdown


#: A test of the model saved with its external data in models/ (``_external``).
EXT_TEST = """
    import pytest

    @pytest.mark.sla(ms=500)
    def test_ext(sla):
        sla.onnx("models/m.onnx")
"""


def _external(folder: Path, repeats: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.onnx.data").unlink(missing_ok=True)  # (onnx appends to one that is there)
    save_with_external_data(looped_matmul_model(repeats), folder / "m.onnx", "m.onnx.data")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("how", ["ref", "dir"])
def test_a_slowdown_in_the_external_data_alone_fails_the_gate(
    pytester: pytest.Pytester, how: str
) -> None:
    """A trial: the weights in models/m.onnx.data changed (the .onnx file stayed the same)
    and the model read as unchanged; when the .onnx changed too, the base was loaded from
    bytes, found no data file, and the base was blamed. 64x the work now fails the gate,
    the base measured with its own data file (the model in a folder, pytest run from the
    project's root)."""
    root = pytester.path
    _git(root, "init", "-q", "-b", "main")
    _external(root / "models", 1)
    pytester.makepyfile(test_ext=EXT_TEST)
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    if how == "dir":
        shutil.copytree(root, root.parent / "base", ignore=shutil.ignore_patterns(".git"))
    _external(root / "models", 64)
    option = "--sla-compare-ref=main" if how == "ref" else f"--sla-compare-dir={root.parent}/base"
    result = pytester.runpytest(
        *FAST, option, "--sla-max-regression=10", "--sla-report=json:r.json"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SLA regression against *: p50 * is *x the base's *"])
    (record,) = load_report(root / "r.json")["results"]
    revision = record["revision"]
    assert revision["status"] == "changed"
    assert revision["p50_ratio"][1] > 1.5  # 64x the rows: far above 1
    assert not list(root.glob("sla-base-*"))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_compare_ref_outside_git_fails_with_the_fix(pytester: pytest.Pytester) -> None:
    save(matmul_chain_model(2), pytester.path / "m.onnx")
    pytester.makepyfile(
        test_m="""
        import pytest

        @pytest.mark.sla(ms=500)
        def test_m(sla):
            sla.onnx("m.onnx")
        """
    )
    result = pytester.runpytest(*FAST, "--sla-compare-ref=main", "--sla-report=json:r.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*sla.onnx(): --sla-compare-ref=main: 'm.onnx' is not in a git repository; *"]
    )
    # Nothing measured is lost: the measurement is in the report.
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert record["verdict"] == "pass"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_compare_ref_under_isolation_compares_in_a_worker(pytester: pytest.Pytester) -> None:
    root = pytester.path
    _git(root, "init", "-q", "-b", "main")
    save(matmul_chain_model(8), root / "m.onnx")
    pytester.makepyfile(
        test_m="""
        import pytest

        @pytest.mark.sla(ms=500, isolate=True)
        def test_m(sla):
            sla.onnx("m.onnx")
        """
    )
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    save(matmul_chain_model(80), root / "m.onnx")  # 10x the layers
    result = pytester.runpytest(
        *FAST, "--sla-compare-ref=main", "--sla-max-regression=10", "--sla-report=json:r.json"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SLA regression against main: p50 * is *x the base's*"])
    (record,) = load_report(root / "r.json")["results"]
    assert record["api"].endswith("[isolated]")
    assert record["verdict"] == "pass"
    assert record["revision"]["status"] == "changed"
    assert record["revision"]["outcome"] == "regression"
    assert record["revision"]["p50_ratio"][1] > 1.5


def _against_a_broken_base(
    pytester: pytest.Pytester, base: onnx.ModelProto, isolate: bool
) -> pytest.RunResult:
    """A test of m.onnx, committed on main as ``base`` and changed to a MatMul chain, run
    with --sla-compare-ref=main and a JSON report (r.json); its one test failed."""
    root = pytester.path
    _git(root, "init", "-q", "-b", "main")
    save(base, root / "m.onnx")
    pytester.makepyfile(
        test_m=f"""
        import numpy as np
        import pytest

        @pytest.mark.sla(ms=500, isolate={isolate})
        def test_m(sla):
            sla.onnx("m.onnx", feeds={{"x": np.ones((1, 192), np.float32)}})
        """
    )
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    save(matmul_chain_model(2), root / "m.onnx")
    result = pytester.runpytest(*FAST, "--sla-compare-ref=main", "--sla-report=json:r.json")
    result.assert_outcomes(failed=1)
    return result


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_a_base_that_cannot_take_the_feeds_fails_with_a_sentence_and_keeps_the_head(
    pytester: pytest.Pytester, isolate: bool
) -> None:
    result = _against_a_broken_base(pytester, multi_input_model(), isolate)  # other inputs
    result.stdout.fnmatch_lines(
        [
            "sla.onnx(): the model at main cannot be compared with these inputs: feeds names "
            "'x', which is not an input of the model; * (said of the model at main, which "
            "this change cannot fix: * or run this test without --sla-compare-ref / "
            "--sla-compare-dir) (in "
            "test_m.py::test_m)"
        ]
    )
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert record["verdict"] == "pass"  # the head's measurement stands, recorded


@pytest.mark.parametrize("isolate", [False, True])
def test_a_base_that_raises_when_run_is_named_as_the_bases_problem_and_keeps_the_head(
    pytester: pytest.Pytester, isolate: bool
) -> None:
    """The base's model loads and takes the feeds but raises when run (a Reshape that
    does not fit them): the message named it by its bytes' hash and told the user to
    check the feeds' values, as if the head's model had raised."""
    result = _against_a_broken_base(pytester, misfit_reshape_model(), isolate)
    result.stdout.fnmatch_lines(
        [
            "sla.onnx(): measured side by side with main: the model at main raised when run "
            "with inputs (x: float32*): *Reshape* (said of the model at main, which "
            "this change cannot fix: * or run this test without --sla-compare-ref / "
            "--sla-compare-dir) (in test_m.py::test_m)"
        ]
    )
    (record,) = load_report(pytester.path / "r.json")["results"]
    assert record["verdict"] == "pass"  # the head's measurement stands, recorded


def test_unnamed_dimensions_are_named_input_axis_and_counted_as_defaulted() -> None:
    from pytest_latency_sla.ort import OnnxInputError, prepare

    prepared = prepare(identity_model(shape=(None, None)))
    # A leading unnamed axis is a batch (1 is single-request latency); another is a size.
    assert prepared.subject.defaulted_dims == ("x[0]", "x[1]")
    assert prepared.subject.batch_dims == ("x[0]",)
    assert prepared.subject.defaulted_sizes == ("x[1]",)
    sized = prepare(identity_model(shape=(None, None)), dims={"x[1]": 16, "x[0]": 4})
    assert sized.subject.inputs == (("x", "float32[4,16]"),)
    assert sized.subject.defaulted_dims == ()
    with pytest.raises(OnnxInputError) as error:
        prepare(identity_model(shape=(None, None)), dims={"seq": 16})
    assert str(error.value) == (
        "dims names 'seq', which is no symbolic dimension of the model's inputs (its "
        "symbolic dimensions: none; without a name, as input[axis]: 'x[0]', 'x[1]')"
    )
    # Axes in order, inputs in the model's order.
    wide = prepare(identity_model(shape=[None] * 12))
    assert wide.subject.defaulted_dims[:3] == ("x[0]", "x[1]", "x[2]")
    assert wide.subject.defaulted_dims[-1] == "x[11]"


def test_an_axis_key_for_a_named_or_fixed_axis_says_what_it_is() -> None:
    from pytest_latency_sla.ort import OnnxInputError, prepare

    with pytest.raises(OnnxInputError, match=r"^dims names 'x\[0\]', axis 0 of 'x', which is "
                       r"named 'batch': write dims=\{'batch': <size>\}$"):  # fmt: skip
        prepare(identity_model(shape=("batch", 6)), dims={"x[0]": 4})
    with pytest.raises(OnnxInputError, match=r"which is fixed at 6 by the model$"):
        prepare(identity_model(shape=("batch", 6)), dims={"x[1]": 4})


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_base_with_external_data_that_cannot_load_is_named_as_the_user_knows_it(
    pytester: pytest.Pytester,
) -> None:
    """A trial: a base whose data file was cut short failed to load with the path of the
    temporary folder it was written to (``/tmp/sla-base-.../m.onnx``), a path the user
    never made; it is named as git names it now (``main:models/m.onnx``)."""
    root = pytester.path
    _git(root, "init", "-q", "-b", "main")
    _external(root / "models", 2)
    data = root / "models" / "m.onnx.data"
    data.write_bytes(data.read_bytes()[:10])  # cut short: the base cannot load
    # An absolute path, as Path(__file__) makes: still git's name (a review).
    pytester.makepyfile(
        test_ext=EXT_TEST.replace(
            'sla.onnx("models/m.onnx")', 'sla.onnx(str(Path(__file__).parent / "models/m.onnx"))'
        ).replace("import pytest", "from pathlib import Path\n    import pytest")
    )
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    _external(root / "models", 3)
    result = pytester.runpytest(*FAST, "--sla-compare-ref=main", "--sla-report=json:r.json")
    result.assert_outcomes(failed=1)  # a base that cannot be compared fails the gate
    result.stdout.fnmatch_lines(["*could not load model main:models/m.onnx: its external*"])
    (record,) = load_report(root / "r.json")["results"]
    said = json.dumps(record)
    assert "sla-base-" not in said, said
