"""The advisor's variants of an ONNX model, made: the int8 model (quantized once per model
file, in a process of its own), the session-option variants, the IO-binding call path,
or the test's own variants (``sla.compare()``); then timed beside the model and advised on
(``advise.advice_for``). ``runner.InProcess.advise`` runs it, here or in a worker.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import time
from typing import TYPE_CHECKING, Any, cast

from .modelfiles import identity_of_file
from .runner import prepare

if TYPE_CHECKING:
    from collections.abc import Callable

    from .advise import Variant
    from .ort import PreparedModel
    from .runner import AdviseRequest, OnnxJob, Timing
    from .schema import Advice

__all__ = ["advise_model"]


def advise_model(job: OnnxJob, request: AdviseRequest, timing: Timing) -> Advice:
    """Time the usual variants of ``job``'s model (or the test's own, ``request.own``)
    side by side with it, and advise."""
    from . import ort
    from .advise import Variant, advice_for
    from .isolate import IsolationError, WorkerTimeoutError
    from .isolate_onnx import run_quantize
    from .ort import variants as variants_module
    from .ort.options import SessionFields
    from .ort.variants import iobinding_call, option_variants

    options = job.session_options
    if isinstance(options, SessionFields):
        options = options.build()
        job = dataclasses.replace(job, session_options=options)  # built once, for all

    model_of = functools.partial(_prepared, job)

    source = ort.describe_model(job.model).source
    if source is None and not request.own:
        return {
            "sentence": "the advisor needs the model's path or bytes: an existing "
            "InferenceSession cannot be rebuilt with other options",
            "variants": [],
        }
    original = model_of(job.model)
    if request.own:
        lacking = [set(original.other_dims)]  # the dims= keys each model loaded lacks

        def load(model: object) -> PreparedModel:
            prepared = model_of(model)
            lacking.append(set(prepared.other_dims))
            return prepared

        own = [_variant(n, functools.partial(load, m), original) for n, m in request.own]
        advice = advice_for(original.call, own, request, timing)
        if nowhere := sorted(set.intersection(*lacking)):
            named = ", ".join(repr(key) for key in nowhere)
            advice["sentence"] = (
                f"dims= names {named}, which none of the compared models has (check the "
                f"spelling: an unnamed axis is input[axis]); {advice['sentence']}"
            )
        return advice
    assert source is not None
    variants: list[Variant] = []
    name = "int8 (dynamic)"
    quantize = variants_module.quantize_int8  # looked up now: a test may replace it
    key = _int8_key(source, quantize)
    made = _INT8.get(key)
    # Within a timeout around the test: half of what is left, and nothing kept of it.
    wait, until = request.quantize_timeout, request.until
    if until is not None:
        wait = min(wait, (until[0] - time.monotonic_ns()) / 2e9)
    if made is None and wait < 1.0 and until is not None:
        made = f"not made: {until[1]} left no time for the quantizer"
    elif made is None:
        try:
            made = run_quantize(source, wait, quantize)
        except WorkerTimeoutError:
            made = f"the quantizer did not finish in {wait:.3g} s"
        except IsolationError as exc:
            made = str(exc)
        if isinstance(made, bytes):
            made = variants_module.nothing_quantized(made) or made
        if isinstance(made, bytes) or wait == request.quantize_timeout:
            _INT8[key] = made
    if isinstance(made, bytes):
        quantized = made
        variants.append(_variant(name, functools.partial(model_of, quantized), original))
    else:
        variants.append(Variant(name, problem=made))
    for name, changed in option_variants(options):
        with_changed = dataclasses.replace(job, session_options=changed)
        variants.append(_variant(name, functools.partial(_prepared, with_changed), original))

    def bound() -> Callable[[], object]:
        prepared = prepare(job)
        return iobinding_call(prepared.session, prepared.feeds)

    variants.append(_variant("io binding", bound))
    return advice_for(original.call, variants, request, timing)


def _prepared(job: OnnxJob, model: object = None) -> PreparedModel:
    """``job``'s model (or ``model``, with the job's feeds and options), ready to run."""
    return cast("PreparedModel", prepare(job, model))


def _int8_key(source: bytes | str, quantize: Callable[..., object]) -> str:
    """What an int8 model made of ``source`` is kept by: the model's identity (a file's
    covers its external data: models that share an .onnx file and differ in their
    weights are quantized apart), and the quantizer."""
    from .ort.variants import model_bytes

    sha = identity_of_file(source) if isinstance(source, str) else None
    return (sha or hashlib.sha256(model_bytes(source)).hexdigest()) + f" {quantize.__qualname__}"


#: int8 models made in this process, by the original's identity (``modelfiles``): each model
#: file is quantized once per run (or the sentence saying why it could not be).
_INT8: dict[str, bytes | str] = {}


def _variant(name: str, make: Callable[[], Any], original: PreparedModel | None = None) -> Variant:
    """A variant whose session is made now (``make``: its prepared model, or the call that
    runs it); one onnxruntime refuses is a row with the reason (an int8 model without
    kernels for this CPU, an option not supported). A prepared model is compared with
    ``original``'s: how its inputs and outputs differ, and whether its time compares."""
    from . import ort
    from .advise import Variant
    from .ort.difference import variant_difference

    try:
        made = make()
    except ort.OnnxInputError as exc:
        fed = str(exc).startswith(("dims", "feeds"))  # loaded, but not fed as asked
        return Variant(name, problem=f"could not be {'fed' if fed else 'loaded'}: {exc}")
    if not isinstance(made, ort.PreparedModel):
        return Variant(name, call=made)
    found = None if original is None else variant_difference(original, made)
    if found is None:
        return Variant(name, call=made.call)
    return Variant(name, call=made.call, difference=found.sentence, comparable=found.comparable)
