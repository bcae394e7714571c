"""Unit tests of ``pytest_latency_sla.ort.feeds``: feeds generated, and given ones checked."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto
from onnx_models import (
    IR_VERSION,
    add_model,
    identity_model,
    multi_input_model,
    not_model,
    run_once,
    sample_rate_model,
    scalar_gate_model,
    string_input_model,
)

from pytest_latency_sla.ort import OnnxInputError, prepare

# --- generated feeds -----------------------------------------------------------------


#: Every element type a value is generated for, with its numpy dtype.
GENERATED_DTYPES = [
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
]
DTYPE_IDS = [np.dtype(d).name for _, d in GENERATED_DTYPES]


@pytest.mark.parametrize(("elem_type", "dtype"), GENERATED_DTYPES, ids=DTYPE_IDS)
def test_generated_feed_dtype(elem_type: int, dtype: type[Any]) -> None:
    prepared = prepare(identity_model(elem_type, [2, 3]))
    value = prepared.feeds["x"]
    assert value.dtype == np.dtype(dtype)
    assert value.shape == (2, 3)
    (out,) = run_once(prepared)
    np.testing.assert_array_equal(out, value)


@pytest.mark.parametrize("elem_type", [t for t, _ in GENERATED_DTYPES], ids=DTYPE_IDS)
def test_a_generated_scalar_is_a_0d_array(elem_type: int) -> None:
    # A trial: a bool scalar was a numpy.bool, not an array, which onnxruntime refuses
    # ("Unable to handle object of type <class 'numpy.bool'>").
    prepared = prepare(identity_model(elem_type, []))
    value = prepared.feeds["x"]
    assert isinstance(value, np.ndarray), type(value)
    assert value.shape == ()
    (out,) = run_once(prepared)
    np.testing.assert_array_equal(out, value)


def test_a_generated_bool_scalar_runs() -> None:
    prepared = prepare(not_model())
    value = prepared.feeds["b"]
    assert isinstance(value, np.ndarray), type(value)
    assert (value.dtype, value.shape) == (np.dtype(np.bool_), ())
    (out,) = run_once(prepared)
    assert out.shape == ()
    assert bool(out) is not bool(value)


def test_generated_values_are_in_safe_ranges() -> None:
    floats = prepare(identity_model(TensorProto.FLOAT, [64])).feeds["x"]
    assert ((floats >= 0) & (floats < 1)).all()
    ints = prepare(identity_model(TensorProto.INT64, [64])).feeds["x"]
    assert set(np.unique(ints).tolist()) <= {0, 1}


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
    (out,) = run_once(prepared)
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
    (out,) = run_once(prepared)
    assert out.tolist() == ["hello"]


def test_scalar_gate_runs_with_the_right_value() -> None:
    prepared = prepare(scalar_gate_model(6), feeds={"shape": np.array([6], dtype=np.int64)})
    (out,) = run_once(prepared)
    assert out.shape == (6,)


# --- errors: feeds -------------------------------------------------------------------


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


# --- feeds: checked against the model's inputs before the first run ------------------


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
    (out,) = run_once(prepared)
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
        # Past int64, numpy reads these as float64; they fit a uint64 exactly.
        (TensorProto.UINT64, [2], [2**63, 2], np.uint64),
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
        "uint64-past-int64",
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
    (out,) = run_once(prepared)
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
        (
            TensorProto.FLOAT16,
            [1e10, 0.0],
            "feeds['x'] holds values too large for float16 (at most 65504), which would "
            "become inf, but the model's input 'x' takes float16[2]; pass values that fit",
        ),
        (TensorProto.FLOAT16, [70_000, 1], "feeds['x'] holds values too large for float16"),
        (
            TensorProto.UINT64,
            [2**64, 2],
            "feeds['x'] holds whole numbers out of uint64's range (0 to "
            "18446744073709551615), but the model's input 'x' takes uint64[2]; pass values "
            "that fit",
        ),
    ],
    ids=[
        "floats-for-int",
        "overflow",
        "ints-for-bool",
        "strings",
        "ragged",
        "none",
        "dict",
        "too-large-for-float16",
        "ints-too-large-for-float16",
        "ints-out-of-uint64",
    ],
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
    (out,) = run_once(prepared)
    assert out.ravel().tolist() == ["hello"]


def _two_unnamed_batches() -> Any:
    """skl2onnx's layout: inputs ``a`` and ``b`` of shape [None, 1], concatenated."""
    from onnx import helper

    node = helper.make_node("Concat", ["a", "b"], ["y"], axis=1)
    graph = helper.make_graph(
        [node],
        "two",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in "ab"],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = IR_VERSION  # (onnxruntime 1.23, on Python 3.10, reads up to 11)
    return model


