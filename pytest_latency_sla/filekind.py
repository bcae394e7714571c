"""Whether a path the user gave is a regular file: the one rule before such a file is read.

A pipe (a FIFO) blocks the read until something writes to it, and a device (``/dev/zero``,
or a link to it) has no end: reading either hangs the run or fills its memory, and its size
(0) says nothing. So a path is looked at with ``os.stat`` (through links) before it is
opened, and one that is neither a regular file nor a folder is refused, in the same words
everywhere (:data:`NOT_REGULAR`).
"""

from __future__ import annotations

import os
import stat

__all__ = ["NOT_REGULAR", "is_special"]

#: What a message says of such a path, after its name.
NOT_REGULAR = "is not a regular file (a device, a pipe or a socket)"


def is_special(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` exists (through links) and is neither a regular file nor a
    folder: a pipe, a device or a socket, which must not be opened to read."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
