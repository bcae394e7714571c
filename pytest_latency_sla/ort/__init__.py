"""The ONNX Runtime adapter: sessions, providers and feeds generated from a model's signature.

Knows nothing of pytest. ``onnxruntime`` is imported on first use, so a test suite that
never calls ``sla.onnx()`` never pays for it. Every problem with the user's input is an
:class:`OnnxInputError` whose message says what was wrong and how to fix it; the pytest
glue adds the test's name.

One concern a module, imports pointing one way (down this list):

- ``difference``: how a variant's inputs and outputs differ from the original's (the
  advisor's rows);
- ``session``: providers, the ``InferenceSession``, :func:`prepare` and :class:`PreparedModel`;
- ``options``: ``SessionOptions`` as plain values, to cross to another process;
- ``load_errors``: why onnxruntime refused to load a model;
- ``run_errors``: why a model raised when run (:func:`explain_run_error`), and which
  of two called side by side did (:func:`pair_run_error`);
- ``feeds``: feeds checked, or generated (:func:`random_feeds`);
- ``feed_files``: feeds read from files (a folder of ``input_<n>.pb`` files, a ``.npz``);
- ``signature``: ONNX element types, symbolic dimensions, input signatures;
- ``errors``: the exceptions, and one line of detail from any exception.
"""

from __future__ import annotations

from .errors import OnnxInputError, ProviderDroppedError, ProviderUnavailableError
from .feeds import FEED_SEED, random_feeds
from .run_errors import RUN_ERRORS, explain_run_error, pair_run_error
from .session import TIMED_API, ModelSource, PreparedModel, describe_model, prepare

__all__ = [
    "FEED_SEED",
    "RUN_ERRORS",
    "TIMED_API",
    "ModelSource",
    "OnnxInputError",
    "PreparedModel",
    "ProviderDroppedError",
    "ProviderUnavailableError",
    "describe_model",
    "explain_run_error",
    "pair_run_error",
    "prepare",
    "random_feeds",
]
