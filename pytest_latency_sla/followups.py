"""What may follow a measurement of an ONNX model in the same ``sla.onnx()`` call: the
side-by-side comparison with the model of a base revision (``--sla-compare-ref``).

No pytest: the fixture calls these and turns what they return into a record's fields
or a failure's sentence.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .runner import OnnxJob, Runner, Timing
    from .schema import RevisionEntry
    from .settings import Settings

__all__ = ["revision"]


def revision(
    job: OnnxJob, timing: Timing, settings: Settings, ref: str, runner: Callable[[], Runner]
) -> RevisionEntry | str:
    """The model of ``job`` against its base revision ``ref`` (``--sla-compare-ref``, or
    ``--sla-compare-dir``'s folder): measured side by side when its file changed (in a
    worker too, when ``runner`` makes an isolated one); a sentence when that cannot be
    done. An unavailable provider is raised, as for the head's own measurement."""
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
