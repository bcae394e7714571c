"""Unit tests of the ONNX Runtime adapter (``pytest_latency_sla.ort``), without pytester."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto
from onnx_models import (
    add_model,
    custom_domain_model,
    identity_model,
    model_bytes,
    multi_input_model,
    new_ir_model,
    new_opset_model,
    no_kernel_model,
    sample_rate_model,
    save,
    save_test_data,
    save_with_external_data,
    scalar_gate_model,
    string_input_model,
    unknown_op_model,
)

from pytest_latency_sla import ort
from pytest_latency_sla.ort import OnnxInputError, PreparedModel, prepare
from pytest_latency_sla.ort.errors import _error_detail
from pytest_latency_sla.ort.load_errors import _explain_load_error

if TYPE_CHECKING:
    import onnx


def _session(model: onnx.ModelProto, **kwargs: Any) -> Any:
    return onnxruntime.InferenceSession(
        model_bytes(model), providers=["CPUExecutionProvider"], **kwargs
    )


def _outputs(prepared: PreparedModel) -> list[Any]:
    """Run the prepared call once; session.run returns a list of arrays."""
    outputs = prepared.call()
    assert isinstance(outputs, list)
    return outputs


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    """An identity model float[1, 6] saved to disk."""
    return save(identity_model(TensorProto.FLOAT, [1, 6]), tmp_path / "identity.onnx")


# --- model sources ---------------------------------------------------------------------


@pytest.mark.parametrize("as_str", [True, False], ids=["str", "pathlib"])
def test_prepare_from_path(model_path: Path, as_str: bool) -> None:
    prepared = prepare(str(model_path) if as_str else model_path)
    assert prepared.subject.kind == "onnx"
    assert prepared.subject.name == str(model_path)
    assert prepared.subject.api == "session.run(None, feeds)"
    outputs = prepared.call()
    assert isinstance(outputs, list)
    np.testing.assert_array_equal(outputs[0], prepared.feeds["x"])


def test_prepare_from_bytes() -> None:
    data = model_bytes(identity_model())
    prepared = prepare(data)
    assert prepared.subject.name.startswith("<bytes sha256:")
    assert prepared.subject.inputs == (("x", "float32[1,6]"),)
    # bytearray and memoryview are bytes too, and name the same model.
    assert prepare(bytearray(data)).subject.name == prepared.subject.name
    assert prepare(memoryview(data)).subject.name == prepared.subject.name


def test_prepare_from_model_proto() -> None:
    prepared = prepare(identity_model(name="tiny"))
    assert prepared.subject.name == "<ModelProto tiny>"
    assert prepared.subject.inputs == (("x", "float32[1,6]"),)


def test_prepare_from_inference_session() -> None:
    session = _session(identity_model())
    prepared = prepare(session)
    assert prepared.session is session
    assert prepared.subject.name == "<InferenceSession>"
    assert prepared.subject.providers == ("CPUExecutionProvider",)
    assert prepared.subject.providers_requested == ("CPUExecutionProvider",)


# --- subject ---------------------------------------------------------------------------


def test_subject_records_providers_and_signature() -> None:
    subject = prepare(identity_model()).subject
    assert subject.providers_requested == ("CPUExecutionProvider",)
    assert subject.providers == ("CPUExecutionProvider",)
    assert subject.inputs == (("x", "float32[1,6]"),)


def test_subject_records_thread_settings() -> None:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    subject = prepare(identity_model(), session_options=options).subject
    assert subject.intra_op_threads == 1
    assert subject.inter_op_threads == 1


def test_explicit_provider_with_options() -> None:
    prepared = prepare(identity_model(), providers=[("CPUExecutionProvider", {})])
    assert prepared.subject.providers_requested == ("CPUExecutionProvider",)
    prepared.call()


def test_thread_settings_of_an_existing_session() -> None:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    subject = prepare(_session(identity_model(), sess_options=options)).subject
    assert subject.intra_op_threads == 1


# --- generated feeds -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elem_type", "dtype"),
    [
        (TensorProto.FLOAT, np.float32),
        (TensorProto.DOUBLE, np.float64),
        (TensorProto.FLOAT16, np.float16),
        (TensorProto.INT8, np.int8),
        (TensorProto.INT16, np.int16),
        (TensorProto.INT32, np.int32),
        (TensorProto.INT64, np.int64),
        (TensorProto.UINT8, np.uint8),
        (TensorProto.UINT16, np.uint16),
        (TensorProto.UINT32, np.uint32),
        (TensorProto.UINT64, np.uint64),
        (TensorProto.BOOL, np.bool_),
    ],
    ids=lambda v: np.dtype(v).name if isinstance(v, type) else "",
)
def test_generated_feed_dtype(elem_type: int, dtype: type[Any]) -> None:
    prepared = prepare(identity_model(elem_type, [2, 3]))
    value = prepared.feeds["x"]
    assert value.dtype == np.dtype(dtype)
    assert value.shape == (2, 3)
    (out,) = _outputs(prepared)
    np.testing.assert_array_equal(out, value)


def test_generated_values_are_in_safe_ranges() -> None:
    floats = prepare(identity_model(TensorProto.FLOAT, [64])).feeds["x"]
    assert ((floats >= 0) & (floats < 1)).all()
    ints = prepare(identity_model(TensorProto.INT64, [64])).feeds["x"]
    assert set(np.unique(ints).tolist()) <= {0, 1}


def test_rank_and_dims_by_name() -> None:
    prepared = prepare(multi_input_model(), dims={"batch": 4, "height": 8, "width": 5, "seq": 7})
    feeds = prepared.feeds
    assert feeds["image"].shape == (4, 3, 8, 5)
    assert feeds["ids"].shape == (4, 7)
    assert feeds["ids"].dtype == np.int64
    # The unknown second dimension of mask becomes 1.
    assert feeds["mask"].shape == (4, 1)
    assert feeds["mask"].dtype == np.bool_
    assert prepared.subject.inputs == (
        ("image", "float32[4,3,8,5]"),
        ("ids", "int64[4,7]"),
        ("mask", "bool[4,1]"),
    )
    prepared.call()


def test_symbolic_dims_not_named_default_to_one() -> None:
    feeds = prepare(multi_input_model(), dims={"batch": 2}).feeds
    assert feeds["image"].shape == (2, 3, 1, 1)
    assert feeds["ids"].shape == (2, 1)


@pytest.mark.parametrize("unknown", [None, ""], ids=["none", "unnamed"])
def test_unknown_dims_are_one(unknown: str | None) -> None:
    prepared = prepare(identity_model(TensorProto.FLOAT, [unknown, 3, unknown]))
    assert prepared.feeds["x"].shape == (1, 3, 1)


def test_scalar_input() -> None:
    prepared = prepare(identity_model(TensorProto.FLOAT, []))
    assert prepared.feeds["x"].shape == ()
    assert prepared.subject.inputs == (("x", "float32[]"),)
    prepared.call()


def test_feeds_are_deterministic() -> None:
    first = prepare(multi_input_model(), dims={"batch": 3}).feeds
    second = prepare(multi_input_model(), dims={"batch": 3}).feeds
    assert list(first) == list(second)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    # Two inputs of one type get different values from the one seeded generator.
    feeds = prepare(add_model(("batch", 6))).feeds
    assert not np.array_equal(feeds["a"], feeds["b"])


def test_given_feeds_are_used_as_is() -> None:
    given = np.full((3, 6), 7.0, dtype=np.float32)
    prepared = prepare(add_model(("batch", 6)), feeds={"b": given})
    assert prepared.feeds["b"] is given
    # The generated input takes its symbolic batch size from the given one.
    assert prepared.feeds["a"].shape == (3, 6)
    (out,) = _outputs(prepared)
    np.testing.assert_allclose(out, prepared.feeds["a"] + given)
    # Inputs are listed in the model's order, whichever were given.
    assert [name for name, _ in prepared.subject.inputs] == ["a", "b"]


def test_feeds_for_every_input_generate_nothing() -> None:
    a = np.ones((2, 6), dtype=np.float32)
    b = np.zeros((2, 6), dtype=np.float32)
    prepared = prepare(add_model(("batch", 6)), feeds={"a": a, "b": b})
    assert prepared.feeds["a"] is a
    assert prepared.feeds["b"] is b
    assert prepared.subject.inputs == (("a", "float32[2,6]"), ("b", "float32[2,6]"))


def test_string_input_with_feeds_runs() -> None:
    prepared = prepare(string_input_model(), feeds={"x": np.array(["hello"], dtype=object)})
    (out,) = _outputs(prepared)
    assert out.tolist() == ["hello"]


def test_scalar_gate_runs_with_the_right_value() -> None:
    prepared = prepare(scalar_gate_model(6), feeds={"shape": np.array([6], dtype=np.int64)})
    (out,) = _outputs(prepared)
    assert out.shape == (6,)


# --- errors: the model -----------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    with pytest.raises(OnnxInputError, match="does not exist") as info:
        prepare(missing)
    assert str(missing) in str(info.value)
    assert "current directory" in str(info.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(OnnxInputError, match=r"is a directory \(it holds no \.onnx file\)"):
        prepare(tmp_path)
    save(identity_model(), tmp_path / "model.onnx")
    with pytest.raises(OnnxInputError, match=r"is a directory \(it holds model\.onnx\); pass"):
        prepare(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(OnnxInputError, match="is empty"):
        prepare(empty)


def test_empty_bytes() -> None:
    with pytest.raises(OnnxInputError, match="model bytes are empty"):
        prepare(b"")


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


@pytest.mark.parametrize("model", [42, None, {"x": 1}, ["model.onnx"]], ids=repr)
def test_model_of_the_wrong_type(model: object) -> None:
    with pytest.raises(
        OnnxInputError, match=r"model must be a path, bytes, an onnx\.ModelProto"
    ) as info:
        prepare(model)
    assert type(model).__name__ in str(info.value)


# --- errors: feeds and dims ------------------------------------------------------------


def test_string_input_without_feeds() -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(string_input_model())
    message = str(info.value)
    assert "'x'" in message
    assert "tensor(string)" in message
    assert "feeds=" in message


def test_feeds_with_an_unknown_name() -> None:
    with pytest.raises(OnnxInputError, match="'c', which is not an input") as info:
        prepare(add_model(), feeds={"c": np.zeros((1, 6), dtype=np.float32)})
    assert "'a", "b'" in str(info.value)


@pytest.mark.parametrize("feeds", [[np.zeros((1, 6))], np.zeros((1, 6)), b"x", 3], ids=repr)
def test_feeds_not_a_dict(feeds: Any) -> None:
    with pytest.raises(
        OnnxInputError,
        match="feeds must be a dict of input name -> array, or the path of a folder of "
        r"input_<n>\.pb files or of a \.npz file, got ",
    ):
        prepare(identity_model(), feeds=feeds)


def test_dims_naming_no_dimension() -> None:
    with pytest.raises(OnnxInputError, match="'batchsize', which is no symbolic") as info:
        prepare(add_model(("batch", 6)), dims={"batchsize": 4})
    assert "'batch'" in str(info.value)


def test_dims_on_a_fixed_model() -> None:
    with pytest.raises(OnnxInputError, match="every dimension is fixed"):
        prepare(identity_model(TensorProto.FLOAT, [1, 6]), dims={"batch": 4})


@pytest.mark.parametrize("size", [0, -1, 2.5, 4.0, "4", True, None], ids=repr)
def test_dims_with_bad_sizes(size: Any) -> None:
    with pytest.raises(OnnxInputError, match=r"dims\['batch'\] must be a positive whole number"):
        prepare(add_model(("batch", 6)), dims={"batch": size})


def test_dims_accept_numpy_integers() -> None:
    feeds = prepare(add_model(("batch", 6)), dims={"batch": np.int64(3)}).feeds
    assert feeds["a"].shape == (3, 6)


def test_dims_not_a_dict() -> None:
    with pytest.raises(OnnxInputError, match="dims must be a dict"):
        prepare(add_model(("batch", 6)), dims=[4])  # type: ignore[arg-type]


# --- errors: providers and session options ---------------------------------------------


def test_providers_as_a_plain_string() -> None:
    with pytest.raises(OnnxInputError, match=r"write providers=\['CPUExecutionProvider'\]"):
        prepare(identity_model(), providers="CPUExecutionProvider")


def test_providers_empty() -> None:
    with pytest.raises(OnnxInputError, match="providers is empty"):
        prepare(identity_model(), providers=[])


@pytest.mark.parametrize(
    "entry",
    [("CPUExecutionProvider",), ("CPUExecutionProvider", "fast"), 3, ["CPU", {}]],
    ids=repr,
)
def test_malformed_provider_entries(entry: Any) -> None:
    with pytest.raises(OnnxInputError, match="providers entries are names or"):
        prepare(identity_model(), providers=[entry])


def test_unavailable_provider() -> None:
    name = "CUDAExecutionProvider"
    if name in onnxruntime.get_available_providers():  # pragma: no cover - GPU builds
        name = "NoSuchExecutionProvider"
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(), providers=[name, "CPUExecutionProvider"])
    message = str(info.value)
    assert f"{name!r} is not available" in message
    assert "CPUExecutionProvider" in message.split("available:")[1]
    assert onnxruntime.__version__ in message


def test_session_options_of_the_wrong_type() -> None:
    with pytest.raises(
        OnnxInputError, match=r"session_options must be an onnxruntime\.SessionOptions"
    ):
        prepare(identity_model(), session_options={"intra_op_num_threads": 1})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"providers": ["CPUExecutionProvider"]},
        {"session_options": onnxruntime.SessionOptions()},
    ],
    ids=["providers", "session_options"],
)
def test_session_with_providers_or_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(OnnxInputError, match="cannot change an existing InferenceSession"):
        prepare(_session(identity_model()), **kwargs)


# --- run errors ------------------------------------------------------------------------


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


# --- providers asked for but not in use ---------------------------------------------------


def test_a_provider_dropped_by_onnxruntime_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # onnxruntime falls back to CPU with only a warning when, say, CUDA fails to start; the
    # adapter must not then time the wrong provider. Simulate the fallback.
    real = onnxruntime.InferenceSession

    class FallingBack(real):  # type: ignore[misc,valid-type]
        def get_providers(self) -> list[str]:
            return ["CPUExecutionProvider"]

    monkeypatch.setattr(onnxruntime, "InferenceSession", FallingBack)
    model = model_bytes(identity_model(TensorProto.FLOAT, [1, 4]))
    with pytest.raises(ort.ProviderDroppedError) as info:
        prepare(model, providers=["AzureExecutionProvider", "CPUExecutionProvider"])
    message = str(info.value)
    assert "asked for AzureExecutionProvider" in message
    assert "with CPUExecutionProvider only" in message


def test_an_unavailable_provider_is_its_own_error_type() -> None:
    model = model_bytes(identity_model(TensorProto.FLOAT, [1, 4]))
    with pytest.raises(ort.ProviderUnavailableError, match="NoSuchExecutionProvider"):
        prepare(model, providers=["NoSuchExecutionProvider"])


def test_model_sha256_and_session_options_are_recorded() -> None:
    import hashlib

    model = model_bytes(identity_model(TensorProto.FLOAT, [1, 4]))
    subject = prepare(model).subject
    assert subject.model_sha256 == hashlib.sha256(model).hexdigest()
    assert dict(subject.session_options)["execution_mode"] == "ORT_SEQUENTIAL"


# --- errors: models that are not what they seem ------------------------------------------


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
    (out,) = _outputs(prepared)
    assert out.shape == (64,)


def test_external_data_missing(external_model: Path) -> None:
    weights = external_model.parent / "weights.bin"
    weights.unlink()
    with pytest.raises(OnnxInputError) as info:
        prepare(external_model)
    message = str(info.value)
    assert f"could not load model {external_model}: " in message
    assert "its external data file 'weights.bin' (it holds tensor 'data') is missing" in message
    assert f"it was expected at {weights} " in message
    assert "Put the file that came with the model there" in message


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
    assert "its weights are in an external data file (it holds tensor 'data')" in message
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


def test_model_proto_too_large_to_serialize() -> None:
    class Huge:
        class graph:  # mimics ModelProto.graph
            name = "huge"

        def SerializeToString(self) -> bytes:
            raise ValueError("Message onnx.ModelProto exceeds maximum protobuf size of 2GB")

    with pytest.raises(OnnxInputError) as info:
        prepare(Huge())
    message = str(info.value)
    assert "the ModelProto 'huge' cannot be serialized (Message onnx.ModelProto exceeds" in message
    assert "save_as_external_data=True) and pass the path" in message


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


# --- feeds: checked against the model's inputs before the first run ----------------------


def test_feed_of_the_wrong_dtype() -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(), feeds={"x": np.zeros((1, 6), dtype=np.float64)})
    assert str(info.value) == (
        "feeds['x'] is float64, but the model's input 'x' takes float32[1,6] (tensor(float)); "
        "convert it with .astype(np.float32)"
    )


@pytest.mark.parametrize(
    ("elem_type", "value", "fix"),
    [
        (TensorProto.INT64, np.zeros(2, dtype=np.int32), ".astype(np.int64)"),
        (TensorProto.BOOL, np.zeros(2, dtype=np.int64), ".astype(np.bool_)"),
        (TensorProto.FLOAT16, np.zeros(2, dtype=np.float32), ".astype(np.float16)"),
        (TensorProto.FLOAT, np.array(["a", "b"]), ".astype(np.float32)"),
        (TensorProto.FLOAT, np.float64(1.0), ".astype(np.float32)"),
    ],
    ids=["int32-for-int64", "int-for-bool", "float32-for-float16", "str-for-float", "np-scalar"],
)
def test_feeds_of_other_dtypes(elem_type: int, value: Any, fix: str) -> None:
    with pytest.raises(OnnxInputError, match="but the model's input 'x' takes") as info:
        prepare(identity_model(elem_type, [2]), feeds={"x": value})
    assert str(info.value).endswith(f"; convert it with {fix}")


def test_ort_value_feeds() -> None:
    good = onnxruntime.OrtValue.ortvalue_from_numpy(np.ones((1, 6), dtype=np.float32))
    prepared = prepare(identity_model(), feeds={"x": good})
    assert prepared.feeds["x"] is good
    assert prepared.subject.inputs == (("x", "float32[1,6]"),)
    (out,) = _outputs(prepared)
    assert out.sum() == 6
    wrong = onnxruntime.OrtValue.ortvalue_from_numpy(np.ones((1, 6)))
    with pytest.raises(OnnxInputError, match=r"feeds\['x'\] is an OrtValue of tensor\(double\)"):
        prepare(identity_model(), feeds={"x": wrong})
    short = onnxruntime.OrtValue.ortvalue_from_numpy(np.ones((1, 5), dtype=np.float32))
    with pytest.raises(OnnxInputError, match="dimension 1 is fixed at 6, not 5"):
        prepare(identity_model(), feeds={"x": short})


@pytest.mark.parametrize(
    ("shape", "declared", "message"),
    [
        (
            (1, 5),
            [1, 6],
            "feeds['x'] has shape (1, 5), but the model's input 'x' takes float32[1,6]: "
            "dimension 1 is fixed at 6, not 5; pass an array of shape (1, 6)",
        ),
        (
            (6,),
            [1, 6],
            "feeds['x'] has shape (6,) (1 dimension), but the model's input 'x' takes "
            "float32[1,6] (2 dimensions); pass an array of that rank, e.g. "
            "np.reshape(value, (1, 6))",
        ),
        (
            (6,),
            ["batch", 6],
            "feeds['x'] has shape (6,) (1 dimension), but the model's input 'x' takes "
            "float32[batch,6] (2 dimensions); pass an array of that rank, e.g. "
            "value[np.newaxis] to add the missing leading (batch) dimension",
        ),
        (
            (1, 4, 6),
            ["batch", 6],
            "feeds['x'] has shape (1, 4, 6) (3 dimensions), but the model's input 'x' takes "
            "float32[batch,6] (2 dimensions); pass an array of that rank, e.g. value[0] to "
            "drop the extra leading dimension",
        ),
        (
            (3, 4),
            ["batch", 6],
            "feeds['x'] has shape (3, 4), but the model's input 'x' takes float32[batch,6]: "
            "dimension 1 is fixed at 6, not 4; pass an array of shape (3, 6)",
        ),
        (
            (2, 2, 2),
            [None, 3],
            "feeds['x'] has shape (2, 2, 2) (3 dimensions), but the model's input 'x' takes "
            "float32[?,3] (2 dimensions); pass an array of that rank",
        ),
    ],
    ids=["fixed", "rank-fixed", "rank-batch", "extra-axis", "symbolic-and-fixed", "unknown"],
)
def test_feeds_of_the_wrong_shape(
    shape: tuple[int, ...], declared: list[str | int | None], message: str
) -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(
            identity_model(TensorProto.FLOAT, declared),
            feeds={"x": np.zeros(shape, dtype=np.float32)},
        )
    assert str(info.value) == message


def test_symbolic_and_unknown_dimensions_take_any_size() -> None:
    value = np.zeros((5, 7, 3), dtype=np.float32)
    prepared = prepare(identity_model(TensorProto.FLOAT, ["batch", None, 3]), feeds={"x": value})
    assert prepared.feeds["x"] is value


def test_scalar_inputs_are_left_to_onnxruntime() -> None:
    # onnxruntime reports a scalar and an undeclared shape alike ([]): not checked here.
    value = np.zeros(3, dtype=np.float32)
    prepared = prepare(identity_model(TensorProto.FLOAT, []), feeds={"x": value})
    assert prepared.feeds["x"] is value


def test_run_error_with_every_input_given() -> None:
    prepared = prepare(scalar_gate_model(6), feeds={"shape": [5]})
    with pytest.raises(ort.RUN_ERRORS) as info:
        prepared.call()
    message = ort.explain_run_error(info.value, prepared)
    assert message.endswith(
        "Every input came from feeds: check their values against what the model expects"
    )


@pytest.mark.parametrize(
    ("elem_type", "shape", "value", "dtype"),
    [
        (TensorProto.FLOAT, [1, 3], [[0.5, 1.5, 2.5]], np.float32),
        (TensorProto.FLOAT, [1, 3], [[1, 2, 3]], np.float32),
        (TensorProto.DOUBLE, [2], (1.0, 2.0), np.float64),
        (TensorProto.INT32, [3], [1, 2, 3], np.int32),
        (TensorProto.UINT8, [2], [0, 255], np.uint8),
        (TensorProto.INT64, [], 16000, np.int64),
        (TensorProto.FLOAT, [], 0.5, np.float32),
        (TensorProto.BOOL, [2], [True, False], np.bool_),
        (TensorProto.FLOAT, [0], [], np.float32),
    ],
    ids=[
        "floats",
        "ints-for-float",
        "tuple",
        "int32",
        "uint8",
        "int-scalar",
        "float-scalar",
        "bools",
        "empty",
    ],
)
def test_non_array_feeds_are_converted(
    elem_type: int, shape: list[int], value: object, dtype: type[Any]
) -> None:
    prepared = prepare(identity_model(elem_type, shape), feeds={"x": value})
    converted = prepared.feeds["x"]
    assert isinstance(converted, np.ndarray)
    assert converted.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(converted, np.asarray(value, dtype=dtype))
    (out,) = _outputs(prepared)
    np.testing.assert_array_equal(out, converted)


def test_array_likes_are_taken_with_their_own_dtype() -> None:
    class Tensor:
        def __init__(self, dtype: Any) -> None:
            self.dtype = dtype

        def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
            return np.ones((1, 6), dtype=self.dtype)

    prepared = prepare(identity_model(), feeds={"x": Tensor(np.float32)})
    assert prepared.feeds["x"].dtype == np.float32
    with pytest.raises(OnnxInputError, match=r"feeds\['x'\] is float64, .* \.astype\(np\.float32"):
        prepare(identity_model(), feeds={"x": Tensor(np.float64)})


@pytest.mark.parametrize(
    ("elem_type", "value", "message"),
    [
        (
            TensorProto.INT64,
            [1.5, 2.0],
            "feeds['x'] is a list of float64 values, which do not convert to int64 without "
            "loss, but the model's input 'x' takes int64[2]; pass "
            "np.asarray(value, dtype=np.int64) if that is what you mean, or values of that type",
        ),
        (
            TensorProto.UINT8,
            [1, 300],
            "feeds['x'] is a list of int64 values, which do not convert to uint8 without loss",
        ),
        (
            TensorProto.BOOL,
            [0, 1],
            "feeds['x'] is a list of int64 values, which do not convert to bool without loss",
        ),
        (
            TensorProto.FLOAT,
            ["a", "b"],
            "feeds['x'] is a list of <U1 values, which do not convert to float32 without loss",
        ),
        (
            TensorProto.FLOAT,
            [[1.0], [1.0, 2.0]],
            "feeds['x'] is a list that numpy cannot turn into an array (",
        ),
        (
            TensorProto.FLOAT,
            None,
            "feeds['x'] is None, not an array, but the model's input 'x' takes float32[2]; "
            "pass a numpy array",
        ),
        (TensorProto.FLOAT, {"a": 1}, "feeds['x'] is a dict, not an array"),
    ],
    ids=["floats-for-int", "overflow", "ints-for-bool", "strings", "ragged", "none", "dict"],
)
def test_non_array_feeds_that_do_not_convert(elem_type: int, value: object, message: str) -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(elem_type, [2]), feeds={"x": value})
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "value",
    [["hello"], np.array(["hello"]), np.array(["hello"], dtype=object), "hello"],
    ids=["list", "str-array", "object-array", "str-scalar"],
)
def test_string_feeds(value: object) -> None:
    model = string_input_model() if not isinstance(value, str) else None
    model = model or identity_model(TensorProto.STRING, [], name="strings")
    prepared = prepare(model, feeds={"x": value})
    (out,) = _outputs(prepared)
    assert out.ravel().tolist() == ["hello"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            np.array([b"hello"]),
            "feeds['x'] holds bytes, but the model's input 'x' takes string[1] (str; "
            "onnxruntime would misread bytes); decode them to str first: "
            "np.char.decode(value, 'utf-8'), or pass str values, e.g. "
            "np.array(['text'], dtype=object)",
        ),
        ([b"hello"], "feeds['x'] holds bytes"),
        (np.array([b"hello"], dtype=object), "feeds['x'] holds bytes"),
        (
            np.array([1], dtype=object),
            "feeds['x'] holds 1 (int), not only str values, but the model's input 'x' takes "
            "string[1]; pass str values",
        ),
        (
            np.array([1.0]),
            "feeds['x'] is float64, but the model's input 'x' takes string[1]; pass str values",
        ),
    ],
    ids=["bytes-array", "bytes-list", "object-bytes", "object-int", "floats"],
)
def test_string_feeds_that_do_not_fit(value: object, message: str) -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(string_input_model(), feeds={"x": value})
    assert str(info.value).startswith(message)


def test_generated_inputs_follow_the_sizes_of_given_ones() -> None:
    ids = np.zeros((2, 9), dtype=np.int64)
    feeds = prepare(multi_input_model(), feeds={"ids": ids}).feeds
    # batch and seq from ids; height and width are not in any given feed: 1.
    assert feeds["image"].shape == (2, 3, 1, 1)
    assert feeds["mask"].shape == (2, 1)
    # dims, when given, win for generated inputs.
    feeds = prepare(multi_input_model(), feeds={"ids": ids}, dims={"batch": 4}).feeds
    assert feeds["image"].shape == (4, 3, 1, 1)
    assert feeds["ids"] is ids


# --- a model that rejects generated values -----------------------------------------------


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
        "sizes for the symbolic dimensions that defaulted to it: dims={'samples': <size>}"
    ) in message


@pytest.mark.parametrize("rate", [8000, 16000])
def test_the_rejected_input_given_in_feeds_runs(rate: int) -> None:
    prepared = prepare(sample_rate_model(), feeds={"sample_rate": rate}, dims={"samples": 160})
    assert prepared.generated == ("audio",)
    assert prepared.defaulted_dims == ()
    (out,) = _outputs(prepared)
    assert out.shape == (1, 160)


def test_suspects_named_by_the_error_come_first() -> None:
    prepared = prepare(multi_input_model())
    error = RuntimeError("Got invalid dimensions for input: mask for the following indices")
    message = ort.explain_run_error(error, prepared)
    assert "The generated values for input 'mask' (bool[1,1] = [[" in message
    assert "(also generated: 'image", "ids')" in message
    assert "dims={'batch': <size>, 'height': <size>, 'seq': <size>, 'width': <size>}" in message


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


def test_a_scalar_that_does_not_convert() -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(sample_rate_model(), feeds={"sample_rate": 16000.5})
    assert str(info.value).startswith(
        "feeds['sample_rate'] is the float 16000.5, which does not convert to int64 without "
        "loss, but the model's input 'sample_rate' takes int64[]; pass "
        "np.asarray(value, dtype=np.int64)"
    )


# --- feeds from files: the ONNX test-data layout and .npz ---------------------------------


def test_feeds_from_a_test_data_folder(tmp_path: Path) -> None:
    a = np.full((2, 6), 1.0, dtype=np.float32)
    b = np.full((2, 6), 2.0, dtype=np.float32)
    folder = save_test_data(tmp_path / "named", [("b", b), ("a", a)])
    prepared = prepare(add_model(("batch", 6)), feeds=folder)
    # Named tensors map by name, whatever their file number.
    np.testing.assert_array_equal(prepared.feeds["a"], a)
    np.testing.assert_array_equal(prepared.feeds["b"], b)
    assert prepared.generated == ()
    (out,) = _outputs(prepared)
    np.testing.assert_array_equal(out, a + b)
    # Unnamed tensors map by position; inputs without a file are generated, at its size.
    folder = save_test_data(tmp_path / "unnamed", [(None, a)])
    prepared = prepare(add_model(("batch", 6)), feeds=str(folder))
    np.testing.assert_array_equal(prepared.feeds["a"], a)
    assert prepared.generated == ("b",)
    assert prepared.feeds["b"].shape == (2, 6)


def test_string_feeds_from_a_test_data_folder(tmp_path: Path) -> None:
    folder = save_test_data(tmp_path, [("x", np.array(["héllo"], dtype=object))])
    (out,) = _outputs(prepare(string_input_model(), feeds=folder))
    assert out.tolist() == ["héllo"]


def _onnx_test_data() -> Path:
    import onnx

    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "simple"


@pytest.mark.parametrize(
    "case",
    [
        "test_single_relu_model",
        "test_expand_shape_model1",
        "test_strnorm_model_monday_casesensintive_nochangecase",
    ],
)
def test_feeds_from_the_onnx_packages_own_test_data(case: str) -> None:
    import onnx
    from onnx import numpy_helper

    folder = _onnx_test_data() / case
    if not folder.is_dir():  # pragma: no cover - a build of onnx without its test data
        pytest.skip(f"{folder} is not installed")
    data = folder / "test_data_set_0"
    prepared = prepare(folder / "model.onnx", feeds=data)
    assert prepared.generated == ()
    outputs = _outputs(prepared)
    expected = numpy_helper.to_array(onnx.load_tensor(str(data / "output_0.pb")))
    if expected.dtype == object:
        assert outputs[0].tolist() == expected.tolist()
    else:
        np.testing.assert_allclose(outputs[0], expected, rtol=1e-6)


def test_a_model_folder_points_to_its_data_sets(tmp_path: Path) -> None:
    save_test_data(tmp_path / "test_data_set_0", [("x", np.zeros((1, 6), np.float32))])
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(), feeds=tmp_path)
    message = str(info.value)
    assert "holds no input_0.pb file; it holds test_data_set_0: pass one of them, e.g. " in (
        message
    )


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "feeds path '{path}' does not exist (relative paths are taken from the "),
        ("empty", "feeds folder '{path}' holds no input_0.pb file; pass a folder of "),
        ("gap", "feeds folder '{path}' holds input_0.pb, input_2.pb but no input_1.pb; the "),
        ("too-many", "feeds folder '{path}' holds 3 input files, but the model has 2 inputs "),
        ("unknown-name", "feeds file '{path}/input_0.pb' holds tensor 'c', which is not an input"),
        ("garbage", "feeds file '{path}/input_0.pb' is not a readable TensorProto ("),
        ("empty-file", "feeds file '{path}/input_0.pb' is not a readable TensorProto (it holds "),
        ("twice", "feeds folder '{path}' gives input 'a' twice, in feeds file '{path}/input_0.pb'"),
        ("wrong-dtype", "feeds file '{path}/input_0.pb' (input 'a') is float64, but the model's"),
        ("other-file", "feeds path '{path}' is neither a folder of input_<n>.pb files nor a .npz"),
    ],
    ids=[
        "missing",
        "empty",
        "gap",
        "too-many",
        "unknown-name",
        "garbage",
        "empty-file",
        "twice",
        "wrong-dtype",
        "other-file",
    ],
)
def test_bad_feed_folders(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "data"
    f32 = np.zeros((1, 6), dtype=np.float32)
    if setup == "empty":
        path.mkdir()
    elif setup == "gap":
        save_test_data(path, [("a", f32)])
        save_test_data(path, [("b", f32)], start=2)
    elif setup == "too-many":
        save_test_data(path, [(None, f32)] * 3)
    elif setup == "unknown-name":
        save_test_data(path, [("c", f32)])
    elif setup in ("garbage", "empty-file"):
        path.mkdir()
        (path / "input_0.pb").write_bytes(b"\xff\xff\xff" if setup == "garbage" else b"")
    elif setup == "twice":
        save_test_data(path, [("a", f32), ("a", f32)])
    elif setup == "wrong-dtype":
        save_test_data(path, [("a", np.zeros((1, 6)))])
    elif setup == "other-file":
        path = tmp_path / "data.npy"
        np.save(path, f32)
    with pytest.raises(OnnxInputError) as info:
        prepare(add_model(("batch", 6)), feeds=path)
    assert str(info.value).startswith(message.format(path=path))
    if setup == "wrong-dtype":
        assert str(info.value).endswith("convert it with .astype(np.float32) and save it again")


def test_missing_feeds_folder_found_beside_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    save_test_data(models / "test_data_set_0", [("x", np.zeros((1, 6), np.float32))])
    save(identity_model(), models / "model.onnx")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OnnxInputError) as info:
        prepare("models/model.onnx", feeds="test_data_set_0")
    assert "there is 'models/test_data_set_0' beside the model: pass that path" in str(info.value)
    prepare("models/model.onnx", feeds="models/test_data_set_0")


def test_pb_feeds_without_onnx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    folder = save_test_data(tmp_path, [("x", np.zeros((1, 6), np.float32))])
    data = model_bytes(identity_model())
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(OnnxInputError) as info:
        prepare(data, feeds=folder)
    message = str(info.value)
    assert "reading feeds from .pb files (in " in message
    assert "needs the onnx package, which is not importable here" in message
    assert "install it with `pip install onnx`, or pass the inputs as a dict" in message


def test_feeds_from_npz(tmp_path: Path) -> None:
    a = np.full((2, 6), 1.0, dtype=np.float32)
    b = np.full((2, 6), 2.0, dtype=np.float32)
    named = tmp_path / "named.npz"
    np.savez(named, b=b, a=a)
    prepared = prepare(add_model(("batch", 6)), feeds=named)
    np.testing.assert_array_equal(prepared.feeds["a"], a)
    np.testing.assert_array_equal(prepared.feeds["b"], b)
    # Without names (arr_0, arr_1, ...), by position.
    positional = tmp_path / "positional.npz"
    np.savez(positional, a)
    prepared = prepare(add_model(("batch", 6)), feeds=str(positional))
    np.testing.assert_array_equal(prepared.feeds["a"], a)
    assert prepared.generated == ("b",)
    # Strings, as numpy saves them (str arrays, no pickle).
    strings = tmp_path / "strings.npz"
    np.savez_compressed(strings, x=np.array(["hello"]))
    (out,) = _outputs(prepare(string_input_model(), feeds=strings))
    assert out.tolist() == ["hello"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unknown", "feeds file '{path}' holds 'c', which is not an input of the model; its "),
        ("positional", "feeds file '{path}' holds 'arr_2', the input at position 2, but the "),
        ("empty", "feeds file '{path}' holds no arrays; write it with np.savez(path, "),
        ("objects", "feeds file '{path}' holds object arrays, which numpy reads only with "),
        ("garbage", "feeds file '{path}' is not a readable .npz file ("),
        ("wrong-shape", "feeds file '{path}': 'a' has shape (1, 5), but the model's input 'a' "),
    ],
    ids=["unknown", "positional", "empty", "objects", "garbage", "wrong-shape"],
)
def test_bad_npz_feeds(tmp_path: Path, setup: str, message: str) -> None:
    path = tmp_path / "feeds.npz"
    f32 = np.zeros((1, 6), dtype=np.float32)
    if setup == "unknown":
        np.savez(path, a=f32, c=f32)
    elif setup == "positional":
        np.savez(path, f32, f32, f32)
    elif setup == "empty":
        np.savez(path)
    elif setup == "objects":
        np.savez(path, a=np.array([{"a": 1}], dtype=object))
    elif setup == "garbage":
        path.write_bytes(b"not a zip file")
    elif setup == "wrong-shape":
        np.savez(path, a=np.zeros((1, 5), dtype=np.float32))
    with pytest.raises(OnnxInputError) as info:
        prepare(add_model(("batch", 6)), feeds=path)
    assert str(info.value).startswith(message.format(path=path))
