"""A model's files: the ``.onnx`` file and the external data files it names, as one identity.

No pytest, no onnxruntime, no onnx. A model saved with ``save_as_external_data=True``
keeps its weights in other files (``model.onnx.data``) that its tensors name by a
``location`` entry; a change to those files is a change to the model, though the
``.onnx`` file stays byte for byte the same. :func:`external_locations` finds the names
in the serialized model without parsing it: an entry is the protobuf bytes of the key
``location`` followed by its value, which raw tensor data would have to hold by chance.
:func:`identity` is the SHA-256 a model is known by: of the ``.onnx`` bytes alone when it
names no external file (as it always was), else of those bytes and each file's name and
bytes in turn.
"""

from __future__ import annotations

import hashlib
import itertools
import ntpath
import os
import posixpath
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["external_locations", "identity", "identity_of_file", "inside"]

#: An external data entry's key: field 1 (``key``) of a StringStringEntryProto, 8 bytes
#: ``location``, then field 2 (``value``, its length next).
_MARK = b"\x0a\x08location\x12"
#: The longest location read (a path); longer ones are not names of files.
_MAX_NAME = 4096
#: A TensorProto's ``external_data`` field (13, length-delimited): the tag before an
#: entry, then the entry's length; the most bytes the two take before the entry.
_EXTERNAL_DATA = b"\x6a"
_BEFORE = 4
_BLOCK = 1 << 20


def _name_at(data: bytes, start: int) -> tuple[str | None, bool]:
    """The location whose length starts at ``start``: (it, True); (None, True) when the
    bytes there are no name; (None, False) when ``data`` ends before the name does."""
    length, shift, at = 0, 0, start
    while True:
        if at >= len(data):
            return None, False
        byte = data[at]
        at += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 28:
            return None, True
    if not 0 < length <= _MAX_NAME:
        return None, True
    if at + length > len(data):
        return None, False
    try:
        name = data[at : at + length].decode("utf-8")
    except UnicodeDecodeError:
        return None, True
    return (name, True) if name.isprintable() else (None, True)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _in_a_tensor(data: bytes, at: int, name: str) -> bool:
    """Whether the entry at ``at`` is a tensor's ``external_data`` (field 13: its tag,
    then the entry's length), not another ``location`` (a model's metadata, field 14)."""
    size = len(_MARK) + len(_varint(len(name.encode("utf-8")))) + len(name.encode("utf-8"))
    head = _EXTERNAL_DATA + _varint(size)
    return at >= len(head) and data[at - len(head) : at] == head


def external_locations(blocks: Iterable[bytes]) -> list[str]:
    """The external data locations a serialized model names (relative to its folder), in
    order, each once; read from ``blocks`` of its bytes, so a large file is never whole
    in memory."""
    found: dict[str, None] = {}
    carry = b""
    for block in itertools.chain(blocks, [b""]):
        data = carry + block
        start = 0
        while (at := data.find(_MARK, start)) >= 0:
            name, complete = _name_at(data, at + len(_MARK))
            if not complete and block:
                break  # read on: the name goes on in the next block
            if name is not None and _in_a_tensor(data, at, name):
                found.setdefault(name)
            start = at + 1
        else:
            at = max(start, len(data) - len(_MARK) + 1)
        # (With the bytes before it: the tag and length the entry is checked by.)
        carry = data[max(0, at - _BEFORE) :] if block else b""
    return list(found)


def inside(folder: str, location: str) -> str | None:
    """``location`` joined to ``folder`` (both POSIX, relative), or None when it leaves
    ``folder``'s tree or is absolute, a drive's too (onnxruntime refuses those). A
    backslash separates folders where the system's paths use it (Windows)."""
    if os.sep == "\\":
        location = location.replace("\\", "/")
    if posixpath.isabs(location) or ntpath.splitdrive(location)[0]:
        return None
    joined = posixpath.normpath(posixpath.join(folder, location))
    if joined == ".." or joined.startswith("../") or posixpath.isabs(joined):
        return None
    return joined


def identity(model: Iterable[bytes], read: Callable[[str], Iterable[bytes] | None]) -> str:
    """The SHA-256 a model is known by: ``model``'s bytes (given in blocks), then, for each
    external data file it names, the name and what ``read`` gives for it (its bytes in
    blocks; None when there is no such file). One pass over each file."""
    digest = hashlib.sha256()

    def hashed(blocks: Iterable[bytes]) -> Iterable[bytes]:
        for block in blocks:
            digest.update(block)
            yield block

    for location in external_locations(hashed(model)):
        digest.update(b"\0" + location.encode("utf-8") + b"\0")
        blocks = read(location)
        for _ in hashed(blocks if blocks is not None else [b"missing\0"]):
            pass
    return digest.hexdigest()


def _blocks(path: str) -> Iterable[bytes]:
    with open(path, "rb") as handle:
        yield from _read(handle)


def _read(handle: BinaryIO) -> Iterable[bytes]:
    yield from iter(lambda: handle.read(_BLOCK), b"")


def _stat(path: str) -> tuple[int, int, int] | None:
    """What tells a file's content changed without reading it (size, mtime, inode)."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return (found.st_size, found.st_mtime_ns, found.st_ino)


#: :func:`identity_of_file`'s answers: by the model file (its path and stat), the
#: external files it names (their paths), and by those files' stats, the identity.
_NAMED: dict[tuple[str, object], list[str]] = {}
_KNOWN: dict[tuple[tuple[str, object], tuple[object, ...]], str] = {}


def beside(path: str, location: str) -> str | None:
    """The external data file ``location`` of the model file at ``path`` (None: none
    that onnxruntime would read, one outside the model's folder)."""
    relative = inside(".", location)
    folder = os.path.dirname(os.path.abspath(path))
    return os.path.join(folder, relative) if relative is not None else None


def identity_of_file(path: str) -> str:
    """:func:`identity` of the model file at ``path``, its external data files read beside
    it (a file that is not there, or not a regular file, counts as missing). Kept while
    the files' sizes and times stay as they were: a test, the advisor's variants and
    the base revision's lookup ask for the same model many times, and its data files
    may be gigabytes."""
    key = (os.path.abspath(path), _stat(path))
    named = _NAMED.get(key)
    if named is not None:
        known = _KNOWN.get((key, tuple(_stat(f) for f in named)))
        if known is not None:
            return known
    files: list[str] = []

    def read(location: str) -> Iterable[bytes] | None:
        file = beside(path, location)
        files.extend([file] if file is not None else [])
        return _blocks(file) if file is not None and os.path.isfile(file) else None

    found = identity(_blocks(path), read)
    _NAMED[key] = files
    _KNOWN[(key, tuple(_stat(f) for f in files))] = found
    return found
