"""Unit tests of ``pytest_latency_sla.ort.feed_files``: feeds read from files (.pb, .npz)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx_models import (
    add_model,
    identity_model,
    model_bytes,
    run_once,
    save,
    save_test_data,
    string_input_model,
)
from support import make_special

from pytest_latency_sla.ort import OnnxInputError, prepare

# --- feeds from files: the ONNX test-data layout and .npz ----------------------------


def test_feeds_from_a_test_data_folder(tmp_path: Path) -> None:
    a = np.full((2, 6), 1.0, dtype=np.float32)
    b = np.full((2, 6), 2.0, dtype=np.float32)
    folder = save_test_data(tmp_path / "named", [("b", b), ("a", a)])
    prepared = prepare(add_model(("batch", 6)), feeds=folder)
    # Named tensors map by name, whatever their file number.
    np.testing.assert_array_equal(prepared.feeds["a"], a)
    np.testing.assert_array_equal(prepared.feeds["b"], b)
    assert prepared.generated == ()
    (out,) = run_once(prepared)
    np.testing.assert_array_equal(out, a + b)
    # Unnamed tensors map by position; inputs without a file are generated, at its size.
    folder = save_test_data(tmp_path / "unnamed", [(None, a)])
    prepared = prepare(add_model(("batch", 6)), feeds=str(folder))
    np.testing.assert_array_equal(prepared.feeds["a"], a)
    assert prepared.generated == ("b",)
    assert prepared.feeds["b"].shape == (2, 6)


def test_string_feeds_from_a_test_data_folder(tmp_path: Path) -> None:
    folder = save_test_data(tmp_path, [("x", np.array(["héllo"], dtype=object))])
    (out,) = run_once(prepare(string_input_model(), feeds=folder))
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
    try:
        outputs = run_once(prepared)
    except Exception as exc:  # (onnxruntime 1.23, the newest on Python 3.10)
        if "Failed to construct locale" in str(exc):
            pytest.skip(
                f"this onnxruntime's StringNormalizer needs a locale this machine lacks: {exc}"
            )
        raise
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
    (out,) = run_once(prepare(string_input_model(), feeds=strings))
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


# --- a feeds path that is a pipe or a device: refused before anything opens it ----------


@pytest.mark.timeout(20)
@pytest.mark.usefixtures("nothing_special_opened")
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize("name", ["in.npz", "inputs"])
def test_a_feeds_path_that_is_a_pipe_or_a_device(tmp_path: Path, kind: str, name: str) -> None:
    path = tmp_path / name
    make_special(path, kind)
    with pytest.raises(OnnxInputError) as info:
        prepare(add_model(("batch", 6)), feeds=str(path))
    assert str(info.value) == (
        f"feeds path {str(path)!r} is not a regular file (a device, a pipe or a socket); "
        "pass a folder of input_0.pb, input_1.pb, ... TensorProto files (the ONNX test-data "
        "layout) or a .npz file written with np.savez(path, input_name=array, ...)"
    )


@pytest.mark.timeout(20)
@pytest.mark.usefixtures("nothing_special_opened")
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize("index", [0, 1])
def test_a_feeds_file_in_a_folder_that_is_a_pipe_or_a_device(
    tmp_path: Path, kind: str, index: int
) -> None:
    # The first file, or the second after a good one.
    good = [("a", np.zeros((1, 6), np.float32))] * index
    folder = save_test_data(tmp_path / "data", good)
    make_special(folder / f"input_{index}.pb", kind)
    with pytest.raises(OnnxInputError) as info:
        prepare(add_model(("batch", 6)), feeds=folder)
    assert str(info.value) == (
        f"feeds file '{folder}/input_{index}.pb' is not a regular file (a device, a pipe or "
        "a socket); replace it with an input written with "
        "onnx.save_tensor(onnx.numpy_helper.from_array(array, input_name), path)"
    )
