"""Unit tests of ``pytest_latency_sla.ort.signature``: symbolic dimensions and dims=."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto
from onnx_models import add_model, identity_model, multi_input_model

from pytest_latency_sla.ort import OnnxInputError, prepare

# --- symbolic dimensions and dims= ---------------------------------------------------


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


def test_axes_an_exporter_names_question_mark_are_sized_each_on_their_own() -> None:
    # A trial: PaddleOCR's classifier declares x: [?, 3, '?', '?'] (dim_param "?"), and
    # dims={'x[2]': 48, 'x[3]': 192} was told to write dims={'?': ...}, one size for both.
    model = identity_model(TensorProto.FLOAT, [None, 3, "?", "?"])
    feeds = prepare(model, dims={"x[0]": 2, "x[2]": 48, "x[3]": 192}).feeds
    assert feeds["x"].shape == (2, 3, 48, 192)
    with pytest.raises(OnnxInputError, match=r"dims names '[?]', which is no symbolic dimen"):
        prepare(model, dims={"?": 48})


def test_scalar_input() -> None:
    prepared = prepare(identity_model(TensorProto.FLOAT, []))
    assert prepared.feeds["x"].shape == ()
    assert prepared.subject.inputs == (("x", "float32[]"),)
    prepared.call()


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


# --- errors: dims --------------------------------------------------------------------


def test_dims_for_a_dimension_only_fed_inputs_have_is_an_error() -> None:
    # A new user's trial: dims={"input[0]": 64} beside feeds={"input": X[:1]} timed the
    # model at batch 1, silently. Named or unnamed, a size that would be ignored is bad
    # input, and the message names the feed.
    ids = np.zeros((2, 9), dtype=np.int64)
    with pytest.raises(OnnxInputError) as info:
        prepare(multi_input_model(), feeds={"ids": ids}, dims={"seq": 64})
    assert str(info.value) == (
        "dims names 'seq', which only inputs given in feeds= have (axis 1 of 'ids', 9 in "
        "the feed): dims= sizes the inputs made up for you, so it would be ignored; give "
        "'ids' of the size you want in feeds=, or leave it out of feeds= to have it made"
    )
    page = (Path(__file__).parent.parent / "docs" / "bad-input.md").read_text(encoding="utf-8")
    assert f"`{info.value}`" in page
    x = np.zeros((1, 4), dtype=np.float32)
    with pytest.raises(OnnxInputError, match=r"dims names 'x\[0\]', which only inputs given"):
        prepare(identity_model(TensorProto.FLOAT, [None, 4]), feeds={"x": x}, dims={"x[0]": 64})
    # A dimension a generated input has too is sized as before.
    both = np.zeros((2, 3), dtype=np.float32)
    feeds = prepare(add_model(("batch", 3)), feeds={"a": both}, dims={"batch": 2}).feeds
    assert feeds["b"].shape == (2, 3)


def test_dims_naming_no_dimension() -> None:
    with pytest.raises(OnnxInputError, match="'batchsize', which is no symbolic") as info:
        prepare(add_model(("batch", 6)), dims={"batchsize": 4})
    assert "'batch'" in str(info.value)
    # A misspelling is told what it may have meant (a trial).
    with pytest.raises(OnnxInputError, match=r"\(its symbolic dimensions: 'batch'\); did you "):
        prepare(add_model(("batch", 6)), dims={"btach": 4})
    with pytest.raises(OnnxInputError) as far:
        prepare(add_model(("batch", 6)), dims={"N": 4})
    assert "did you mean" not in str(far.value)


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
