"""Fixtures shared by every test.

Each test starts from a clean plugin state: no cached registry (``archcalc.api`` keeps the
plugins of a process once loaded, and ``--plugin`` replaces them), no ``ARCHCALC_PLUGINS``,
and entry-point autoloading off, so the suite gives the same answers whether or not the
example plugins under ``plugins/`` are installed. Tests about autoloading turn it back on.
The entry-point cache (:mod:`archcalc.discovery`) lives in the session's temporary
directory, never in the user's cache.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import archcalc.api
from archcalc import discovery, suggest


@pytest.fixture(autouse=True)
def _clean_plugin_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    monkeypatch.delenv("ARCHCALC_PLUGINS", raising=False)
    monkeypatch.setenv("ARCHCALC_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv(discovery.ENV_CACHE_DIR, str(tmp_path_factory.getbasetemp() / "cache"))
    archcalc.api._default_registry = None
    discovery.clear_memo()
    suggest.reset()
    yield
    archcalc.api._default_registry = None
    discovery.clear_memo()
