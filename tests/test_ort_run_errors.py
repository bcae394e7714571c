"""Unit tests of ``pytest_latency_sla.ort.run_errors`` (and ``errors``): models that raise."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_models import (
    add_model,
    identity_model,
    multi_input_model,
    run_once,
    sample_rate_model,
    scalar_gate_model,
)

from pytest_latency_sla import ort
from pytest_latency_sla.ort import prepare
from pytest_latency_sla.ort.errors import _error_detail

# --- run errors ----------------------------------------------------------------------


def test_explain_run_error_names_model_and_inputs() -> None:
    prepared = prepare(scalar_gate_model(6))
    assert prepared.subject.inputs == (("shape", "int64[1]"),)
    with pytest.raises(ort.RUN_ERRORS) as info:
        prepared.call()
    message = ort.explain_run_error(info.value, prepared)
    assert message.startswith("model <ModelProto scalar_gate> raised when run with inputs ")
    assert "(shape: int64[1])" in message
    assert "Reshape" in message
    assert "The generated values for input 'shape' (int64[1] = [0]) are the likely cause" in (
        message
    )
    assert "feeds={'shape': np.array([<value>], dtype=np.int64)}" in message
    # No symbolic dimension was defaulted, and nothing else was generated.
    assert "dims=" not in message
    assert "also generated" not in message
    assert "onnxruntime::" not in message
    assert "\n" not in message


def test_explain_run_error_without_a_message() -> None:
    prepared = prepare(identity_model())
    message = ort.explain_run_error(RuntimeError(), prepared)
    assert "raised when run with inputs (x: float32[1,6]): RuntimeError." in message


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "[ONNXRuntimeError] : 1 : FAIL : Load model from m.onnx failed:/onnxruntime_src/"
            "onnxruntime/core/graph/model_load_utils.h:46 void onnxruntime::model_load_utils::"
            "ValidateOpsetForDomain(const std::unordered_map<std::string, int>&, bool, int) "
            "Opset 99 is under development.\nsecond line",
            "[ONNXRuntimeError] : 1 : FAIL : Load model from m.onnx failed: Opset 99 is under "
            "development. second line",
        ),
        (
            r"Status Message: D:\a\_work\1\s\onnxruntime\core\providers\cpu\tensor"
            r"\reshape_helper.h:91 onnxruntime::ReshapeHelper::ReshapeHelper(bool) shape {6}.",
            "Status Message: shape {6}",
        ),
        ("plain message without a location", "plain message without a location"),
        ("   ", "RuntimeError"),
    ],
    ids=["posix", "windows", "plain", "empty"],
)
def test_error_detail_cuts_cpp_locations(message: str, expected: str) -> None:
    assert _error_detail(RuntimeError(message)) == expected


def test_run_error_with_every_input_given() -> None:
    prepared = prepare(scalar_gate_model(6), feeds={"shape": [5]})
    with pytest.raises(ort.RUN_ERRORS) as info:
        prepared.call()
    message = ort.explain_run_error(info.value, prepared)
    assert message.endswith(
        "Every input came from feeds: check their values against what the model expects"
    )


# --- a model that rejects generated values -------------------------------------------


def test_rejected_generated_value_names_the_input_to_pass() -> None:
    prepared = prepare(sample_rate_model())
    assert prepared.generated == ("audio", "sample_rate")
    assert prepared.defaulted_dims == ("samples",)
    with pytest.raises(ort.RUN_ERRORS) as info:
        prepared.call()
    message = ort.explain_run_error(info.value, prepared)
    assert message.startswith(
        "model <ModelProto sample_rate> raised when run with inputs "
        "(audio: float32[1,1], sample_rate: int64[]): "
    )
    assert "Gather" in message
    assert (
        "The generated values for input 'sample_rate' (int64[] = 1) are the likely cause "
        "(inputs not given in feeds get made-up values: 0 or 1, floats in [0, 1)): pass real "
        "values for it in feeds=, e.g. feeds={'sample_rate': np.array(<value>, "
        "dtype=np.int64)} (also generated: 'audio'); if a size of 1 is the problem, give "
        "sizes for the dimensions that defaulted to it: dims={'samples': <size>}"
    ) in message


@pytest.mark.parametrize("rate", [8000, 16000])
def test_the_rejected_input_given_in_feeds_runs(rate: int) -> None:
    prepared = prepare(sample_rate_model(), feeds={"sample_rate": rate}, dims={"samples": 160})
    assert prepared.generated == ("audio",)
    assert prepared.defaulted_dims == ()
    (out,) = run_once(prepared)
    assert out.shape == (1, 160)


def test_suspects_named_by_the_error_come_first() -> None:
    prepared = prepare(multi_input_model())
    error = RuntimeError("Got invalid dimensions for input: mask for the following indices")
    message = ort.explain_run_error(error, prepared)
    assert "The generated values for input 'mask' (bool[1,1] = [[" in message
    assert "(also generated: 'image", "ids')" in message
    assert (
        "dims={'batch': <size>, 'height': <size>, 'seq': <size>, 'width': <size>, "
        "'mask[1]': <size>}" in message
    )


def test_without_small_integer_inputs_every_generated_input_is_a_suspect() -> None:
    prepared = prepare(add_model(("batch", 6)), feeds=None)
    message = ort.explain_run_error(RuntimeError("bad values"), prepared)
    assert "The generated values for inputs 'a' (float32[1,6]), 'b' (float32[1,6]) are a " in (
        message
    )
    assert "possible cause" in message
    assert "pass real values for them in feeds=, e.g. feeds={'a': <a float32 array of " in message


def test_given_inputs_are_suspects_too_when_no_generated_one_is_likely() -> None:
    prepared = prepare(sample_rate_model(), feeds={"sample_rate": 44100}, dims={"samples": 5})
    with pytest.raises(ort.RUN_ERRORS) as info:
        prepared.call()
    message = ort.explain_run_error(info.value, prepared)
    assert "The generated values for input 'audio' (float32[1,5]) are a possible cause" in message
    assert message.endswith("; else check the values given in feeds for 'sample_rate'")


def test_a_given_input_named_by_the_error() -> None:
    prepared = prepare(multi_input_model(), feeds={"ids": np.zeros((1, 1), np.int64)})
    error = RuntimeError("indices element out of data bounds in input ids")
    message = ort.explain_run_error(error, prepared)
    assert message.endswith(
        "The error names 'ids', given in feeds: check its values against what the model "
        "expects (also generated: 'image', 'mask')"
    )


def test_which_of_two_models_side_by_side_raised_is_found_by_calling_each_again() -> None:
    """A base revision's model and the head's, called in turns: the one that raised is
    named (the base by the name it is given), and when neither raises again, it says so."""
    failing = prepare(scalar_gate_model(6))  # generated shape [0]: its Reshape raises
    fine = prepare(identity_model())
    with pytest.raises(ort.RUN_ERRORS) as info:
        failing.call()
    side, message = ort.pair_run_error(info.value, failing, fine, "at main")
    assert side == "base"
    assert message.startswith("model at main raised when run with inputs (shape: int64[1]): ")
    side, message = ort.pair_run_error(info.value, fine, failing, "at main")
    assert side == "head"
    assert message.startswith("model <ModelProto scalar_gate> raised when run with inputs ")
    side, message = ort.pair_run_error(RuntimeError("once"), fine, fine, "at main")
    assert side == "either"
    assert message == (
        "a call raised RuntimeError: once, and neither model (the one at main, nor this "
        "change's) did when called again: a fault that comes and goes?"
    )