def test_unnamed_batch_axes_follow_the_one_given_a_size() -> None:
    # A trial: sweep={"a[0]": [1, 8]} ran a at 8 rows, b at 1, and the model failed.
    prepared = prepare(_two_unnamed_batches(), dims={"a[0]": 8})
    assert {k: v.shape for k, v in prepared.feeds.items()} == {"a": (8, 1), "b": (8, 1)}
    (out,) = run_once(prepared)
    assert out.shape == (8, 2)
    assert "b[0]" not in prepared.subject.defaulted_dims
    # Given apart, each keeps its own; fed, an input keeps its rows.
    apart = prepare(_two_unnamed_batches(), dims={"a[0]": 8, "b[0]": 3}).feeds
    assert (apart["a"].shape, apart["b"].shape) == ((8, 1), (3, 1))
    fed = prepare(
        _two_unnamed_batches(), feeds={"b": np.ones((2, 1), np.float32)}, dims={"a[0]": 8}
    ).feeds
    assert (fed["a"].shape, fed["b"].shape) == ((8, 1), (2, 1))


def test_every_input_that_cannot_be_generated_is_named_at_once() -> None:
    # A trial: a pipeline's string inputs were named one per run ('city', then 'color').
    from onnx import helper

    strings = [helper.make_tensor_value_info(n, TensorProto.STRING, [1]) for n in "abc"]
    floats = helper.make_tensor_value_info("f", TensorProto.FLOAT, [1])
    graph = helper.make_graph(
        [helper.make_node("Identity", [n], [f"{n}_out"]) for n in "abcf"],
        "strings",
        [strings[0], floats, *strings[1:]],
        [
            *(helper.make_tensor_value_info(f"{n}_out", TensorProto.STRING, [1]) for n in "abc"),
            helper.make_tensor_value_info("f_out", TensorProto.FLOAT, [1]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = IR_VERSION
    with pytest.raises(OnnxInputError) as info:
        prepare(model, feeds={"b": ["x"]})
    assert str(info.value) == (
        "cannot generate a value for inputs 'a' of type tensor(string) and 'c' of type "
        "tensor(string); pass them in feeds, e.g. feeds={'a': <value>, 'c': <value>}"
    )


def test_an_empty_list_for_a_string_input_is_an_empty_batch() -> None:
    # numpy calls an empty list float64: it holds no value of the wrong type.
    prepared = prepare(identity_model(TensorProto.STRING, ["batch"]), feeds={"x": []})
    (out,) = run_once(prepared)
    assert out.shape == (0,)


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
        (  # (a review: past 4,300 digits, repr raised ValueError)
            np.array([10**5000], dtype=object),
            "feeds['x'] holds 10000000000000000000... (5,001 digits) (int), not only str",
        ),
    ],
    ids=["bytes-array", "bytes-list", "object-bytes", "object-int", "floats", "huge-int"],
)
def test_string_feeds_that_do_not_fit(value: object, message: str) -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(string_input_model(), feeds={"x": value})
    assert str(info.value).startswith(message)


def test_a_scalar_that_does_not_convert() -> None:
    with pytest.raises(OnnxInputError) as info:
        prepare(sample_rate_model(), feeds={"sample_rate": 16000.5})
    assert str(info.value).startswith(
        "feeds['sample_rate'] is the float 16000.5, which does not convert to int64 without "
        "loss, but the model's input 'sample_rate' takes int64[]; pass "
        "np.asarray(value, dtype=np.int64)"
    )
