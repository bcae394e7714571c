"""Unit tests of the ONNX Runtime adapter (``pytest_latency_sla.ort``), without pytester."""

from __future__ import annotations

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
    new_opset_model,
    save,
    scalar_gate_model,
    string_input_model,
    unknown_op_model,
)

from pytest_latency_sla import ort
from pytest_latency_sla.ort import OnnxInputError, PreparedModel, prepare

if TYPE_CHECKING:
    from pathlib import Path

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
    # The generated input follows the given one's batch only through dims: default 1,
    # which broadcasts against 3.
    assert prepared.feeds["a"].shape == (1, 6)
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
    with pytest.raises(OnnxInputError, match="is a directory"):
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
    assert "not truncated" in message
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
    assert "onnx.checker" in str(info.value)


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (unknown_op_model, "NoSuchOperator"),
        (custom_domain_model, "Frobnicate"),
        (new_opset_model, "Opset 99"),
    ],
    ids=["unknown-op", "custom-domain", "new-opset"],
)
def test_unsupported_model(build: Any, fragment: str) -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(build())
    message = str(info.value)
    assert fragment in message
    assert f"onnxruntime {onnxruntime.__version__} could not load model" in message
    assert "opset and operators" in message
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
    assert "'a', 'b'" in str(info.value)


@pytest.mark.parametrize("feeds", [[np.zeros((1, 6))], np.zeros((1, 6)), "x"], ids=repr)
def test_feeds_not_a_dict(feeds: Any) -> None:
    with pytest.raises(OnnxInputError, match="feeds must be a dict"):
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
    assert "feeds={name: array}" in message
    assert "dims={name: size}" in message
    assert "onnxruntime::" not in message
    assert "\n" not in message


def test_explain_run_error_without_a_message() -> None:
    prepared = prepare(identity_model())
    message = ort.explain_run_error(RuntimeError(), prepared)
    assert "raised when run with inputs (x: float32[1,6]): RuntimeError." in message


def test_given_feed_of_the_wrong_dtype_fails_at_run_time() -> None:
    prepared = prepare(identity_model(), feeds={"x": np.zeros((1, 6), dtype=np.float64)})
    assert prepared.subject.inputs == (("x", "float64[1,6]"),)
    with pytest.raises(ort.RUN_ERRORS) as info:
        prepared.call()
    assert "tensor(double)" in ort.explain_run_error(info.value, prepared)


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
    assert ort._error_detail(RuntimeError(message)) == expected


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
