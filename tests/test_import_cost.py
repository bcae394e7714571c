"""A suite without SLA tests pays next to nothing: no numpy, no onnxruntime."""

from __future__ import annotations

import pytest


def test_plain_suite_imports_neither_numpy_nor_onnxruntime(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_terminal_summary(terminalreporter):
            heavy = sorted(m for m in ("numpy", "onnxruntime") if m in sys.modules)
            terminalreporter.write_line(f"heavy modules: {heavy}")
        """
    )
    pytester.makepyfile(
        """
        def test_one():
            assert 1 + 1 == 2
        """
    )
    # A fresh interpreter: this test process has numpy loaded already.
    result = pytester.runpytest_subprocess("-p", "no:benchmark", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["heavy modules: []"])
    assert "latency-sla" in result.stdout.str()  # the plugin was loaded
