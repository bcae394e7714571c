"""Reports: each a pure function of :class:`~pytest_latency_sla.schema.SlaRecord` values."""
