"""Installed plugins' entry points, without reading every distribution on every run.

``importlib.metadata.entry_points()`` imports the email parser and opens the metadata of
every installed distribution: tens of milliseconds in an ML environment with hundreds of
them, on every ``archcalc`` start, to find the two or three that are plugins. This module
answers the same question from a small cache and rescans only when the environment
changed.

**Key.** A fingerprint of everything ``importlib.metadata`` would read: the ``sys.path``
entries in order, and in each directory the names of its ``*.dist-info`` and
``*.egg-info`` entries with the identity (inode, size, mtime in ns) of each one's
``entry_points.txt``; a ``sys.path`` entry that is a file (a zip or egg) by its own
identity. Installing, uninstalling or upgrading a distribution adds, removes or renames
a ``*-VERSION.dist-info`` folder; reinstalling rewrites its ``entry_points.txt``; editing
that file changes its mtime and usually its size. Each of these changes the fingerprint,
so a plugin installed a moment ago is seen by the very next run. Costs a directory
listing per ``sys.path`` entry and one ``stat`` per distribution, never a file read.

**Where.** One JSON file per interpreter in the user cache directory (``$ARCHCALC_CACHE_DIR``,
else ``$XDG_CACHE_HOME/archcalc``, ``~/.cache/archcalc``; ``~/Library/Caches`` on macOS,
``%LOCALAPPDATA%`` on Windows), never inside the environment, which may be read-only.
Written to a temporary file and moved into place with :func:`os.replace`, so concurrent
runs read the old or the new file, never half of one. A cache that cannot be read or
written (read-only home, a corrupt file, another version's format) is ignored: the run
scans as if there were no cache. ``ARCHCALC_NO_CACHE=1`` turns it off.

**When not.** A meta-path finder other than the standard one that can list distributions
(``find_distributions``) cannot be fingerprinted, so then every run scans.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zlib
from typing import Any, NamedTuple

ENV_CACHE_DIR = "ARCHCALC_CACHE_DIR"
ENV_NO_CACHE = "ARCHCALC_NO_CACHE"
#: Bumped when the file's layout changes; another format is a miss, not an error.
FORMAT = 2

_ENTRY_POINT = re.compile(r"^(?P<module>[\w.]+)\s*(?::\s*(?P<attr>[\w.]+)\s*)?(?:\[.*\]\s*)?$")


class EntryPoint(NamedTuple):
    """One entry point of an installed distribution (``importlib.metadata``'s fields)."""

    name: str
    value: str
    group: str
    dist: str
    version: str

    def load(self) -> Any:
        """Import the object the entry point names (``module`` or ``module:attr.attr``)."""
        import importlib

        match = _ENTRY_POINT.match(self.value)
        if match is None:
            raise ValueError(f"malformed entry point value {self.value!r}")
        obj: Any = importlib.import_module(match["module"])
        for attr in (match["attr"] or "").split(".") if match["attr"] else ():
            obj = getattr(obj, attr)
        return obj


#: Per process: scanning or reading the cache once is enough.
_MEMO: dict[str, tuple[EntryPoint, ...]] = {}
#: Work done, for tests that bound it (a count, not a clock): scans, cache hits.
stats = {"scans": 0, "hits": 0}


def entry_points(group: str) -> tuple[EntryPoint, ...]:
    """The entry points of ``group`` in every installed distribution, as a fresh scan finds them."""
    if group in _MEMO:
        return _MEMO[group]
    fingerprint = _fingerprint() if not os.environ.get(ENV_NO_CACHE) else None
    path = _cache_file() if fingerprint is not None else None
    entries = _read(path) if path is not None else []
    found = _lookup(entries, fingerprint, group)
    if found is None:
        found = _scan(group)
        if path is not None and fingerprint is not None:
            _write(path, fingerprint, group, found, entries)
    else:
        stats["hits"] += 1
    _MEMO[group] = found
    return found


def clear_memo() -> None:
    """Forget this process's answers (tests install and remove plugins mid-run)."""
    _MEMO.clear()


def _scan(group: str) -> tuple[EntryPoint, ...]:
    import importlib.metadata

    stats["scans"] += 1
    found = []
    for ep in importlib.metadata.entry_points(group=group):
        dist = ep.dist
        name = dist.name if dist is not None else "?"
        version = dist.version if dist is not None else "unknown"
        found.append(EntryPoint(ep.name, ep.value, ep.group, name or "?", version or "unknown"))
    return tuple(found)


def _fingerprint() -> str | None:
    """What ``importlib.metadata`` would read, as text, or None when it cannot be taken.

    The text itself is the key (a few kB even for hundreds of distributions): comparing
    it is cheaper than importing a hash function, and it cannot collide.
    """
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and hasattr(finder, "find_distributions"):
            return None
    parts: list[str] = [sys.version, sys.executable]
    for entry in sys.path:
        where = entry or "."
        parts.append(f"path {entry}")
        egg = where.lower().endswith(".egg")  # an unpacked egg keeps its metadata in EGG-INFO
        try:
            with os.scandir(where) as listing:
                found = sorted(
                    (e.name, e.is_dir())
                    for e in listing
                    if e.name.lower().endswith((".dist-info", ".egg-info"))
                    or (egg and e.name.lower() == "egg-info")
                )
        except NotADirectoryError:  # a zip or egg file: its own identity covers its contents
            parts.append(_identity(where))
            continue
        except OSError:
            parts.append("-")
            continue
        folder = where if where.endswith(os.sep) else where + os.sep  # cheaper than os.path.join
        for name, is_dir in found:
            target = f"{folder}{name}{os.sep}entry_points.txt" if is_dir else folder + name
            parts.append(f"{name}\t{_identity(target)}")
    return "\n".join(parts)


def _identity(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def cache_dir() -> str | None:
    """Where archcalc keeps its cache, or None when no location is known.

    Plain ``os.path`` strings: this runs on every start-up, and pathlib (with the
    urllib.parse and ipaddress it imports) would cost it more than the lookup itself.
    """
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return explicit
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return os.path.join(base, "archcalc", "Cache") if base else None
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", "archcalc") if home != "~" else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "archcalc")
    return os.path.join(home, ".cache", "archcalc") if home != "~" else None  # "~": no home


def _cache_file() -> str | None:
    """One file per interpreter (environment), so two environments never fight over it."""
    base = cache_dir()
    if base is None:
        return None
    owner = zlib.crc32(f"{sys.prefix}\0{sys.executable}".encode(errors="replace"))
    return os.path.join(base, f"entry-points-{owner:08x}.json")


_FIELDS = ("name", "value", "group", "dist", "version")
#: Fingerprints remembered per interpreter: ``archcalc`` and ``python -m archcalc`` from a
#: few directories see different ``sys.path`` lists, and should not evict each other.
MAX_ENTRIES = 8


def _read(path: str) -> list[dict[str, Any]]:
    """The cache file's entries; [] when it is missing, unreadable or another format."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.loads(handle.read())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return []
    entries = data.get("entries")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _lookup(
    entries: list[dict[str, Any]], fingerprint: str | None, group: str
) -> tuple[EntryPoint, ...] | None:
    for entry in entries:
        if entry.get("fingerprint") == fingerprint and entry.get("group") == group:
            try:
                return tuple(
                    EntryPoint(*(str(row[k]) for k in _FIELDS)) for row in entry["entry_points"]
                )
            except (KeyError, TypeError):
                return None
    return None


def _write(
    path: str,
    fingerprint: str,
    group: str,
    found: tuple[EntryPoint, ...],
    entries: list[dict[str, Any]],
) -> None:
    """Replace the cache file atomically; silently give up where it cannot be written.

    Two runs writing at once both succeed and the later file wins; an entry the other
    run added may be lost, which costs one scan later, never a wrong answer.
    """
    import tempfile

    new = {
        "fingerprint": fingerprint,
        "group": group,
        "entry_points": [{k: getattr(ep, k) for k in _FIELDS} for ep in found],
    }
    kept = [e for e in entries if (e.get("fingerprint"), e.get("group")) != (fingerprint, group)]
    data = {"format": FORMAT, "entries": [new, *kept][:MAX_ENTRIES]}
    try:
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry-points-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
