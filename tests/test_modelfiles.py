"""A model's identity with its external data files (``modelfiles.py``)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest
from onnx_models import looped_matmul_model, matmul_chain_model, save, save_with_external_data

from pytest_latency_sla.modelfiles import external_locations, identity_of_file, inside

if TYPE_CHECKING:
    from pathlib import Path


def test_the_external_data_files_a_model_names_are_found_in_any_blocks(tmp_path: Path) -> None:
    model = save_with_external_data(looped_matmul_model(2), tmp_path / "m.onnx", "m.onnx.data")
    data = model.read_bytes()
    assert external_locations([data]) == ["m.onnx.data"]
    # Blocks that split the entry anywhere: the same.
    for size in (1, 3, 7, 16):
        blocks = [data[i : i + size] for i in range(0, len(data), size)]
        assert external_locations(blocks) == ["m.onnx.data"]
    inline = save(matmul_chain_model(2), tmp_path / "inline.onnx").read_bytes()
    assert external_locations([inline]) == []


@pytest.mark.parametrize(
    "noise",
    [
        b"\x0a\x08location\x12",  # cut short
        b"\x0a\x08location\x12\x00",  # empty
        b"\x0a\x08location\x12\x05\xff\xfe\xfd\xfc\xfb",  # not UTF-8
        b"\x0a\x08location\x12\xff\xff\xff\xff\xff\x01",  # a length past any name
        b"\x0a\x08location\x12\x02a\x00",  # not printable
    ],
)
def test_bytes_that_only_look_like_an_entry_name_no_file(noise: bytes) -> None:
    assert external_locations([b"raw" + noise]) == []


def test_a_model_without_external_data_is_known_by_the_sha_of_its_bytes(tmp_path: Path) -> None:
    path = save(matmul_chain_model(2), tmp_path / "m.onnx")
    assert identity_of_file(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_change_in_the_external_data_alone_changes_the_identity(tmp_path: Path) -> None:
    # A trial: the .onnx file stayed byte for byte the same, the model 8x slower.
    for folder in "abc":
        (tmp_path / folder).mkdir()
    base = save_with_external_data(looped_matmul_model(2), tmp_path / "a" / "m.onnx")
    head = save_with_external_data(looped_matmul_model(16), tmp_path / "b" / "m.onnx")
    assert base.read_bytes() == head.read_bytes()
    assert identity_of_file(str(base)) != identity_of_file(str(head))
    same = save_with_external_data(looped_matmul_model(2), tmp_path / "c" / "m.onnx")
    assert identity_of_file(str(same)) == identity_of_file(str(base))
    (tmp_path / "c" / "weights.bin").unlink()
    assert identity_of_file(str(same)) != identity_of_file(str(base))  # (missing counts)


def test_locations_are_kept_inside_the_model_folder() -> None:
    assert inside("models", "w.bin") == "models/w.bin"
    assert inside("models", "sub/../w.bin") == "models/w.bin"
    assert inside(".", "w.bin") == "w.bin"
    assert inside("models", "../../etc/passwd") is None
    assert inside("models", "/etc/passwd") is None
    assert inside(".", "..") is None
    # A review: a drive's path (Windows) would have left the base's temporary folder.
    assert inside(".", "C:/weights.bin") is None
    assert inside(".", "c:weights.bin") is None


def test_a_record_knows_a_model_by_its_identity(tmp_path: Path) -> None:
    # The stored baseline's "model changed" and the renamed-test match read it.
    from pytest_latency_sla.ort.session import _sha256

    model = save_with_external_data(looped_matmul_model(2), tmp_path / "m.onnx")
    assert _sha256(str(model)) == identity_of_file(str(model))
    assert _sha256(str(model)) != hashlib.sha256(model.read_bytes()).hexdigest()


def test_a_location_in_the_model_s_metadata_is_no_external_data(tmp_path: Path) -> None:
    # A review: metadata_props {"location": "labels.txt"} read as an external data file.
    import onnx

    model = matmul_chain_model(2)
    onnx.helper.set_model_props(model, {"location": "labels.txt"})
    path = save(model, tmp_path / "m.onnx")
    assert external_locations([path.read_bytes()]) == []
    assert identity_of_file(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest()
    both = save_with_external_data(model, tmp_path / "e.onnx", "m.onnx.data")
    data = both.read_bytes()
    assert external_locations([data]) == ["m.onnx.data"]
    for size in (1, 2, 5, 13):
        blocks = [data[i : i + size] for i in range(0, len(data), size)]
        assert external_locations(blocks) == ["m.onnx.data"]


def test_a_long_location_is_found(tmp_path: Path) -> None:
    # Past 127 bytes, the entry's length takes two bytes.
    name = "d" * 150 + ".data"
    path = save_with_external_data(looped_matmul_model(2), tmp_path / "m.onnx", name)
    data = path.read_bytes()
    assert external_locations([data]) == [name]
    assert external_locations([data[i : i + 7] for i in range(0, len(data), 7)]) == [name]


def test_the_advisor_keeps_int8_models_by_identity(tmp_path: Path) -> None:
    # A review: two models sharing an .onnx file, their weights apart, got one int8 model
    # (the first's), timed as the second's.
    from pytest_latency_sla.advise_onnx import _int8_key
    from pytest_latency_sla.ort.variants import quantize_int8

    for folder in "ab":
        (tmp_path / folder).mkdir()
    a = save_with_external_data(looped_matmul_model(2), tmp_path / "a" / "m.onnx")
    b = save_with_external_data(looped_matmul_model(9), tmp_path / "b" / "m.onnx")
    assert a.read_bytes() == b.read_bytes()
    assert _int8_key(str(a), quantize_int8) != _int8_key(str(b), quantize_int8)
    assert _int8_key(a.read_bytes(), quantize_int8) == _int8_key(b.read_bytes(), quantize_int8)


def test_an_identity_is_kept_until_a_file_changes(tmp_path: Path) -> None:
    # (Asked for by every measurement of the same model: its data file is hashed once.)
    model = save_with_external_data(looped_matmul_model(2), tmp_path / "m.onnx", "m.data")
    first = identity_of_file(str(model))
    (tmp_path / "m.data").unlink()  # (onnx appends to one that is there)
    save_with_external_data(looped_matmul_model(12345), model, "m.data")
    with open(tmp_path / "m.data", "ab") as data:
        data.write(b"\0")  # (another size, whatever the clock's tick)
    assert identity_of_file(str(model)) != first
    again = identity_of_file(str(model))
    assert again == identity_of_file(str(model))
