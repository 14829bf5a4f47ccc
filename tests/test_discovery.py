"""The entry-point cache: the same answer as a fresh scan, and a scan only when needed.

Work is bounded by counting scans and cache hits (``discovery.stats``), never by a clock.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archcalc import discovery
from tests.helpers import fake_distribution


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` where fake distributions are 'installed'."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv(discovery.ENV_CACHE_DIR, str(tmp_path / "cache"))
    monkeypatch.delenv(discovery.ENV_NO_CACHE, raising=False)
    yield folder


def fresh_run() -> dict[str, tuple[str, str, str]]:
    """What a new process would find among the fake distributions: name -> (value, dist,
    version). (Really installed plugins, such as the examples, are left out.)"""
    discovery.clear_memo()
    return {
        ep.name: (ep.value, ep.dist, ep.version)
        for ep in discovery.entry_points("archcalc")
        if ep.dist.startswith("plugin-")
    }


def counted(fn: Any) -> tuple[Any, dict[str, int]]:
    before = dict(discovery.stats)
    result = fn()
    return result, {k: discovery.stats[k] - before[k] for k in before}


def test_agrees_with_importlib_metadata(site: Path) -> None:
    fake_distribution(site, "plugin-a", {"a": "mod_a", "b": "mod_b:hooks.obj"})
    theirs = sorted(
        (ep.name, ep.value, ep.dist.name if ep.dist else "?", ep.dist.version if ep.dist else "")
        for ep in importlib.metadata.entry_points(group="archcalc")
    )
    for _ in range(2):  # the scan, then the cache
        discovery.clear_memo()
        ours = sorted(
            (e.name, e.value, e.dist, e.version) for e in discovery.entry_points("archcalc")
        )
        assert ours == theirs
    assert ("b", "mod_b:hooks.obj", "plugin-a", "1.0") in ours


def test_second_run_reads_the_cache(site: Path) -> None:
    fake_distribution(site, "plugin-a", {"a": "mod_a"})
    first, work = counted(fresh_run)
    assert work == {"scans": 1, "hits": 0}
    second, work = counted(fresh_run)
    assert work == {"scans": 0, "hits": 1}
    assert first == second == {"a": ("mod_a", "plugin-a", "1.0")}
    _, work = counted(lambda: discovery.entry_points("archcalc"))
    assert work == {"scans": 0, "hits": 0}  # within one process: remembered


def test_install_uninstall_upgrade_are_seen_at_once(site: Path) -> None:
    assert fresh_run() == {}
    old = fake_distribution(site, "plugin-a", {"a": "mod_a"})
    assert fresh_run() == {"a": ("mod_a", "plugin-a", "1.0")}
    fake_distribution(site, "plugin-b", {"b": "mod_b"})
    assert set(fresh_run()) == {"a", "b"}
    # Upgrade: pip removes the old dist-info and writes the new version's.
    for child in old.iterdir():
        child.unlink()
    old.rmdir()
    fake_distribution(site, "plugin-a", {"a": "mod_a_v2"}, version="2.0")
    assert fresh_run()["a"] == ("mod_a_v2", "plugin-a", "2.0")
    # Uninstall.
    for child in (site / "plugin_b-1.0.dist-info").iterdir():
        child.unlink()
    (site / "plugin_b-1.0.dist-info").rmdir()
    assert set(fresh_run()) == {"a"}


def test_entry_points_edited_in_place_are_seen(site: Path) -> None:
    folder = fake_distribution(site, "plugin-a", {"a": "mod_a"})
    assert fresh_run()["a"][0] == "mod_a"
    text = (folder / "entry_points.txt").read_text(encoding="utf-8")
    (folder / "entry_points.txt").write_text(text.replace("mod_a", "mod_z"), encoding="utf-8")
    stamp = os.stat(folder / "entry_points.txt").st_mtime_ns
    os.utime(folder / "entry_points.txt", ns=(stamp + 10**9, stamp + 10**9))  # coarse clocks
    assert fresh_run()["a"][0] == "mod_z"


def test_a_path_entry_added_later_is_seen(site: Path, tmp_path: Path, monkeypatch: Any) -> None:
    assert fresh_run() == {}
    other = tmp_path / "other"
    fake_distribution(other, "plugin-c", {"c": "mod_c"})
    monkeypatch.syspath_prepend(str(other))
    assert set(fresh_run()) == {"c"}


def test_unwritable_cache_still_gives_the_right_answer(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv(discovery.ENV_CACHE_DIR, str(blocker / "cache"))
    fake_distribution(site, "plugin-a", {"a": "mod_a"})
    for _ in range(2):
        result, work = counted(fresh_run)
        assert result == {"a": ("mod_a", "plugin-a", "1.0")}
        assert work == {"scans": 1, "hits": 0}


@pytest.mark.parametrize("content", ["{not json", "[]", '{"format": 999}', "\x00\xff"])
def test_a_corrupt_cache_is_rescanned_and_rewritten(site: Path, content: str) -> None:
    fake_distribution(site, "plugin-a", {"a": "mod_a"})
    fresh_run()
    [cache] = (site.parent / "cache").glob("entry-points-*.json")
    cache.write_text(content, encoding="utf-8", errors="surrogateescape")
    result, work = counted(fresh_run)
    assert result == {"a": ("mod_a", "plugin-a", "1.0")}
    assert work == {"scans": 1, "hits": 0}
    assert json.loads(cache.read_text(encoding="utf-8"))["format"] == discovery.FORMAT
    assert counted(fresh_run)[1] == {"scans": 0, "hits": 1}


def test_no_cache_variable_always_scans(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(discovery.ENV_NO_CACHE, "1")
    fake_distribution(site, "plugin-a", {"a": "mod_a"})
    for _ in range(2):
        assert counted(fresh_run)[1] == {"scans": 1, "hits": 0}
    assert not (site.parent / "cache").exists()


def test_a_finder_listing_distributions_disables_the_cache(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Finder:
        def find_spec(self, *args: Any) -> None:
            return None

        def find_distributions(self, *args: Any) -> list[Any]:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    for _ in range(2):
        assert counted(fresh_run)[1] == {"scans": 1, "hits": 0}


def test_entry_point_load_follows_attributes(site: Path, tmp_path: Path) -> None:
    (site / "ep_target_for_test.py").write_text("class hooks:\n    value = 42\n", encoding="utf-8")
    ep = discovery.EntryPoint("x", "ep_target_for_test:hooks.value", "archcalc", "d", "1")
    assert ep.load() == 42
    module = discovery.EntryPoint("x", "ep_target_for_test", "archcalc", "d", "1").load()
    assert module.hooks.value == 42
    with pytest.raises(ValueError, match="malformed"):
        discovery.EntryPoint("x", "not a module!", "archcalc", "d", "1").load()


WORKER = textwrap.dedent(
    """
    import sys
    from archcalc import discovery
    for i in range(int(sys.argv[2])):
        discovery.clear_memo()
        eps = discovery.entry_points("archcalc")
        found = sorted(ep.name for ep in eps if ep.dist.startswith("plugin-"))
        assert found == sys.argv[1].split(","), (found, sys.argv[1])
    """
)


def test_concurrent_runs_in_different_environments_share_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processes whose fingerprints differ race to rewrite one file; each stays right."""
    monkeypatch.setenv(discovery.ENV_CACHE_DIR, str(tmp_path / "cache"))
    monkeypatch.delenv(discovery.ENV_NO_CACHE, raising=False)
    procs = []
    for i in range(4):
        site = tmp_path / f"site{i}"
        names = [f"p{i}x{j}" for j in range(i + 1)]
        for name in names:
            fake_distribution(site, f"plugin-{name}", {name: "mod"})
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path[1:]])}
        cmd = [sys.executable, "-c", WORKER, ",".join(sorted(names)), "15"]
        procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    [cache] = (tmp_path / "cache").glob("entry-points-*.json")
    assert json.loads(cache.read_text(encoding="utf-8"))["format"] == discovery.FORMAT


def test_several_environments_views_are_kept(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`archcalc` and `python -m archcalc` see different sys.path lists: both stay cached."""
    fake_distribution(site, "plugin-a", {"a": "mod_a"})
    fresh_run()
    other = tmp_path / "cwd"
    other.mkdir()
    with monkeypatch.context() as patch:
        patch.syspath_prepend(str(other))
        assert counted(fresh_run)[1] == {"scans": 1, "hits": 0}
        assert counted(fresh_run)[1] == {"scans": 0, "hits": 1}
    assert counted(fresh_run)[1] == {"scans": 0, "hits": 1}
    for i in range(discovery.MAX_ENTRIES + 2):  # many more views: only the newest are kept
        with monkeypatch.context() as patch:
            patch.syspath_prepend(str(tmp_path / f"view{i}"))
            fresh_run()
    [cache] = (tmp_path / "cache").glob("entry-points-*.json")
    assert len(json.loads(cache.read_text(encoding="utf-8"))["entries"]) == discovery.MAX_ENTRIES
