"""Which YAML files of a repository are archcalc specs.

pre-commit hands a hook every staged YAML file: CI workflows, docker-compose, Kubernetes
manifests, ``mkdocs.yml``, ``.pre-commit-config.yaml`` itself. Validating those as specs
fails a normal repository; validating only files that already say ``family:`` would miss
the very mistake a hook is for, a spec that lost its ``family``. The rule, in order:

1. a file under a **spec folder** (``--spec-dir models``) is a spec, whatever it holds;
2. a file with a top-level **``family:``** key is a spec;
3. a file whose **schema modeline** names archcalc's schema is a spec
   (``# yaml-language-server: $schema=...archcalc...``);
4. a file with **two or more top-level keys that are keys of an installed family**
   (``n_layers``, ``d_model``, ``vocab_size``, ``input``, ``layers``...) is a spec that
   lost its ``family`` (none of the other YAML a repository holds has such keys);
5. anything else is not a spec and is left alone.

The file is only read here (at most 1 MiB, never following a link or blocking on a
FIFO), never parsed: a non-spec may be YAML archcalc's strict loader refuses (a
workflow's ``on:`` key, a CloudFormation ``!Ref`` tag). Directories given on the command
line are searched recursively for ``*.yaml``/``*.yml`` files with the same rule, skipping
hidden files and folders (``.github``, ``.pre-commit-config.yaml``).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

#: Suffixes of the files searched for in a directory.
SUFFIXES = (".yaml", ".yml")
#: Folders never searched (besides hidden ones): they hold installed code, not specs.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "venv"})
#: Bytes read to decide; a spec is at most 1 MiB (yamlsafe.MAX_BYTES).
READ_LIMIT = 1 << 20
#: Keys that every family has or that say nothing about being a spec.
GENERIC_KEYS = frozenset({"name", "vars", "family"})

_FAMILY = re.compile(r"""^(?:family|"family"|'family')[ \t]*:(?:[ \t]|$)""", re.M)
_MODELINE = re.compile(r"#\s*yaml-language-server\s*:\s*\$schema=\S*archcalc", re.I)
_TOP_KEY = re.compile(
    r"""^(?:"([^"\n]*)"|'([^'\n]*)'|([A-Za-z_][\w.-]*))[ \t]*:(?:[ \t]|$)""", re.M
)


@dataclass(frozen=True)
class Found:
    """The specs among the given paths, and the YAML files left alone."""

    specs: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def spec_keys(families: Iterable[object]) -> frozenset[str]:
    """Top-level keys of the installed families (fields, groups and schema keys)."""
    keys: set[str] = set()
    for family in families:
        for item in getattr(family, "fields", ()):
            keys.add(item.name.split(".")[0])
        schema = getattr(family, "schema", {})
        if isinstance(schema, dict):
            keys.update(schema)
        keys.update(getattr(family, "required", ()))
    return frozenset(keys - GENERIC_KEYS)


def reason(text: str, keys: frozenset[str]) -> str | None:
    """Why ``text`` is a spec (rule 2, 3 or 4 above), or None when it is not one."""
    if _FAMILY.search(text):
        return "family key"
    if _MODELINE.search(text[:4096]):
        return "schema modeline"
    found = {next(g for g in m.groups() if g is not None) for m in _TOP_KEY.finditer(text)}
    if len(found & keys) >= 2:
        return "spec keys"
    return None


def _read_head(path: str) -> str | None:
    """The start of a regular file as text, or None (a link, a FIFO, unreadable)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, size = [], 0
        while size < READ_LIMIT:
            chunk = os.read(fd, READ_LIMIT - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def _under(path: str, folders: Sequence[str]) -> bool:
    absolute = os.path.abspath(path)
    return any(os.path.commonpath([absolute, folder]) == folder for folder in folders if folder)


def _walk(folder: str) -> Iterator[str]:
    """YAML files under ``folder``, sorted, skipping hidden and installed-code folders."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith(SUFFIXES) and not name.startswith("."):
                yield os.path.join(root, name)


def find_specs(
    paths: Sequence[str],
    keys: frozenset[str],
    only_specs: bool = False,
    spec_dirs: Sequence[str] = (),
) -> Found:
    """The spec files among ``paths``, in order, each once.

    A file named on the command line is checked as a spec unless ``only_specs`` (the
    pre-commit hook) asks for the rule; a directory is searched, always with the rule.
    """
    folders = [os.path.abspath(d) for d in spec_dirs]
    found = Found()
    seen: set[str] = set()
    for path in paths:
        named = not os.path.isdir(path)
        for candidate in [path] if named else _walk(path):
            if os.path.normpath(candidate) in seen:
                continue
            seen.add(os.path.normpath(candidate))
            if (named and not only_specs) or _under(candidate, folders):
                found.specs.append(candidate)
                continue
            text = _read_head(candidate)
            if text is None:  # not a regular file: only a spec folder's are reported
                found.skipped.append(candidate)
            elif reason(text, keys) is not None:
                found.specs.append(candidate)
            else:
                found.skipped.append(candidate)
    return found
