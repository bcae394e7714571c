"""The diagnosis of a model onnxruntime refused to load: what is wrong and what to do."""

from __future__ import annotations

import os
import re

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


def _explain_load_error(version: str, name: str, source: bytes | str, exc: BaseException) -> str:
    """A sentence for a model onnxruntime refused to load: what is wrong and what to do.

    onnxruntime's messages are matched for the common causes; anything else is quoted with
    a general hint.
    """
    text = " ".join(str(exc).split())
    prefix = f"onnxruntime {version} could not load model {name}: "
    if (
        "INVALID_PROTOBUF" in text
        or "protobuf parsing failed" in text
        or "No graph was found in the protobuf" in text
    ):
        return prefix + _not_a_model(source)
    external = re.search(r'External data path does not exist: "?([^"]+?)"?(?: |$)', text)
    if external or "external data" in text.lower():
        tensor = re.search(r"for initializer: (\S+?)\.? ", text)
        holder = f" (it holds tensor {tensor.group(1)!r})" if tensor else ""
        where = f" at {external.group(1)}" if external else ""
        if isinstance(source, bytes):
            return prefix + (
                f"its weights are in an external data file{holder} that cannot be found"
                f"{where}: a model given as bytes or a ModelProto has no folder to find it "
                "in. Pass the path of the .onnx file, with its external data file beside "
                "it, or load it with onnx.load(path), which reads the external data in"
            )
        if external:
            return prefix + (
                f"its external data file {os.path.basename(external.group(1))!r}{holder} is "
                f"missing: it was expected at {external.group(1)} (the model names it "
                "relative to its own folder). Put the file that came with the model there, "
                "or keep the weights inside the model: "
                "onnx.save_model(onnx.load(path), new_path)"
            )
        return prefix + (
            f"its external data cannot be read ({_error_detail(exc)}); check that the "
            "external data files that came with the model are complete and beside it"
        )
    short = re.search(
        r"External initializer: (\S+) offset: (\d+) size to read: (\d+) given file_length: "
        r"(\d+)",
        text,
    )
    if short:
        tensor_name, offset, length, size = short.groups()
        return prefix + (
            f"its external data file is incomplete: tensor {tensor_name!r} needs bytes "
            f"{offset} to {int(offset) + int(length)}, and the file has {size}. Copy the "
            "external data file that came with the model again (an interrupted download or "
            "copy?), or re-export the model"
        )
    opset = re.search(r"Opset (\d+) is under development", text)
    if opset:
        limit = re.search(r"support for domain (\S+) is till opset (\d+)", text)
        domain, top = (limit.group(1), limit.group(2)) if limit else ("ai.onnx", None)
        supports = f"supports {domain} up to opset {top}" if top else "does not support it"
        lower = f"opset {top} or lower" if top else "a lower opset"
        return prefix + (
            f"it uses opset {opset.group(1)} of {domain}, and this onnxruntime {supports}; "
            f"export the model with {lower} (e.g. torch.onnx.export(..., "
            f"opset_version={top or 17})) or upgrade onnxruntime"
        )
    ir = re.search(r"Unsupported model IR version: (\d+), max supported IR version: (\d+)", text)
    if ir:
        return prefix + (
            f"its IR version is {ir.group(1)}, and this onnxruntime reads up to IR version "
            f"{ir.group(2)}; upgrade onnxruntime, or save the model with a lower IR version "
            f"(model.ir_version = {ir.group(2)} if its opset allows it)"
        )
    no_op = re.search(r"No Op registered for (\S+) with domain_version of (\d+)", text)
    if no_op:
        return prefix + (
            f"operator {no_op.group(1)} (opset {no_op.group(2)}) is not known to this "
            "onnxruntime; upgrade onnxruntime, or export the model without it (a lower "
            "opset, or another exporter setting)"
        )
    custom = re.search(r"(\S+):(\S+?)\(-?\d+\) is not a registered function/op", text)
    if custom:
        return prefix + (
            f"it uses operator {custom.group(2)} of domain {custom.group(1)}, which nothing "
            "registered with this onnxruntime implements; if it is a custom operator, "
            "register the library that does: options = onnxruntime.SessionOptions(); "
            "options.register_custom_ops_library(path); sla.onnx(model, "
            "session_options=options)"
        )
    kernel = re.search(r"Could not find an implementation for (\S+?)\((\d+)\)", text)
    if kernel:
        op, since = kernel.groups()
        return prefix + (
            f"no execution provider in use has a kernel for operator {op} (opset {since}) "
            "with the types the model gives it: the opset is older than this onnxruntime "
            "supports, or the types are not supported. Convert the model to a newer opset "
            "(onnx.version_converter.convert_version(model, 17)), change the types in the "
            "model (e.g. a Cast to float), or use a provider that has the kernel"
        )
    if "Exception during initialization" in text:
        return prefix + (
            f"{_error_detail(exc)}. The model was read, but a kernel failed while the session "
            "was set up: the message above says why (often something missing on this "
            "machine, such as a locale or a library)"
        )
    return prefix + (
        f"{_error_detail(exc)}. Check that the file is a complete ONNX model (not truncated, "
        "external data files beside it) whose opset and operators this onnxruntime "
        "supports; `python -m onnx.checker <model>` or `onnx.checker.check_model` says more"
    )
