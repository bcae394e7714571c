"""SessionOptions as plain values, so a session's settings can cross to another process.

``onnxruntime.SessionOptions`` does not pickle. :func:`to_fields` reads the settings that
change latency into a :class:`SessionFields` of plain values; :meth:`SessionFields.build`
makes an equal SessionOptions again (in the isolated worker). Duck-typed on the sending
side, so sending a model never imports onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SessionFields", "is_session_options", "to_fields"]

#: SessionOptions attributes carried to the worker (SessionOptions do not pickle).
_SESSION_FIELDS = (
    "intra_op_num_threads",
    "inter_op_num_threads",
    "execution_mode",
    "execution_order",
    "graph_optimization_level",
    "enable_cpu_mem_arena",
    "enable_mem_pattern",
    "enable_mem_reuse",
    "use_deterministic_compute",
    "use_per_session_threads",
    "enable_profiling",
    "profile_file_prefix",
    "optimized_model_filepath",
    "log_severity_level",
    "log_verbosity_level",
    "logid",
)
#: Enum-valued attributes: sent as int, rebuilt with the onnxruntime enum of this name.
_SESSION_ENUMS = {
    "execution_mode": "ExecutionMode",
    "execution_order": "ExecutionOrder",
    "graph_optimization_level": "GraphOptimizationLevel",
}
#: Session config entries carried when set. onnxruntime cannot list the entries that are
#: set, so only these known ones (those that change latency) travel.
_SESSION_CONFIG_KEYS = (
    "session.intra_op.allow_spinning",
    "session.inter_op.allow_spinning",
    "session.intra_op_thread_affinities",
    "session.set_denormal_as_zero",
    "session.disable_prepacking",
    "session.use_env_allocators",
    "session.use_device_allocator_for_initializers",
    "session.dynamic_block_base",
    "session.disable_cpu_ep_fallback",
    "session.disable_quant_qdq",
    "session.disable_aot_function_inlining",
    "session.enable_quant_qdq_cleanup",
    "session.qdq_matmulnbits_accuracy_level",
    "mlas.enable_gemm_fastmath_arm64_bfloat16",
)


@dataclass(frozen=True)
class SessionFields:
    """SessionOptions as plain values: attributes, and the session config entries set."""

    fields: tuple[tuple[str, Any], ...]
    config: tuple[tuple[str, str], ...]

    def build(self) -> Any:
        """An ``onnxruntime.SessionOptions`` with these settings."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        for name, value in self.fields:
            enum = _SESSION_ENUMS.get(name)
            setattr(options, name, getattr(onnxruntime, enum)(value) if enum else value)
        for key, value in self.config:
            options.add_session_config_entry(key, value)
        return options


def is_session_options(value: object) -> bool:
    # Duck-typed, so the parent need not import onnxruntime to send a model.
    return type(value).__name__ == "SessionOptions" and hasattr(value, "intra_op_num_threads")


def to_fields(options: Any) -> SessionFields:
    """The settings of a SessionOptions that change latency, as plain, picklable values."""
    fields = []
    for name in _SESSION_FIELDS:
        try:
            value = getattr(options, name)
        except (AttributeError, RuntimeError):  # an older or newer onnxruntime
            continue
        fields.append((name, int(value) if name in _SESSION_ENUMS else value))
    config = []
    for key in _SESSION_CONFIG_KEYS:
        try:
            config.append((key, str(options.get_session_config_entry(key))))
        except (AttributeError, RuntimeError):  # not set
            continue
    return SessionFields(tuple(fields), tuple(config))
