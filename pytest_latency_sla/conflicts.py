"""Settings that are fine alone but not together: the checks after resolution.

No pytest import. ``sources`` says where each value came from (the command line, an
ini file, the default), so a message names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .values import SettingError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .settings import Settings

__all__ = ["check_together"]


def check_together(settings: Settings, sources: Mapping[str, str]) -> Settings:
    """Settings that are fine alone but not together: a :class:`SettingError`; else the
    settings, as they are."""
    if settings.headroom < settings.tight_margin:
        raise SettingError(
            f"--sla-headroom / sla_headroom ({settings.headroom:g}, {sources['headroom']}) "
            f"must not be below --sla-tight-margin / sla_tight_margin "
            f"({settings.tight_margin:g}, {sources['tight_margin']})"
        )
    if settings.compare_ref and settings.compare_dir:
        raise SettingError(
            f"--sla-compare-ref ({sources['compare_ref']}) and --sla-compare-dir "
            f"({sources['compare_dir']}) both name a base to measure against; give one"
        )
    bases = settings.compare or settings.compare_ref or settings.compare_dir
    # A gate configured once, in a file, is for the runs that compare: a run that saves a
    # baseline on main, or compares nothing, has none to apply (the summary says so).
    typed = sources["max_regression"].startswith("from the command line")
    if settings.max_regression is not None and not bases and typed:
        raise SettingError(
            f"--sla-max-regression / sla_max_regression ({sources['max_regression']}) needs "
            "something to compare with: add --sla-compare-ref=REF (a git revision, e.g. "
            "origin/main), --sla-compare-dir=DIR (a checkout of the base) or "
            "--sla-compare=PATH (a JSON report recorded with --sla-save), or drop "
            "--sla-max-regression"
        )
    if settings.save and settings.disable:
        raise SettingError(
            f"--sla-save / sla_save ({sources['save']}) with --sla-disable / sla_disable "
            f"({sources['disable']}) would record a baseline of one untimed call per test; "
            "drop one of them"
        )
    return settings
