"""The diagnosis of a model onnxruntime refused to load: what is wrong and what to do.

onnxruntime's message is matched against a table of known causes (:data:`_CAUSES`), in
order; the first that matches writes the sentence, and the last, a general hint, matches
anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import _error_detail

#: A Git LFS pointer checked out instead of the file it points to.
_LFS_POINTER = b"version https://git-lfs"


def _not_a_model(source: bytes | str) -> str:
    """Why bytes that protobuf cannot parse are no model, from their first bytes."""
    if isinstance(source, bytes):
        head, size = source[:64], len(source)
    else:
        with open(source, "rb") as handle:
            head = handle.read(64)
        size = os.path.getsize(source)
    if head.startswith(_LFS_POINTER):
        return (
            "the file is a Git LFS pointer, not the model; fetch the model with "
            "`git lfs pull` (or download it), then pass its path"
        )
    # A serialized ModelProto opens with field 1, ir_version (tag 0x08), a small number.
    if len(head) >= 2 and head[0] == 0x08 and 1 <= head[1] <= 32:
        return (
            f"it starts like an ONNX model (IR version {head[1]}) but protobuf cannot parse "
            f"its {size} bytes: it is probably truncated or corrupted (an interrupted "
            "download or copy); re-export or re-download it"
        )
    shown = head[:24]
    if head.lstrip()[:1] == b"<":
        what = "it looks like an HTML or XML page (a failed download?), not an ONNX model"
    elif shown.isascii() and all(32 <= c < 127 or c in b"\t\r\n" for c in shown):
        what = f"it is text, not an ONNX model (it starts with {shown!r})"
    else:
        what = f"it is not an ONNX model (it starts with {shown!r})"
    return (
        f"{what}; pass an .onnx file (exported with torch.onnx.export, tf2onnx, ...), or "
        "re-download it if the file is damaged"
    )


@dataclass(frozen=True)
class _Refusal:
    """A model onnxruntime refused: its message on one line, the model, the exception."""

    text: str
    source: bytes | str
    exc: BaseException


#: Writes what is wrong and what to do (the part after "could not load model <name>: ")
#: from the refusal and the groups of the cause's pattern (none for a predicate).
_Explain = Callable[[_Refusal, tuple[str, ...]], str]


def _unparsable(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    return _not_a_model(refusal.source)


#: onnxruntime's message for an external data file that is not where the model says (the
#: second, onnxruntime 1.23's, the newest on Python 3.10: "filesystem error: cannot get
#: file size: No such file or directory [./weights.bin]").
_EXTERNAL_PATH = re.compile(
    r'External data path does not exist: "?([^"]+?)"?(?: |$)'
    r"|cannot get file size: No such file or directory \[([^\]]+)\]"
)


def _external_path(refusal: _Refusal) -> str | None:
    """The external data file onnxruntime did not find, from the model's folder."""
    found = _EXTERNAL_PATH.search(refusal.text)
    if found is None:
        return None
    path = found.group(1) or found.group(2)
    if isinstance(refusal.source, str):  # (1.23's holds the model's folder already)
        path = os.path.abspath(path)
    return path


def _mentions_external_data(text: str) -> bool:
    return _EXTERNAL_PATH.search(text) is not None or "external data" in text.lower()


