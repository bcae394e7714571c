"""Unit tests of ``pytest_latency_sla.ort.session``: models, providers, prepare()."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto
from onnx_models import cpu_session, identity_model, model_bytes, save

from pytest_latency_sla import ort
from pytest_latency_sla.ort import OnnxInputError, ProviderUnavailableError, prepare


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    """An identity model float[1, 6] saved to disk."""
    return save(identity_model(TensorProto.FLOAT, [1, 6]), tmp_path / "identity.onnx")


# --- model sources -------------------------------------------------------------------


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
    session = cpu_session(identity_model())
    prepared = prepare(session)
    assert prepared.session is session
    assert prepared.subject.name == "<InferenceSession>"
    assert prepared.subject.providers == ("CPUExecutionProvider",)
    assert prepared.subject.providers_requested == ("CPUExecutionProvider",)


# --- subject -------------------------------------------------------------------------


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
    subject = prepare(cpu_session(identity_model(), sess_options=options)).subject
    assert subject.intra_op_threads == 1


# --- errors: the model ---------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    with pytest.raises(OnnxInputError, match="does not exist") as info:
        prepare(missing)
    assert str(missing) in str(info.value)
    assert "current directory" in str(info.value)


def test_a_link_to_nothing_and_a_pipe_are_named_as_such(tmp_path: Path) -> None:
    # A trial: a symbolic-link loop read "does not exist", a pipe "is empty".
    import os

    loop = tmp_path / "loop1.onnx"
    loop.symlink_to(tmp_path / "loop2.onnx")
    (tmp_path / "loop2.onnx").symlink_to(loop)
    with pytest.raises(OnnxInputError, match="is a symbolic link to nothing"):
        prepare(loop)
    fifo = tmp_path / "fifo.onnx"
    os.mkfifo(fifo)
    with pytest.raises(OnnxInputError, match=r"is not a regular file \(a device, a pipe"):
        prepare(fifo)


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


def test_an_empty_model_proto() -> None:
    # A trial: "it is text, not an ONNX model (it starts with b'')".
    import onnx

    with pytest.raises(OnnxInputError, match=r"the ModelProto 'model' is empty \(no graph"):
        prepare(onnx.ModelProto())


@pytest.mark.parametrize("model", [42, None, {"x": 1}, ["model.onnx"]], ids=repr)
def test_model_of_the_wrong_type(model: object) -> None:
    with pytest.raises(
        OnnxInputError, match=r"model must be a path, bytes, an onnx\.ModelProto"
    ) as info:
        prepare(model)
    assert type(model).__name__ in str(info.value)


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


# --- errors: providers and session options -------------------------------------------


def test_providers_as_a_plain_string() -> None:
    with pytest.raises(OnnxInputError, match=r"write providers=\['CPUExecutionProvider'\]"):
        prepare(identity_model(), providers="CPUExecutionProvider")


@pytest.mark.parametrize(
    ("providers", "written"),
    [
        (
            {"CPUExecutionProvider": {"arena_extend_strategy": "kSameAsRequested"}},
            "[('CPUExecutionProvider', {'arena_extend_strategy': 'kSameAsRequested'})]",
        ),
        ({"CPUExecutionProvider"}, "[('CPUExecutionProvider', {})]"),
        (  # the fallback last, whatever the set's order (a review)
            {"CPUExecutionProvider", "CUDAExecutionProvider"},
            "[('CUDAExecutionProvider', {}), ('CPUExecutionProvider', {})]",
        ),
    ],
    ids=["dict", "set", "set-of-two"],
)
def test_providers_as_a_dict_or_a_set_are_refused(providers: object, written: str) -> None:
    # A trial: a dict was read as its keys, so its options were dropped without a word;
    # a set has no order of preference.
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(), providers=providers)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(
        f"providers must be a list in order of preference, got a {type(providers).__name__}"
    )
    assert f"; write providers={written} (a name, or" in message
    if isinstance(providers, dict):
        page = (Path(__file__).parent.parent / "docs" / "bad-input.md").read_text("utf-8")
        assert f"`{message}`" in page


def test_every_provider_of_a_dict_is_in_the_list_to_write() -> None:
    # A review: the list named two of three (the CPU fallback left out), and options that
    # were no dict were shown as given, to be refused next.
    providers: dict[str, object] = {
        "CUDAExecutionProvider": None,
        "XnnpackExecutionProvider": {},
        "CPUExecutionProvider": {},
    }
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(), providers=providers)  # type: ignore[arg-type]
    assert (
        "write providers=[('CUDAExecutionProvider', {}), ('XnnpackExecutionProvider', {}), "
        "('CPUExecutionProvider', {})] (a name" in str(info.value)
    )


@pytest.mark.parametrize(
    "providers",
    [[10**5000], "C" * 3_000, [("C" * 3_000, {})], [("CPUExecutionProvider", "x" * 3_000)]],
    ids=["huge-int", "long-string", "long-name", "long-options"],
)
def test_a_huge_provider_value_is_quoted_short(providers: Any) -> None:
    # A review: 10**5000 raised ValueError (Python's limit on digits), not a sentence; a
    # 3,000-character string was printed twice.
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(), providers=providers)
    assert len(str(info.value)) < 700


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
    available = onnxruntime.get_available_providers()
    absent = [p for p in onnxruntime.get_all_providers() if p not in available]
    if not absent:  # pragma: no cover - a build with every provider
        pytest.skip("this onnxruntime has every provider it knows")
    name = "CUDAExecutionProvider" if "CUDAExecutionProvider" in absent else absent[0]
    with pytest.raises(ProviderUnavailableError) as info:
        prepare(identity_model(), providers=[name, "CPUExecutionProvider"])
    message = str(info.value)
    assert f"{name!r} is not available" in message
    assert "CPUExecutionProvider" in message.split("available:")[1]
    assert onnxruntime.__version__ in message


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("CPUExecutionProvder", "CPUExecutionProvider"),
        ("cpu", "CPUExecutionProvider"),
        ("cuda", "CUDAExecutionProvider"),
        ("cudaexecutionprovider", "CUDAExecutionProvider"),
        ("Foo", None),
    ],
)
def test_a_provider_name_no_onnxruntime_has_is_bad_input_not_a_skip(
    name: str, meant: str | None
) -> None:
    # A typo must not skip the test as a GPU test skips on a CPU runner: CI would go green.
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(), providers=[name])
    assert not isinstance(info.value, ProviderUnavailableError)
    message = str(info.value)
    assert message.startswith(f"execution provider {name!r} is not a name onnxruntime knows")
    assert (f"did you mean {meant!r}?" in message) if meant else ("did you mean" not in message)
    assert "fix it in providers=" in message
    if name == "CPUExecutionProvder":
        page = Path(__file__).parent.parent / "docs" / "bad-input.md"
        head = message.split(" (available")[0]
        assert f"`{head} (available in this onnxruntime" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name", ["NvTensorRTRTXExecutionProvider", "ROCMExecutionProvider", "NoSuchExecutionProvider"]
)
def test_a_provider_name_not_close_to_a_known_one_may_be_a_plugins_and_skips(name: str) -> None:
    # get_all_providers() misses plugin providers (TensorRT RTX comes in its own package)
    # and some vendors': a well-formed name no typo away from a known one is not a typo.
    with pytest.raises(ProviderUnavailableError, match=f"{name!r} is not available"):
        prepare(identity_model(), providers=[name])


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
        prepare(cpu_session(identity_model()), **kwargs)


# --- providers asked for but not in use ----------------------------------------------


def test_a_provider_dropped_by_onnxruntime_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # onnxruntime falls back to CPU with only a warning when, say, CUDA fails to start; the
    # adapter must not then time the wrong provider. Simulate the fallback.
    _falling_back(monkeypatch, printed="")
    model = model_bytes(identity_model(TensorProto.FLOAT, [1, 4]))
    other = _another_available_provider()
    with pytest.raises(ort.ProviderDroppedError) as info:
        prepare(model, providers=[other, "CPUExecutionProvider"])
    message = str(info.value)
    assert f"asked for {other}" in message
    assert "with CPUExecutionProvider only" in message
    assert "see onnxruntime's warnings in the test's output; for CUDA, check that device_id" in (
        message
    )


@pytest.mark.parametrize(
    "providers",
    [
        ["CPUExecutionProvider", "CPUExecutionProvider"],
        [("CPUExecutionProvider", {}), "CPUExecutionProvider"],
    ],
)
def test_a_provider_listed_twice(providers: list[Any]) -> None:
    # It was "could not load model ...: Duplicate provider ... Check that the file is a
    # complete ONNX model": onnxruntime's refusal blamed on the model.
    with pytest.raises(OnnxInputError) as info:
        prepare(identity_model(), providers=providers)
    message = str(info.value)
    assert message == (
        "providers lists CPUExecutionProvider more than once; list each provider once, in "
        "order of preference, with its options in one (name, options dict) tuple"
    )
    page = (Path(__file__).parent.parent / "docs" / "bad-input.md").read_text("utf-8")
    assert f"`{message.replace('CPU', 'CUDA')}`" in page


def test_what_other_threads_print_meanwhile_passes_and_is_not_read(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A review: contextlib.redirect_stdout swaps sys.stdout for every thread, held others'
    # output back, and an overlapping swap by another thread left it on the plugin's buffer.
    import threading

    real = onnxruntime.InferenceSession

    class Busy(real):  # type: ignore[misc,valid-type]
        def __init__(self, model: Any, sess_options: Any = None, **_: Any) -> None:
            other = threading.Thread(target=print, args=("EP Error other when using [x]",))
            other.start()
            other.join()
            super().__init__(model, sess_options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(onnxruntime, "InferenceSession", Busy)
    before = sys.stdout
    with pytest.raises(ort.ProviderDroppedError) as info:
        prepare(identity_model(), providers=[_another_available_provider(), "CPUExecutionProvider"])
    assert "onnxruntime said" not in str(info.value)  # another thread's words, not read
    assert "EP Error other" in capsys.readouterr().out
    assert sys.stdout is before


def test_a_stdout_whose_write_returns_nothing_or_none_at_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A second review: the pass-through returned int(write(...)), and a wrapper whose
    # write() returns None (colorama's) turned onnxruntime's own print into a load error.
    class Wrapper:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def write(self, text: str) -> None:
            self.seen.append(text)

    wrapper = Wrapper()
    monkeypatch.setattr(sys, "stdout", wrapper)
    _falling_back(monkeypatch, printed=EP_ERROR_DEVICE)
    with pytest.raises(ort.ProviderDroppedError, match="Invalid device ID: 99"):
        prepare(identity_model(), providers=[_another_available_provider(), "CPUExecutionProvider"])
    assert "Falling back" in "".join(wrapper.seen)
    monkeypatch.setattr(sys, "stdout", None)  # pythonw: nowhere to print
    with pytest.raises(ort.ProviderDroppedError, match="see onnxruntime's warnings"):
        prepare(identity_model(), providers=[_another_available_provider(), "CPUExecutionProvider"])


def _falling_back(monkeypatch: pytest.MonkeyPatch, printed: str) -> None:
    """onnxruntime's InferenceSession as when it drops every provider but the CPU's: it
    prints ``printed`` (its EP Error) and makes the session on the CPU alone. The
    providers asked for are never tried (on a GPU build one would really be: a run on an
    H200 printed TensorRT's missing libraries)."""
    real = onnxruntime.InferenceSession

    class FallingBack(real):  # type: ignore[misc,valid-type]
        def __init__(self, model: Any, sess_options: Any = None, **_: Any) -> None:
            print(printed, end="")
            super().__init__(model, sess_options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(onnxruntime, "InferenceSession", FallingBack)


def _another_available_provider() -> str:
    """A provider this build has besides the CPU's (Azure on the CPU build; CUDA on a GPU's)."""
    others = [p for p in onnxruntime.get_available_providers() if p != "CPUExecutionProvider"]
    if not others:  # pragma: no cover - a build with the CPU provider only
        pytest.skip("this onnxruntime has no provider besides the CPU's")
    return str(others[0])


#: What onnxruntime-gpu 1.31.1 printed on an H200 for device_id=99 (one GPU there).
EP_ERROR_DEVICE = """*************** EP Error ***************
EP Error /onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider_info.cc:63 \
static onnxruntime::CUDAExecutionProviderInfo onnxruntime::CUDAExecutionProviderInfo::\
FromProviderOptions(const onnxruntime::ProviderOptions&) [ONNXRuntimeError] : 1 : FAIL : \
provider_options_utils.h:187 Parse Failed to parse provider option "device_id": \
cuda_execution_provider_info.cc:71 operator() Invalid device ID: 99, must be between 0 \
(inclusive) and 1 (exclusive).
 when using ['CUDAExecutionProvider']
Falling back to ['CPUExecutionProvider'] and retrying.
****************************************
"""


@pytest.mark.parametrize(
    ("printed", "reason"),
    [
        (
            EP_ERROR_DEVICE,
            'Parse Failed to parse provider option "device_id": Invalid device ID: 99, must '
            "be between 0 (inclusive) and 1 (exclusive)",
        ),
        (  # onnxruntime's form when the CUDA libraries are missing
            "EP Error /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1539 "
            "onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : "
            "1 : FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: "
            "libcublasLt.so.12: cannot open shared object file: No such file or directory\n "
            "when using ['CUDAExecutionProvider']\n",
            "Failed to load library libonnxruntime_providers_cuda.so with error: "
            "libcublasLt.so.12: cannot open shared object file: No such file or directory",
        ),
        ("some other output\n", None),
        ("", None),
    ],
)
def test_why_onnxruntime_fell_back(printed: str, reason: str | None) -> None:
    from pytest_latency_sla.ort.session import fallback_reason

    assert fallback_reason(printed) == reason


def test_a_dropped_provider_says_what_onnxruntime_said(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As onnxruntime-gpu does for a device that is not there: it prints why to stdout,
    # retries on the CPU, and the session reports the CPU only.
    _falling_back(monkeypatch, printed=EP_ERROR_DEVICE)
    model = model_bytes(identity_model(TensorProto.FLOAT, [1, 4]))
    other = _another_available_provider()
    with pytest.raises(ort.ProviderDroppedError) as info:
        prepare(model, providers=[other, "CPUExecutionProvider"])
    assert str(info.value) == (
        f"asked for {other}, but onnxruntime created the session with CPUExecutionProvider "
        f"only: it dropped {other} when the session was created (onnxruntime said: Parse "
        'Failed to parse provider option "device_id": Invalid device ID: 99, must be between '
        "0 (inclusive) and 1 (exclusive)). Measuring on another provider would judge the "
        "wrong thing"
    )
    assert "Falling back to ['CPUExecutionProvider']" in capsys.readouterr().out  # kept
    page = (Path(__file__).parent.parent / "docs" / "bad-input.md").read_text("utf-8")
    assert f"`{str(info.value).replace(other, 'CUDAExecutionProvider')}`" in page


def test_an_unavailable_provider_is_its_own_error_type() -> None:
    model = model_bytes(identity_model(TensorProto.FLOAT, [1, 4]))
    absent = [
        p for p in onnxruntime.get_all_providers() if p not in onnxruntime.get_available_providers()
    ]
    if not absent:  # pragma: no cover - a build with every provider
        pytest.skip("this onnxruntime has every provider it knows")
    with pytest.raises(ort.ProviderUnavailableError, match=absent[0]):
        prepare(model, providers=[absent[0]])


def test_model_sha256_and_session_options_are_recorded() -> None:
    import hashlib

    model = model_bytes(identity_model(TensorProto.FLOAT, [1, 4]))
    subject = prepare(model).subject
    assert subject.model_sha256 == hashlib.sha256(model).hexdigest()
    assert dict(subject.session_options)["execution_mode"] == "ORT_SEQUENTIAL"
