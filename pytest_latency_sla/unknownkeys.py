"""Misspelt settings: configuration keys that look like this plugin's and are not.

pytest only warns of a key no plugin declared, and a misspelt ``sla_`` setting would
leave its default to decide every verdict. The keys are read once collection is over, as
pytest reads them, so that a conftest file collected late may still declare its own; the
controller reads them under pytest-xdist (its workers read the same configuration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .values import SettingError, refuse_unknown

if TYPE_CHECKING:
    from collections.abc import Collection, Generator

__all__ = ["UnknownKeys"]


class UnknownKeys:
    """A pytest plugin object: a usage error, once collection is over, for the ``sla_``
    keys of the configuration (the ini file, or ``-o``) that are none of ``known``."""

    def __init__(
        self, config: pytest.Config, known: Collection[str], source: str, overridden: set[str]
    ) -> None:
        self._config = config
        self._known = known
        self._source = source
        self._overridden = overridden

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self) -> Generator[None, object, object]:
        try:
            result = yield
        except pytest.PytestConfigWarning:
            # Under -W error, pytest's own warning of an unknown key raises (an
            # INTERNALERROR): a misspelt sla_ key still gets its sentence.
            self._refuse()
            raise
        self._refuse()
        return result

    def _refuse(self) -> None:
        if not hasattr(self._config, "workerinput"):
            try:
                refuse_unknown(self.unknown(), self._known, self._source, self._overridden)
            except SettingError as exc:
                raise pytest.UsageError(str(exc)) from None

    def unknown(self) -> set[str]:
        """The keys of the configuration that no plugin declared."""
        # pytest's own reading of the ini file (before 9.0 without -o's keys)...
        keys = set(getattr(self._config, "_get_unknown_ini_keys", set)())
        for key in self._overridden:  # ... and -o's, by pytest's public refusal
            try:
                self._config.getini(key)
            except ValueError:
                keys.add(key)
        return keys