def _external_data_unreadable(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    text = refusal.text
    external = _external_path(refusal)
    tensor = re.search(r"for initializer: (\S+?)\.? ", text)
    holder = f" (it holds tensor {tensor.group(1)!r})" if tensor else ""
    where = f" at {external}" if external else ""
    if isinstance(refusal.source, bytes):
        return (
            f"its weights are in an external data file{holder} that cannot be found"
            f"{where}: a model given as bytes or a ModelProto has no folder to find it "
            "in. Pass the path of the .onnx file, with its external data file beside "
            "it, or load it with onnx.load(path), which reads the external data in"
        )
    if external:
        return (
            f"its external data file {os.path.basename(external)!r}{holder} is "
            f"missing: it was expected at {external} (the model names it "
            "relative to its own folder). Put the file that came with the model there, "
            "or keep the weights inside the model: "
            "onnx.save_model(onnx.load(path), new_path)"
        )
    return (
        f"its external data cannot be read ({_error_detail(refusal.exc)}); check that the "
        "external data files that came with the model are complete and beside it"
    )


def _external_data_short(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    tensor_name, offset, length, size = groups
    return (
        f"its external data file is incomplete: tensor {tensor_name!r} needs bytes "
        f"{offset} to {int(offset) + int(length)}, and the file has {size}. Copy the "
        "external data file that came with the model again (an interrupted download or "
        "copy?), or re-export the model"
    )


def _opset_too_new(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    (opset,) = groups
    limit = re.search(r"support for domain (\S+) is till opset (\d+)", refusal.text)
    domain, top = (limit.group(1), limit.group(2)) if limit else ("ai.onnx", None)
    supports = f"supports {domain} up to opset {top}" if top else "does not support it"
    lower = f"opset {top} or lower" if top else "a lower opset"
    return (
        f"it uses opset {opset} of {domain}, and this onnxruntime {supports}; "
        f"export the model with {lower} (e.g. torch.onnx.export(..., "
        f"opset_version={top or 17})) or upgrade onnxruntime"
    )


def _ir_too_new(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    version, top = groups
    return (
        f"its IR version is {version}, and this onnxruntime reads up to IR version "
        f"{top}; upgrade onnxruntime, or save the model with a lower IR version "
        f"(model.ir_version = {top} if its opset allows it)"
    )


def _unknown_op(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    op, opset = groups
    return (
        f"operator {op} (opset {opset}) is not known to this "
        "onnxruntime; upgrade onnxruntime, or export the model without it (a lower "
        "opset, or another exporter setting)"
    )


def _custom_op(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    domain, op = groups
    return (
        f"it uses operator {op} of domain {domain}, which nothing "
        "registered with this onnxruntime implements; if it is a custom operator, "
        "register the library that does: options = onnxruntime.SessionOptions(); "
        "options.register_custom_ops_library(path); sla.onnx(model, "
        "session_options=options)"
    )


def _no_kernel(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    op, since = groups
    return (
        f"no execution provider in use has a kernel for operator {op} (opset {since}) "
        "with the types the model gives it: the opset is older than this onnxruntime "
        "supports, or the types are not supported. Convert the model to a newer opset "
        "(onnx.version_converter.convert_version(model, 17)), change the types in the "
        "model (e.g. a Cast to float), or use a provider that has the kernel"
    )


def _kernel_init_failed(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    return (
        f"{_error_detail(refusal.exc)}. The model was read, but a kernel failed while the "
        "session was set up: the message above says why (often something missing on this "
        "machine, such as a locale or a library)"
    )


def _anything(text: str) -> bool:
    return True


def _general(refusal: _Refusal, groups: tuple[str, ...]) -> str:
    return (
        f"{_error_detail(refusal.exc)}. Check that the file is a complete ONNX model (not "
        "truncated, external data files beside it) whose opset and operators this "
        "onnxruntime supports; `python -m onnx.checker <model>` or "
        "`onnx.checker.check_model` says more"
    )


#: The known causes, in order of precedence: a pattern searched for in (or a predicate of)
#: onnxruntime's message on one line, and what to say when it matches. The first match
#: wins; the last entry, the general hint, matches anything.
_CAUSES: tuple[tuple[re.Pattern[str] | Callable[[str], bool], _Explain], ...] = (
    (
        # (onnxruntime 1.23, the newest on Python 3.10: "ModelProto does not have a graph")
        re.compile(
            r"INVALID_PROTOBUF|protobuf parsing failed|No graph was found in the protobuf"
            r"|ModelProto does not have a graph"
        ),
        _unparsable,
    ),
    (_mentions_external_data, _external_data_unreadable),
    (
        re.compile(
            r"External initializer: (\S+) offset: (\d+) size to read: (\d+) given file_length: "
            r"(\d+)"
        ),
        _external_data_short,
    ),
    (re.compile(r"Opset (\d+) is under development"), _opset_too_new),
    (
        re.compile(r"Unsupported model IR version: (\d+), max supported IR version: (\d+)"),
        _ir_too_new,
    ),
    (re.compile(r"No Op registered for (\S+) with domain_version of (\d+)"), _unknown_op),
    (re.compile(r"(\S+):(\S+?)\(-?\d+\) is not a registered function/op"), _custom_op),
    (re.compile(r"Could not find an implementation for (\S+?)\((\d+)\)"), _no_kernel),
    (re.compile(r"Exception during initialization"), _kernel_init_failed),
    (_anything, _general),
)


def _explain_load_error(version: str, name: str, source: bytes | str, exc: BaseException) -> str:
    """A sentence for a model onnxruntime refused to load: what is wrong and what to do.

    onnxruntime's messages are matched for the common causes (:data:`_CAUSES`, first match
    wins); anything else is quoted with a general hint.
    """
    refusal = _Refusal(" ".join(str(exc).split()), source, exc)
    prefix = f"onnxruntime {version} could not load model {name}: "
    for test, explain in _CAUSES:
        if isinstance(test, re.Pattern):
            found = test.search(refusal.text)
            if found is not None:
                return prefix + explain(refusal, found.groups())
        elif test(refusal.text):
            return prefix + explain(refusal, ())
    raise AssertionError("the last of _CAUSES matches every message")  # pragma: no cover
