"""Unit tests of ``pytest_latency_sla.ort.load_errors``: models onnxruntime refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime
import pytest
from onnx_models import (
    HOLDER,
    custom_domain_model,
    model_bytes,
    new_ir_model,
    new_opset_model,
    no_kernel_model,
    run_once,
    save_with_external_data,
    scalar_gate_model,
    unknown_op_model,
)

from pytest_latency_sla.ort import OnnxInputError, prepare
from pytest_latency_sla.ort.load_errors import _explain_load_error

if TYPE_CHECKING:
    from pathlib import Path

# --- errors: the model ---------------------------------------------------------------


def test_truncated_file(tmp_path: Path) -> None:
    data = model_bytes(scalar_gate_model(64))
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(OnnxInputError) as info:
        prepare(truncated)
    message = str(info.value)
    assert "could not load model" in message
    assert str(truncated) in message
    assert "it starts like an ONNX model (IR version 8)" in message
    assert "probably truncated" in message
    assert "re-export or re-download it" in message
    assert isinstance(info.value.__cause__, Exception)


def test_a_file_whose_size_reads_0_but_holds_bytes_is_not_called_empty() -> None:
    # A trial: /proc/self/status was "model file ... is empty" (its size reads 0).
    import os

    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc on this platform")
    with pytest.raises(OnnxInputError) as info:
        prepare("/proc/self/status")
    assert "is empty" not in str(info.value)
    assert "it is text, not an ONNX model" in str(info.value)


def test_truncated_bytes() -> None:
    data = model_bytes(scalar_gate_model(64))
    with pytest.raises(OnnxInputError, match="could not load model <bytes sha256:"):
        prepare(data[: len(data) // 2])


def test_not_an_onnx_file(tmp_path: Path) -> None:
    text = tmp_path / "readme.onnx"
    text.write_text("this is not a model\n")
    with pytest.raises(OnnxInputError, match="could not load model") as info:
        prepare(text)
    assert "it is text, not an ONNX model (it starts with b'this is not a model" in str(info.value)
    assert "pass an .onnx file" in str(info.value)


@pytest.mark.parametrize(
    ("build", "fragments"),
    [
        (
            unknown_op_model,
            ["operator NoSuchOperator (opset 17) is not known to this onnxruntime; upgrade"],
        ),
        (
            custom_domain_model,
            [
                "it uses operator Frobnicate of domain com.example, which nothing registered",
                "options.register_custom_ops_library(path)",
            ],
        ),
        (
            new_opset_model,
            ["it uses opset 99 of ai.onnx, and this onnxruntime supports ai.onnx up to opset "],
        ),
        (new_ir_model, ["its IR version is 99, and this onnxruntime reads up to IR version"]),
        (
            no_kernel_model,
            [
                "no execution provider in use has a kernel for operator Relu (opset 14)",
                "onnx.version_converter.convert_version(model, 17)",
                "a Cast to float",
            ],
        ),
    ],
    ids=["unknown-op", "custom-domain", "new-opset", "new-ir", "no-kernel"],
)
def test_unsupported_model(build: Any, fragments: list[str]) -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(build())
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert f"onnxruntime {onnxruntime.__version__} could not load model" in message
    # onnxruntime's C++ source locations and signatures are cut.
    assert ".h:" not in message
    assert "onnxruntime::" not in message
    assert "\n" not in message


# --- errors: models that are not what they seem --------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n",
            "the file is a Git LFS pointer, not the model; fetch the model with `git lfs pull`",
        ),
        (b"<!DOCTYPE html><html></html>", "it looks like an HTML or XML page"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"it is not an ONNX model (it starts with b'\x89PNG"),
    ],
    ids=["lfs-pointer", "html", "binary"],
)
def test_files_that_are_not_models(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(OnnxInputError) as info:
        prepare(path)
    assert fragment in str(info.value)


@pytest.fixture
def external_model(tmp_path: Path) -> Path:
    """A model whose one initializer lives in weights.bin beside it."""
    return save_with_external_data(scalar_gate_model(64), tmp_path / "external.onnx")


def test_external_data_is_read(external_model: Path) -> None:
    assert (external_model.parent / "weights.bin").exists()
    prepared = prepare(external_model, feeds={"shape": np.array([64], dtype=np.int64)})
    (out,) = run_once(prepared)
    assert out.shape == (64,)


def test_external_data_missing(external_model: Path) -> None:
    weights = external_model.parent / "weights.bin"
    weights.unlink()
    with pytest.raises(OnnxInputError) as info:
        prepare(external_model)
    message = str(info.value)
    assert f"could not load model {external_model}: " in message
    assert f"its external data file 'weights.bin'{HOLDER} is missing" in message
    assert f"it was expected at {weights} " in message
    assert "Put the file that came with the model there" in message


def test_external_data_missing_beside_a_model_given_by_a_relative_path(
    external_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: onnxruntime 1.23 names the file with the model's folder already in it
    # ("sub/weights.bin"), and that folder was joined in again.
    weights = external_model.parent / "weights.bin"
    weights.unlink()
    monkeypatch.chdir(external_model.parent.parent)
    relative = f"{external_model.parent.name}/{external_model.name}"
    with pytest.raises(OnnxInputError) as info:
        prepare(relative)
    assert f"it was expected at {weights} " in str(info.value)


@pytest.mark.parametrize("as_proto", [False, True], ids=["bytes", "ModelProto"])
def test_external_data_from_bytes(
    external_model: Path, as_proto: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx

    # From another folder, onnxruntime cannot find weights.bin for a model without a path.
    monkeypatch.chdir(external_model.parent.parent)
    model: object = (
        onnx.load(str(external_model), load_external_data=False)
        if as_proto
        else external_model.read_bytes()
    )
    with pytest.raises(OnnxInputError) as info:
        prepare(model)
    message = str(info.value)
    assert f"its weights are in an external data file{HOLDER} that cannot be found" in message
    assert "a model given as bytes or a ModelProto has no folder to find it in" in message
    assert "Pass the path of the .onnx file" in message
    # onnx.load reads the external data in: that ModelProto works.
    prepare(onnx.load(str(external_model)), feeds={"shape": np.array([64], dtype=np.int64)})


def test_external_data_truncated(external_model: Path) -> None:
    weights = external_model.parent / "weights.bin"
    weights.write_bytes(weights.read_bytes()[:10])
    with pytest.raises(OnnxInputError) as info:
        prepare(external_model)
    message = str(info.value)
    assert "its external data file is incomplete: tensor 'data' needs bytes 0 to 256, and " in (
        message
    )
    assert "the file has 10" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "[ONNXRuntimeError] : 1 : FAIL : could not read external data file",
            "its external data cannot be read",
        ),
        (
            "[ONNXRuntimeError] : 1 : FAIL : Exception during initialization: Failed to "
            "construct locale with name:en_US.UTF-8",
            "name:en_US.UTF-8. The model was read, but a kernel failed while the session was "
            "set up",
        ),
        (
            "[ONNXRuntimeError] : 10 : INVALID_GRAPH : This is an invalid model. Type Error",
            "This is an invalid model. Type Error. Check that the file is a complete ONNX model",
        ),
    ],
    ids=["external-other", "initialization", "fallback"],
)
def test_other_load_errors(text: str, fragment: str) -> None:
    message = _explain_load_error("1.0", "m.onnx", "m.onnx", RuntimeError(text))
    assert message.startswith("onnxruntime 1.0 could not load model m.onnx: ")
    assert fragment in message
