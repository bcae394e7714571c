"""What may follow a measurement of an ONNX model in the same ``sla.onnx()`` call, once it
is recorded: the side-by-side comparison with the model of a base revision
(``--sla-compare-ref``), a sweep's other sizes, cold starts (``cold_ms=``) and the
advisor (:class:`Followed`); and how a timeout around the test is shared among them
(:class:`After`).

No pytest: the fixture calls these and turns what they return into a record's fields
or a failure's sentence.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .gitref import BaseModel
    from .runner import AdviseRequest, OnnxJob, Runner, Timing
    from .schema import Advice, ColdEntry, RevisionEntry, SlaRecord, SweepEntry
    from .settings import Settings

__all__ = ["After", "Followed", "advice", "look_up_base", "revision"]


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


@dataclass
class Followed:
    """What followed a measurement, for its record: each None where it did not run."""

    #: The comparison with the base revision, or the sentence saying why there is none.
    revision: RevisionEntry | str | None = None
    sweep: SweepEntry | None = None
    #: The sweep's sizes that could not be measured, in a sentence.
    unswept: str | None = None
    #: The cold starts against ``cold_ms=``, or why there are none.
    cold: ColdEntry | str | None = None
    advice: Advice | None = None

    def fill(
        self,
        record: SlaRecord,
        settings: Settings,
        problem: str | None,
        *,
        base_label: str | None,
        nodeid: str,
        subject: str,
    ) -> str | None:
        """Put what followed into the measurement's ``record``; the test's ``problem``
        so far with what of it fails the test (a comparison that could not run, a
        regression beyond the gate, a missed cold start, sizes of a sweep not measured).
        ``base_label``: the base revision compared with (None for none); ``subject``:
        what was measured, by name."""
        from .checkmessages import cold_message, revision_regression_message
        from .messages import joined
        from .revision import not_compared, regression_beyond

        revision, cold = self.revision, self.cold
        if base_label and revision is None:
            revision = not_compared(base_label, "not comparable")
        if isinstance(revision, str):
            problem = joined(problem, f"sla.onnx(): {revision} (in {nodeid})")
        elif revision is not None:
            record["revision"] = revision
            allowed = settings.max_regression
            if allowed is not None and regression_beyond(revision, allowed):
                problem = joined(problem, revision_regression_message(revision, allowed), "\n")
        record["advice"] = self.advice
        record["sweep"] = self.sweep
        if self.unswept:
            problem = joined(problem, f"sla.onnx(): {self.unswept} (in {nodeid})")
        if isinstance(cold, str):
            problem = joined(problem, f"sla.onnx(): {cold} (in {nodeid})")
        elif cold is not None:
            record["cold"] = cold
            if cold["verdict"] == "fail":
                problem = joined(problem, cold_message(cold, subject), "\n")
        return problem


def look_up_base(
    job: OnnxJob, settings: Settings, ref: str
) -> tuple[BaseModel | None, RevisionEntry | str | None]:
    """The model of ``job`` at its base revision ``ref`` (``--sla-compare-ref``, or
    ``--sla-compare-dir``'s folder), when its file changed: (it, None); else (None, what
    the record says instead: not comparable, unchanged or new, or why it could not be
    looked up). Cheap (a ``git show`` of the model file; its data files' blobs compared,
    read only when they changed): done first, so no time is kept for a comparison that
    will not run."""
    from .gitref import GitRefError, base_in_folder, base_model
    from .revision import not_compared

    model = job.model
    if not isinstance(model, (str, os.PathLike)):
        return None, not_compared(ref, "not comparable")
    try:
        if settings.compare_dir:
            base = base_in_folder(os.fspath(model), settings.compare_dir)
        else:
            base = base_model(os.fspath(model), ref)
    except GitRefError as exc:
        return None, str(exc)
    if base.status != "changed" or base.data is None:
        return None, not_compared(ref, base.status, base.base_sha256)
    return base, None


def revision(
    job: OnnxJob,
    timing: Timing | str,
    settings: Settings,
    ref: str,
    base: BaseModel,
    runner: Callable[[], Runner],
) -> RevisionEntry | str:
    """The model of ``job`` measured side by side with ``base``, its changed model at
    ``ref`` (in a worker too, when ``runner`` makes an isolated one); a sentence when that
    cannot be done (``timing``, a sentence: no time left for it)."""
    from . import ort
    from .isolate import IsolationError
    from .runner import Against, ModelRunError, Refused

    if isinstance(timing, str):
        return f"measuring side by side with {ref} was left out: {timing}"
    assert base.data is not None
    data, folder = base.data, None

    def named(problem: object) -> str:
        """``problem`` as a sentence naming the base's files as git does, ``main:models/
        m.onnx``, not by the temporary folder they were written to (``/tmp/sla-base-...``):
        the model and every data file beside it."""
        text = str(problem)
        if folder is not None:
            # (The repository's path, not the test's: an absolute or ../ path read
            # "main:/tmp/proj/models/m.onnx" in a review.)
            where = posixpath.dirname(base.name)
            text = text.replace(folder + os.sep, f"{ref}:{where}/" if where else f"{ref}:")
        return text

    try:
        if base.external and isinstance(data, bytes):
            # Its external data files beside it, so that the base reads its own weights.
            folder = tempfile.mkdtemp(prefix="sla-base-")
            model = job.model
            path = os.fspath(model) if isinstance(model, (str, os.PathLike)) else "model.onnx"
            # (The base's own name: a renamed model's read "main:served/new.onnx".)
            name = posixpath.basename(base.name) or os.path.basename(str(path))
            data = _beside(folder, name, data, base.external)
        against = Against(
            ref=ref,
            data=data,
            sha256=base.base_sha256,
            confidence=settings.confidence,
            delta=settings.max_regression or 0.05,
            gated=settings.max_regression is not None,
        )
        return runner().compare(job, against, timing)
    except (IsolationError, ort.ProviderUnavailableError) as exc:  # (before its base class)
        return f"measuring side by side with {ref} failed: {named(exc)}"
    except (ort.OnnxInputError, ModelRunError, Refused) as exc:
        return named(exc)  # the head's own measurement stands, and is recorded
    except OSError as exc:  # writing the base's files out
        return f"measuring side by side with {ref} failed: {named(exc)}"
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _beside(folder: str, name: str, data: bytes, external: tuple[tuple[str, bytes], ...]) -> str:
    """The model's ``data`` written to ``folder`` as ``name``, its external data files at
    their locations beside it: the path to load it from."""
    from .modelfiles import beside

    path = os.path.join(folder, name)
    for location, content in external:
        target = beside(path, location)  # (None: outside the folder, as nothing reads it)
        if target is None:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(content)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def advice(job: OnnxJob, request: AdviseRequest, timing: Timing, runner: Runner) -> Advice:
    """The advisor's finding for the model of ``job`` (or, from ``sla.compare()``, for the
    test's own variants of it), as ``request`` asks; a sentence in place of the variants
    when it cannot run (it never fails the test)."""
    from . import ort
    from .isolate import IsolationError
    from .runner import ModelRunError, Refused

    try:
        return runner.advise(job, request, timing)
    except (ort.OnnxInputError, ModelRunError, IsolationError, Refused) as exc:
        return {"sentence": f"the advisor could not run: {exc}", "variants": []}
