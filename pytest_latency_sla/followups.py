"""What may follow a measurement of an ONNX model in the same ``sla.onnx()`` call: the
side-by-side comparison with the model of a base revision (``--sla-compare-ref``), a
sweep's other sizes, cold starts (``cold_ms=``) and the advisor; and how a timeout around
the test is shared among them (:class:`After`).

No pytest: the fixture calls these and turns what they return into a record's fields
or a failure's sentence.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .runner import OnnxJob, Runner, Timing
    from .schema import RevisionEntry
    from .settings import Settings

__all__ = ["After", "revision"]


@dataclass(frozen=True)
class After:
    """What is still to follow in an ``sla.onnx()`` call. A timeout around the test
    (pytest-timeout's) is shared in equal parts (``limits.fit``'s ``phases``): one for
    what starts now, one for each part that follows it; each takes its part when it
    starts, so a part that ends early leaves more to those after it."""

    revision: bool = False
    #: The sweep's sizes still to measure.
    sizes: int = 0
    cold: bool = False
    advise: bool = False

    @property
    def phases(self) -> int:
        """Parts of the time: what starts now, and each part of this."""
        return 1 + int(self.revision) + self.sizes + int(self.cold) + int(self.advise)

    def words(self) -> str:
        """This in words, e.g. "the base revision's model and the advisor"; "" for none."""
        parts = [
            "the base revision's model" if self.revision else "",
            f"{self.sizes} more size{'s' if self.sizes != 1 else ''} of sweep="
            if self.sizes
            else "",
            "the cold starts of cold_ms=" if self.cold else "",
            "the advisor" if self.advise else "",
        ]
        named = [p for p in parts if p]
        return " and ".join([", ".join(named[:-1]), named[-1]] if len(named) > 1 else named)

    def without(self, part: str) -> After:
        """What follows once ``part`` ("revision", "size", "cold", "advise") has started."""
        if part == "size":
            return dataclasses.replace(self, sizes=max(0, self.sizes - 1))
        return dataclasses.replace(self, **{part: False})


def revision(
    job: OnnxJob,
    timing: Timing | str,
    settings: Settings,
    ref: str,
    runner: Callable[[], Runner],
) -> RevisionEntry | str:
    """The model of ``job`` against its base revision ``ref`` (``--sla-compare-ref``, or
    ``--sla-compare-dir``'s folder): measured side by side when its file changed (in a
    worker too, when ``runner`` makes an isolated one); a sentence when that cannot be
    done (``timing``, a sentence: no time left for it). An unavailable provider is
    raised, as for the head's own measurement."""
    from . import ort
    from .gitref import GitRefError, base_in_folder, base_model
    from .isolate import IsolationError
    from .revision import not_compared
    from .runner import Against, ModelRunError

    model = job.model
    if not isinstance(model, (str, os.PathLike)):
        return not_compared(ref, "not comparable")
    try:
        if settings.compare_dir:
            base = base_in_folder(os.fspath(model), settings.compare_dir)
        else:
            base = base_model(os.fspath(model), ref)
    except GitRefError as exc:
        return str(exc)
    if base.status != "changed" or base.data is None:
        return not_compared(ref, base.status, base.base_sha256)
    if isinstance(timing, str):
        return f"measuring side by side with {ref} was left out: {timing}"
    against = Against(
        ref=ref,
        data=base.data,
        sha256=base.base_sha256,
        confidence=settings.confidence,
        delta=settings.max_regression or 0.05,
        gated=settings.max_regression is not None,
    )
    try:
        return runner().compare(job, against, timing)
    except ort.ProviderUnavailableError:
        raise  # as for the head: skipped, or failed with --sla-require-providers
    except (ort.OnnxInputError, ModelRunError) as exc:
        return str(exc)  # the head's own measurement stands, and is recorded
    except IsolationError as exc:
        return f"measuring side by side with {ref} failed: {exc}"
