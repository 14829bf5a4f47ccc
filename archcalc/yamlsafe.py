"""Hardened loading of YAML specs that may come from an untrusted pull request.

archcalc runs in pre-commit hooks and CI on files that anyone can propose. Left to
itself, PyYAML turns such files into tracebacks (``IndexError`` on ``!!float ''``),
hangs (a FIFO), crashes (a 100 KB ``[[[[...`` segfaults the libyaml composer), memory
blow-ups ("billion laughs") or, more quietly, into values that other YAML tools read
differently (``yes``, ``010``, ``1:30``, duplicate keys). This module is the only place
where archcalc turns bytes into Python data, and it works in stages, each of which
bounds the work of the next:

1. bytes: size cap, byte order marks, strict UTF-8 with a located error;
2. characters: no control characters, tabs, bidi overrides or exotic line separators;
3. events: an iterative pass over ``yaml.parse`` limits documents, tags, nesting depth,
   node count and scalar length *before* anything recursive runs;
4. nodes: ``yaml.compose`` (safe once depth is bounded), then a memoised walk that bounds
   what aliases expand to and rejects recursive structures;
5. data: our own YAML 1.2 core-schema resolution (no PyYAML constructors), string-only
   unique ASCII keys, merge keys, and the line/column of every value and key.

Every failure is a :class:`~archcalc.errors.SpecError` with located diagnostics; no other
exception escapes :func:`load_bytes`, :func:`load_text` or :func:`load_path`.
"""

from __future__ import annotations

import codecs
import errno
import functools
import os
import re
import stat
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NoReturn

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from archcalc.errors import Diagnostic, Mark, SpecError, shorten

__all__ = [
    "LOADER",
    "MAX_ALIAS_EXPANSION",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_DIAGNOSTICS",
    "MAX_EVENTS",
    "MAX_EXPONENT",
    "MAX_INT_DIGITS",
    "MAX_MANTISSA_DIGITS",
    "MAX_SCALAR_CHARS",
    "Document",
    "load_bytes",
    "load_path",
    "load_text",
]

#: Largest spec file, in bytes. Specs are a few KB; anything near this is a mistake or an attack.
MAX_BYTES = 1 << 20
#: Deepest nesting of mappings and lists (the top-level mapping is level 1). Real specs use
#: fewer than 10; the libyaml composer crashes somewhere past 20 000.
MAX_DEPTH = 64
#: Most parser events (roughly: nodes) in one file; bounds the time spent after parsing.
MAX_EVENTS = 100_000
#: Longest scalar, in characters; keeps values and the messages that quote them small.
MAX_SCALAR_CHARS = 10_000
#: How many nodes aliases may add on top of the nodes written in the file. Aliases are
#: cheap to load but expand exponentially when walked ("billion laughs").
MAX_ALIAS_EXPANSION = 10_000
#: Most digits in an integer literal (decimal, hexadecimal or octal); about 100 bits.
MAX_INT_DIGITS = 30
#: Most digits in the mantissa of a decimal fraction literal such as ``1.25e-3``.
MAX_MANTISSA_DIGITS = 40
#: Largest magnitude of the exponent of a decimal fraction literal.
MAX_EXPONENT = 100
#: Most diagnostics reported for one file; the rest are summarised in one line.
MAX_DIAGNOSTICS = 20

#: The PyYAML loader class used for parsing and composing (never for constructing).
#: libyaml when available; tests and CI switch this hook to run both with the same limits.
LOADER: type[Any] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

SpecPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """A loaded spec: plain data plus where every value and key came from.

    The data holds only dict, list, str, int, :class:`~fractions.Fraction`, bool and
    None, so later stages never meet PyYAML types, dates, floats or shared (aliased)
    objects. The marks let every later error point at the line a user has to edit.
    """

    file: str
    data: dict[str, Any]
    marks: dict[SpecPath, Mark]
    key_marks: dict[SpecPath, Mark]
    #: Problems of single values, when loaded with ``recover=True``: the document is
    #: still usable and its other problems can be found (see :func:`load_bytes`).
    problems: tuple[Diagnostic, ...] = ()
    #: Paths of the values those problems are about: later stages say nothing about them.
    bad_paths: frozenset[SpecPath] = frozenset()
    #: The decoded text (for ``# archcalc: ignore[CODE]`` comments); "" when not from text.
    source: str = field(default="", repr=False, compare=False)

    def mark(self, path: Sequence[str | int]) -> Mark:
        """Where the value at ``path`` starts; a missing value points at its nearest parent."""
        key = tuple(path)
        while True:
            found = self.marks.get(key)
            if found is not None:
                return found
            if not key:
                return Mark(1, 1)
            key = key[:-1]

    def key_mark(self, path: Sequence[str | int]) -> Mark:
        """Where the key of a mapping entry starts, for messages about the key itself."""
        found = self.key_marks.get(tuple(path))
        return found if found is not None else self.mark(path)


# --------------------------------------------------------------------------- public API


def load_bytes(raw: bytes, file: str, recover: bool = False) -> Document:
    """Load one spec from bytes; the single entry point every other loader goes through.

    ``file`` is only used in diagnostics. Any exception that is not a deliberate
    :class:`SpecError` is a gap in the checks below; it still becomes a located
    diagnostic so that a hostile file can never produce a traceback.

    With ``recover``, problems confined to one value or key (``yes``, ``010``, a
    duplicate key) do not raise: the document comes back with them in ``problems`` and
    their paths in ``bad_paths``, so that ``validate`` reports the file's other problems
    in the same run. Problems with the file as a whole (encoding, syntax, bounds) raise.
    """
    try:
        return _load(bytes(raw), file, LOADER, recover)
    except SpecError:
        raise
    except Exception as exc:  # the contract: a Document or a SpecError, for any input
        raise _unexpected(file, exc) from exc


def load_text(text: str, file: str, recover: bool = False) -> Document:
    """Load a spec held in a string, with exactly the checks applied to files.

    Lone surrogates survive encoding (``surrogatepass``) so that the UTF-8 check
    reports them at their position instead of failing here without a location.
    """
    try:
        raw = text.encode("utf-8", "surrogatepass")
    except Exception as exc:  # e.g. not a str at all
        raise _unexpected(file, exc) from exc
    return load_bytes(raw, file, recover)


def load_path(
    path: str | os.PathLike[str], display: str | None = None, recover: bool = False
) -> Document:
    """Load a spec file, refusing anything but a regular file.

    Git stores symlinks, so a pull request can add ``model.yaml -> /proc/self/environ``;
    reading it would echo secrets into CI logs. FIFOs would hang the hook. Hence lstat,
    then an open that cannot follow links or block, then a re-check of what was opened.
    """
    name = _display_name(path, display)
    try:
        raw = _read_regular_file(path, name)
    except SpecError:
        raise
    except Exception as exc:  # same contract as load_bytes
        raise _unexpected(name, exc) from exc
    return load_bytes(raw, name, recover)


# --------------------------------------------------------------------------- diagnostics


class _Problems:
    """Collects located problems so that one run reports several, deduplicated and capped.

    Aliased nodes are converted once per place they are used, so the same problem can
    be found several times; it is reported once.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self._found: dict[tuple[int, int, str], str] = {}
        self._hidden: Mark | None = None
        #: Paths of the values the problems are about (those known), for ``recover``.
        self.bad_paths: set[SpecPath] = set()

    @property
    def full(self) -> bool:
        return len(self._found) >= MAX_DIAGNOSTICS

    @property
    def overflowed(self) -> bool:
        return self._hidden is not None

    def add(self, mark: Mark, message: str, code: str, path: SpecPath | None = None) -> None:
        if path is not None:
            self.bad_paths.add(path)
        key = (mark.line, mark.column, message)
        if key in self._found:
            return
        if self.full:
            self._hidden = self._hidden or mark
            return
        self._found[key] = code

    def fail(self, mark: Mark, message: str, code: str) -> NoReturn:
        self.add(mark, message, code)
        raise self.error()

    def raise_if_any(self) -> None:
        if self._found:
            raise self.error()

    def diagnostics(self) -> list[Diagnostic]:
        found = [
            Diagnostic(self.file, ln, col, msg, "error", code)
            for (ln, col, msg), code in self._found.items()
        ]
        if self._hidden is not None:
            found.append(
                Diagnostic(
                    self.file,
                    self._hidden.line,
                    self._hidden.column,
                    f"more problems not shown (stopped after {MAX_DIAGNOSTICS})",
                    "error",
                    "Y100",
                )
            )
        return found

    def error(self) -> SpecError:
        return SpecError(self.diagnostics())


def _unexpected(file: object, exc: BaseException) -> SpecError:
    """Turn a failure nobody anticipated into a diagnostic rather than a traceback."""
    reason = _clip(f"{type(exc).__name__}: {exc}".splitlines()[0], 120)
    return SpecError(
        [Diagnostic(str(file), 1, 1, f"could not read YAML: {reason}", "error", "Y100")]
    )


def _clip(text: str, limit: int) -> str:
    """Bound text taken from PyYAML or the OS, which may quote parts of the input."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quoted(text: str) -> str:
    """Quote spec text for a one-line message: bounded, with invisible characters escaped.

    Quoted YAML scalars can hold newlines or bidi controls (``"a\\nb"``); echoed raw
    they would break the ``PATH:LINE:COL: message`` line or disguise it.
    """
    short = shorten(text)
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in short)
    return f"'{shown}'"


def _node_mark(node: Node) -> Mark:
    return _yaml_mark(node.start_mark)


def _yaml_mark(mark: Any) -> Mark:
    """PyYAML marks are 0-based; ours are 1-based like every editor."""
    return Mark(mark.line + 1, mark.column + 1)


# --------------------------------------------------------------------------- files


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)

_START = Mark(1, 1)


def _display_name(path: object, display: str | None) -> str:
    if display is not None:
        return str(display)
    try:
        return os.fsdecode(path)  # type: ignore[arg-type]
    except Exception:  # not a path at all; the open below reports it
        return repr(path)


#: Why a link that :func:`link_target` will not follow is refused.
LINK_OUTSIDE = (
    "is a symbolic link to a file outside its folder; archcalc follows links only within "
    "the folder (or a Hugging Face cache snapshot's repo): pass the file itself"
)


def link_target(path: str | os.PathLike[str]) -> str | None:
    """The file the symbolic link ``path`` leads to, when archcalc may follow it; else None.

    Hugging Face cache snapshots, the most common layout of a downloaded model, are
    folders of links into the repo's ``blobs/`` (``models--X/snapshots/<sha>/config.json
    -> ../../blobs/<hash>``). So a config or checkpoint file may be a link whose target
    stays inside the link's own folder or, in a snapshot, inside that repo's cache folder;
    a link anywhere else (``config.json -> /proc/self/environ`` in a pull request) is
    refused before anything is opened. Specs never follow links.
    """
    from pathlib import Path  # configs only: kept off a spec's start-up

    folder = Path(os.path.realpath(os.path.dirname(os.path.abspath(path))))
    root = folder.parent.parent if folder.parent.name == "snapshots" else folder
    target = Path(os.path.realpath(path))
    return str(target) if target.is_relative_to(root) else None


def _read_regular_file(
    path: str | os.PathLike[str], name: str, follow_links: bool = False
) -> bytes:
    """Read at most ``MAX_BYTES + 1`` bytes of a regular file, or fail with a clear reason.

    With ``follow_links`` (configs, not specs) a link :func:`link_target` allows is read
    as its target.
    """
    problems = _Problems(name)
    try:
        before = os.lstat(path)
        if follow_links and stat.S_ISLNK(before.st_mode):
            target = link_target(path)
            if target is None:
                problems.fail(_START, LINK_OUTSIDE, "Y101")
            path = target
            before = os.lstat(path)
    except OSError as exc:
        problems.fail(_START, _os_error_message(exc), "Y101")
    except ValueError as exc:  # e.g. an embedded NUL byte
        problems.fail(_START, f"cannot read file: invalid path ({_clip(str(exc), 60)})", "Y101")
    _require_regular(before, problems)
    flags = os.O_RDONLY
    for extra in ("O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, extra, 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        problems.fail(_START, _os_error_message(exc), "Y101")
    try:
        after = os.fstat(fd)
        _require_regular(after, problems)
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            problems.fail(_START, "file was replaced while it was being opened; run again", "Y101")
        raw = _read_at_most(fd, MAX_BYTES + 1)
    except OSError as exc:
        problems.fail(_START, _os_error_message(exc), "Y101")
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        problems.fail(_START, _too_large_message(), "Y101")
    return raw


def _require_regular(st: os.stat_result, problems: _Problems) -> None:
    if stat.S_ISLNK(st.st_mode):
        problems.fail(_START, "is a symbolic link; archcalc only reads regular files", "Y101")
    if stat.S_ISREG(st.st_mode):
        return
    kind = next((name for test, name in _FILE_KINDS if test(st.st_mode)), "a special file")
    problems.fail(
        _START, f"is {kind}, not a regular file; archcalc only reads regular files", "Y101"
    )


def _read_at_most(fd: int, limit: int) -> bytes:
    """``os.read`` may return less than asked even before the end; loop until done."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _os_error_message(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "file not found"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link; archcalc only reads regular files"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot read file: permission denied"
    reason = exc.strerror or type(exc).__name__
    return f"cannot read file: {_clip(reason, 80)}"


def _too_large_message() -> str:
    return f"file is larger than 1 MiB ({MAX_BYTES} bytes); archcalc does not read specs this large"


# --------------------------------------------------------------------------- bytes to text

_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16 LE, which is its prefix
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)

#: Characters no spec needs and that PyYAML or editors treat inconsistently. Tabs: the pure
#: and libyaml loaders disagree (``a:<TAB>1``), so we pick one behaviour. U+2028/2029 are line
#: breaks to YAML but not to most editors, so line numbers would disagree. Bidi controls can
#: make a file display differently from how it parses ("Trojan Source", CVE-2021-42574).
_FORBIDDEN_CHARS = re.compile(
    r"[\x00-\x08\t\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)


def _decode(raw: bytes, problems: _Problems) -> str:
    """Decode strictly ourselves: PyYAML's own decoding guesses encodings and its errors
    differ between loaders."""
    if len(raw) > MAX_BYTES:
        problems.fail(_START, _too_large_message(), "Y101")
    for bom, name in _FOREIGN_BOMS:
        if raw.startswith(bom):
            problems.fail(
                _START,
                f"file must be UTF-8, but it starts with a {name} byte order mark; "
                "save it as UTF-8",
                "Y102",
            )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.fail(
            _byte_position(raw, exc.start),
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
            "Y102",
        )


def _byte_position(raw: bytes, index: int) -> Mark:
    """Line and character column of a byte offset; the bytes before it are valid UTF-8."""
    line = 1 + raw.count(b"\n", 0, index) + raw.count(b"\r", 0, index)
    line -= raw.count(b"\r\n", 0, index)
    start = max(raw.rfind(b"\n", 0, index), raw.rfind(b"\r", 0, index)) + 1
    column = len(raw[start:index].decode("utf-8", "replace")) + 1
    return Mark(line, column)


def _text_position(text: str, index: int) -> Mark:
    """Line and column of a character, counting CRLF, CR and LF as one break like YAML."""
    line = 1 + text.count("\n", 0, index) + text.count("\r", 0, index)
    line -= text.count("\r\n", 0, index)
    start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    return Mark(line, index - start + 1)


def _check_characters(text: str, problems: _Problems) -> None:
    for match in _FORBIDDEN_CHARS.finditer(text):
        mark = _text_position(text, match.start())
        problems.add(mark, _character_message(match.group()), "Y103")
        if problems.overflowed:  # a binary file has a million of these
            break
    problems.raise_if_any()


def _character_message(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char == "\t":
        return "tab character: YAML specs are indented with spaces; replace it with spaces"
    if char == "\x00":
        return "NUL character (U+0000) is not allowed; is this a binary file?"
    if char in "\u2028\u2029":
        kind = "line" if char == "\u2028" else "paragraph"
        return f"Unicode {kind} separator {code} is not allowed; use an ordinary newline"
    if char == "\ufeff":
        return "byte order mark (U+FEFF) is only allowed at the very start of the file"
    if char in "\ufffe\uffff":
        return f"non-character {code} is not allowed"
    if "\u202a" <= char <= "\u2069":
        return (
            f"invisible bidirectional control character {code} is not allowed: it makes "
            "the text display differently from how it is read; delete it"
        )
    return f"control character {code} is not allowed; delete it"


# --------------------------------------------------------------------------- event scan


class _Scan:
    """What the event scan learned that later stages need (a plain class: filled in by
    one loop, never compared, and cheaper to create at import than a dataclass)."""

    __slots__ = ("documents", "first_alias")

    def __init__(self) -> None:
        self.documents = 0
        self.first_alias: Mark | None = None


def _scan_events(text: str, loader: type[Any], problems: _Problems) -> _Scan:
    """Check the stream before anything recursive sees it.

    libyaml's event parser and PyYAML's pure parser are both iterative, so counting
    here is safe for any input, whereas the composers recurse once per nesting level
    (RecursionError in Python, a segfault in C). Structural limits stop the scan at
    once; tags and long scalars are collected so that one run shows all of them.
    The loop runs up to :data:`MAX_EVENTS` times, so marks are only built on demand.
    """
    scan = _Scan()
    depth = 0
    anchors: set[str] = set()
    events: Iterator[Event] = yaml.parse(text, Loader=loader)
    try:
        for count, event in enumerate(events, start=1):
            if count > MAX_EVENTS:
                problems.fail(_event_mark(event), _too_many_message(), "Y105")
            kind = type(event)
            if kind is ScalarEvent:
                if (
                    event.tag is not None
                    or event.anchor is not None
                    or (len(event.value) > MAX_SCALAR_CHARS)
                ):
                    _check_node_event(event, scan, anchors, problems)
            elif kind in _COLLECTION_STARTS:
                depth += 1
                if depth > MAX_DEPTH:
                    problems.fail(_event_mark(event), _too_deep_message(), "Y105")
                if event.tag is not None or event.anchor is not None:
                    _check_node_event(event, scan, anchors, problems)
            elif kind in _COLLECTION_ENDS:
                depth -= 1
            elif kind is AliasEvent:
                _check_node_event(event, scan, anchors, problems)
            elif kind is DocumentStartEvent:
                scan.documents += 1
                if scan.documents > 1:
                    problems.fail(_event_mark(event), _SECOND_DOCUMENT, "Y106")
    except yaml.YAMLError as exc:
        problems.fail(*_syntax_error(exc))
    finally:
        events.close()  # type: ignore[attr-defined]
    problems.raise_if_any()
    return scan


_COLLECTION_STARTS = (MappingStartEvent, SequenceStartEvent)
_COLLECTION_ENDS = (MappingEndEvent, SequenceEndEvent)
_SECOND_DOCUMENT = (
    "multiple YAML documents are not allowed: a spec is one document; "
    "remove this '---' and what follows, or move it to its own file"
)


def _too_many_message() -> str:
    return f"too many YAML nodes (more than {MAX_EVENTS}); split the spec"


def _too_deep_message() -> str:
    return f"nesting deeper than {MAX_DEPTH} levels"


def _event_mark(event: Event) -> Mark:
    return _yaml_mark(event.start_mark)


def _check_node_event(
    event: NodeEvent, scan: _Scan, anchors: set[str], problems: _Problems
) -> None:
    """Per-node checks: tags, scalar size and aliases that point nowhere."""
    mark = _event_mark(event)
    if isinstance(event, AliasEvent):
        if event.anchor not in anchors:
            problems.add(
                mark,
                f"alias *{_clip(str(event.anchor), 60)} refers to an anchor that is not "
                "defined before it; define &name first",
                "Y104",
            )
        scan.first_alias = scan.first_alias or mark
        return
    if event.anchor is not None:
        anchors.add(event.anchor)
    tag = getattr(event, "tag", None)
    if tag is not None:
        problems.add(
            mark,
            f"explicit YAML tags are not allowed (found {_quoted(_tag_as_written(tag))}); "
            "remove the tag, and quote the value if it is meant as text",
            "Y107",
        )
    if isinstance(event, ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
        problems.add(
            mark,
            f"scalar value too long ({len(event.value)} characters; at most {MAX_SCALAR_CHARS})",
            "Y105",
        )


def _tag_as_written(tag: str) -> str:
    """Show ``!!python/...`` as the user wrote it, not PyYAML's expanded URI."""
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag


def _syntax_error(exc: yaml.YAMLError) -> tuple[Mark, str, str]:
    """Locate a scanner/parser/composer error at the problem, like the user's editor would;
    with its code (Y104, or Y105 for flow collections nested too deeply: a bound, like
    every other depth)."""
    where = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    mark = _yaml_mark(where) if where is not None else _START
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, _FlowTooDeep) or problem == _LIBYAML_TOO_DEEP:
        return mark, _too_deep_message(), "Y105"
    message = f"YAML syntax error: {_clip(str(problem), 160)}"
    context = getattr(exc, "context", None)
    if context and len(str(context)) <= 60:
        message += f" ({context})"
    return mark, message, "Y104"


#: libyaml >= 0.2.5 stops at 1000 flow levels itself, before any event reaches us.
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"


class _FlowTooDeep(yaml.scanner.ScannerError):  # type: ignore[misc]  # PyYAML is untyped
    """Raised by the pure-Python scanner when flow collections nest too deeply."""


class _FlowDepthBound:
    """Stops PyYAML's pure-Python scanner at :data:`MAX_DEPTH` open ``[``/``{``.

    The scanner reads up to 1024 characters ahead to decide whether each ``[`` starts a
    simple key, keeping one candidate per flow level and rescanning them for every
    token; ``[[[[...`` therefore costs about half a second before the first event
    reaches the depth check. Flow depth never exceeds total depth, so refusing here
    never rejects a spec the event check would accept.
    """

    flow_level: int

    def fetch_flow_collection_start(self, token_class: type[Any]) -> None:
        if self.flow_level >= MAX_DEPTH:
            mark = self.get_mark()  # type: ignore[attr-defined]
            raise _FlowTooDeep(None, None, _too_deep_message(), mark)
        super().fetch_flow_collection_start(token_class)  # type: ignore[misc]


class _FlowColonLikeLibyaml:
    """Makes the pure-Python scanner refuse ``{a:}`` and ``[a:, b]`` as libyaml does.

    In flow context libyaml rejects a plain scalar followed by ``:`` and one of
    ``,?[]{}``, while the pure scanner reads the ``:`` as a value indicator. The same
    spec must not pass on a laptop without libyaml and fail in CI, so the pure side
    takes the stricter reading (quoted keys, ``{"a":}``, stay valid in both).
    """

    flow_level: int

    def scan_plain(self) -> Any:
        token = super().scan_plain()  # type: ignore[misc]
        if self.flow_level and self.peek() == ":" and self.peek(1) in ",?[]{}":  # type: ignore[attr-defined]
            raise yaml.scanner.ScannerError(
                "while scanning a plain scalar",
                token.start_mark,
                "found unexpected ':'",
                self.get_mark(),  # type: ignore[attr-defined]
            )
        return token


@functools.cache
def _bounded(loader: type[Any]) -> type[Any]:
    """The loader actually used: pure-Python loaders get the flow-depth bound and
    libyaml's reading of ``a:`` in flow context; libyaml has its own depth bound (see
    :data:`_LIBYAML_TOO_DEEP`) and cannot be subclassed that way."""
    if not issubclass(loader, yaml.scanner.Scanner):
        return loader
    return type(f"_Bounded{loader.__name__}", (_FlowDepthBound, _FlowColonLikeLibyaml, loader), {})


# --------------------------------------------------------------------------- node graph


def _compose(text: str, loader: type[Any], problems: _Problems) -> Node | None:
    """Build the node graph; depth is already bounded, so the recursive composers are safe."""
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        problems.fail(*_syntax_error(exc))


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_graph(root: Node, scan: _Scan, problems: _Problems) -> None:
    """Bound what aliases expand to, without expanding them.

    Each distinct node is visited once (memoised by identity), so a 500-byte "billion
    laughs" is measured in microseconds. Sizes saturate at a ceiling to keep the
    arithmetic small. The walk is iterative; the collections that are open (entered,
    not finished) are exactly the ancestors of the one on top of the stack, so
    meeting one of them again means an alias refers to a collection containing it.
    """
    ceiling = MAX_EVENTS + MAX_ALIAS_EXPANSION + 1
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_ids: set[int] = set()
    stack: list[Node] = [] if isinstance(root, ScalarNode) else [root]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in size:
            stack.pop()
            continue
        kids = _children(node)
        if key not in open_ids:
            open_ids.add(key)
            if _push_unsized(kids, stack, size, depth, open_ids):
                continue
        stack.pop()
        open_ids.discard(key)
        size[key] = min(ceiling, 1 + sum(size[id(kid)] for kid in kids))
        depth[key] = 1 + max((depth[id(kid)] for kid in kids), default=0)
        if depth[key] > MAX_DEPTH:
            problems.fail(
                _node_mark(node),
                f"{_too_deep_message()} (counting what aliases refer to)",
                "Y105",
            )
    if isinstance(root, ScalarNode):
        return
    if size[id(root)] - len(size) > MAX_ALIAS_EXPANSION:
        problems.fail(
            scan.first_alias or _node_mark(root),
            f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} nodes; "
            "write the repeated parts out, or alias fewer or smaller nodes",
            "Y105",
        )


def _push_unsized(
    kids: list[Node],
    stack: list[Node],
    size: dict[int, int],
    depth: dict[int, int],
    open_ids: set[int],
) -> bool:
    """Size scalar children at once and queue unsized collections; True if any was queued."""
    queued = False
    for kid in kids:
        kid_key = id(kid)
        if kid_key in size:
            continue
        if isinstance(kid, ScalarNode):
            size[kid_key] = 1
            depth[kid_key] = 0
            continue
        if kid_key in open_ids:
            raise _Recursive(kid)
        stack.append(kid)
        queued = True
    return queued


class _Recursive(Exception):
    """An alias inside the collection it refers to; carries the collection for its mark."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node


# --------------------------------------------------------------------------- scalars


class _ScalarError(ValueError):
    """A plain scalar that different YAML tools would read differently, or that is too big."""

    def __init__(self, message: str, code: str = "Y110") -> None:
        super().__init__(message)
        #: Y110 read differently by YAML tools, Y111 a number literal out of range.
        self.code = code


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_YAML11_BOOLS = frozenset({"yes", "no", "on", "off", "y", "n"})
_YAML11_BOOL_MESSAGE = (
    "{} is read as a boolean by some YAML tools and a string by others; "
    "write true or false, or quote it"
)
#: Every number form, YAML 1.1 or 1.2, starts with one of these.
_NUMBER_START = frozenset("0123456789+-.")
_DECIMAL_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_LEADING_ZERO_INT = re.compile(r"([-+]?)0+([0-9]+)")
_HEX_INT = re.compile(r"0x[0-9a-fA-F]+")
_OCT_INT = re.compile(r"0o[0-7]+")
_NON_FINITE = re.compile(r"[-+]?\.(?:inf|nan)", re.IGNORECASE)
_FLOAT = re.compile(r"([-+]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?[0-9]+))?")
#: PyYAML's YAML 1.1 int and float patterns (resolver.py), to spot 1.1-only number forms.
_YAML11_NUMBER = re.compile(
    r"""[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*""",
    re.VERBOSE,
)
_HINT_DIGITS = 40


def _resolve_plain(text: str) -> Any:
    """Read an unquoted scalar the YAML 1.2 core-schema way, or refuse if tools disagree.

    PyYAML implements YAML 1.1 (``yes`` is true, ``010`` is 8, ``1:30`` is 90), ruamel
    and most other ecosystems YAML 1.2. A spec must mean the same to a reviewer's tools
    and to archcalc, so forms read differently are errors that say how to write them
    unambiguously. Decimal fractions become exact :class:`Fraction` values: ``1.3`` is
    13/10, never the binary float nearest to it.
    """
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text[:1] not in _NUMBER_START:  # fast path: most scalars are names and words
        if text.lower() in _YAML11_BOOLS:
            raise _ScalarError(_YAML11_BOOL_MESSAGE.format(_quoted(text)))
        return text
    if _DECIMAL_INT.fullmatch(text):
        return int(_capped_digits(text, text.lstrip("+-")), 10)
    if _NON_FINITE.fullmatch(text):
        raise _ScalarError(
            f"non-finite number {_quoted(text)} is not allowed; use a finite number", "Y111"
        )
    if _HEX_INT.fullmatch(text):
        return int(_capped_digits(text, text[2:]), 16)
    if _OCT_INT.fullmatch(text):
        return int(_capped_digits(text, text[2:]), 8)
    leading_zero = _LEADING_ZERO_INT.fullmatch(text)
    if leading_zero:
        sign, digits = leading_zero.groups()
        raise _ScalarError(
            f"{_quoted(text)} has a leading zero, which YAML tools read differently "
            f"(octal, decimal or text); write {_hint(sign + digits)}, or quote it"
        )
    number = _FLOAT.fullmatch(text)
    if number and (number.group(2) or number.group(3)):
        return _exact_fraction(text, *number.groups())
    if _YAML11_NUMBER.fullmatch(text):
        raise _ScalarError(_yaml11_number_message(text))
    return text


def _capped_digits(text: str, digits: str) -> str:
    """Refuse huge literals before ``int()``: CPython raises ValueError past 4300 digits
    and hexadecimal has no such limit at all."""
    if len(digits) > MAX_INT_DIGITS:
        raise _ScalarError(
            f"integer literal too long ({len(digits)} digits; at most {MAX_INT_DIGITS})", "Y111"
        )
    return digits if text[:1] != "-" else "-" + digits


def _exact_fraction(
    text: str, sign: str, whole: str, fraction: str | None, exponent: str | None
) -> Fraction:
    fraction = fraction or ""
    digits = whole + fraction
    if len(digits) > MAX_MANTISSA_DIGITS:
        raise _ScalarError(
            f"number {_quoted(text)} has too many digits ({len(digits)}; "
            f"at most {MAX_MANTISSA_DIGITS})",
            "Y111",
        )
    exp_digits = (exponent or "0").lstrip("+-").lstrip("0") or "0"
    if len(exp_digits) > 3 or int(exp_digits) > MAX_EXPONENT:
        raise _ScalarError(
            f"the exponent of {_quoted(text)} is too large (at most {MAX_EXPONENT} either way)",
            "Y111",
        )
    scale = int(exponent or "0") - len(fraction)
    mantissa = int(digits or "0")
    value = Fraction(mantissa * 10**scale) if scale >= 0 else Fraction(mantissa, 10**-scale)
    return -value if sign == "-" else value


def _yaml11_number_message(text: str) -> str:
    """Explain a number form only YAML 1.1 knows, with the YAML 1.2 way to write it."""
    body = text.lstrip("+-")
    if "_" in text:
        cleaned = text.replace("_", "")
        fix = f"write {_hint(cleaned)}" if _is_plain_number(cleaned) else "remove them"
        return (
            f"{_quoted(text)}: underscores in numbers are read differently by different "
            f"YAML tools; {fix}, or quote it"
        )
    if ":" in text:
        return (
            f"{_quoted(text)} is read as a base-60 number by some YAML tools and as a string "
            "by others; quote it, or write the number it stands for"
        )
    if body.startswith("0b"):
        return (
            f"{_quoted(text)}: binary numbers are YAML 1.1 only and other tools read them as "
            f"text; write {_hint(_converted(text, 2))}, or quote it"
        )
    if body.startswith("0x"):
        return (
            f"{_quoted(text)}: a signed hexadecimal number is read as a number by some YAML "
            f"tools and as text by others; write {_hint(_converted(text, 16))}, or quote it"
        )
    return f"{_quoted(text)} is read as a number by some YAML tools and as text by others; quote it"


def _is_plain_number(text: str) -> bool:
    try:
        return not isinstance(_resolve_plain(text), str | bool | None)
    except _ScalarError:
        return False


def _converted(text: str, base: int) -> str:
    """The decimal spelling of a small 1.1-style literal, for the fix hint only."""
    sign = "-" if text.startswith("-") else ""
    digits = text.lstrip("+-")[2:]
    if not digits or len(digits) > MAX_INT_DIGITS * 4:
        return "a decimal number"
    return sign + str(int(digits, base))


def _hint(text: str) -> str:
    return text if len(text) <= _HINT_DIGITS else text[:_HINT_DIGITS] + "..."


def _kind(value: object) -> str:
    """How a value is described in messages; bool is tested before int on purpose."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, Fraction):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _node_kind(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    return "a scalar"


def _is_merge_key(node: Node) -> bool:
    return isinstance(node, ScalarNode) and not node.style and node.value == "<<"


# --------------------------------------------------------------------------- data


class _Builder:
    """Turns checked nodes into plain data and records where each value and key starts.

    Recursion is bounded by :data:`MAX_DEPTH`, which :func:`_check_graph` has enforced
    for the graph as expanded through aliases. Aliased nodes are copied per use, so the
    result is a tree and each path has its own marks.
    """

    def __init__(self, problems: _Problems, end: Mark) -> None:
        self.problems = problems
        self.end = end
        self.marks: dict[SpecPath, Mark] = {}
        self.key_marks: dict[SpecPath, Mark] = {}

    def value(self, node: Node, path: SpecPath, mark: Mark | None = None) -> Any:
        # A missing value at the very end of a file without a final newline is placed
        # past the end by libyaml but not by the pure parser; clamp so both agree.
        mark = mark or min(_node_mark(node), self.end)
        self.marks[path] = mark
        if isinstance(node, ScalarNode):
            return self.scalar(node, mark, path)
        if isinstance(node, SequenceNode):
            return [self.value(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.mapping(node, path)

    def scalar(self, node: ScalarNode, mark: Mark, path: SpecPath | None = None) -> Any:
        if node.style:  # quoted or block scalars are text, whatever they look like
            return node.value
        try:
            return _resolve_plain(node.value)
        except _ScalarError as exc:
            self.problems.add(mark, str(exc), exc.code, path)
            return node.value

    def mapping(self, node: MappingNode, path: SpecPath) -> dict[str, Any]:
        entries = self._entries(node)
        explicit = {entry[0] for entry in entries if entry[0] is not None}
        result: dict[str, Any] = {}
        for key, key_node, key_mark, value_node in entries:
            value_mark = _missing_value_mark(key_node, value_node)
            if key is None:
                self._merge(result, value_node, value_mark, path, explicit)
                continue
            child = (*path, key)
            self.key_marks[child] = key_mark
            result[key] = self.value(value_node, child, value_mark)
        return result

    def _entries(self, node: MappingNode) -> list[tuple[str | None, Node, Mark, Node]]:
        """Valid, unique keys (None for a merge key) with their marks and values.

        Problems with the other keys are recorded; their entries are left out.
        """
        first_line: dict[str, int] = {}
        entries: list[tuple[str | None, Node, Mark, Node]] = []
        for key_node, value_node in node.value:
            mark = _node_mark(key_node)
            merge = _is_merge_key(key_node)
            key = "<<" if merge else self._key(key_node, mark)
            if key is None:
                continue
            if key in first_line:
                self.problems.add(
                    mark,
                    f"duplicate key {_quoted(key)} (first defined on line {first_line[key]}); "
                    "remove or rename one of them",
                    "Y108",
                )
                continue
            first_line[key] = mark.line
            entries.append((None if merge else key, key_node, mark, value_node))
        return entries

    def _key(self, node: Node, mark: Mark) -> str | None:
        """Keys are strings: PyYAML would let ``1``, ``1.0`` and ``true`` collide or vanish."""
        if not isinstance(node, ScalarNode):
            self.problems.add(
                mark, f"mapping keys must be strings, found {_node_kind(node)}", "Y109"
            )
            return None
        key: str = node.value
        if not node.style:
            try:
                resolved = _resolve_plain(key)
            except _ScalarError as exc:
                self.problems.add(mark, str(exc), exc.code)
                return None
            if not isinstance(resolved, str):
                written = "the empty key" if not key else _quoted(key)
                self.problems.add(
                    mark,
                    f"mapping keys must be strings, but {written} is read as "
                    f"{_kind(resolved)}; quote it if it is meant as text",
                    "Y109",
                )
                return None
        if not key.isascii():
            self.problems.add(mark, _non_ascii_key_message(key), "Y109")
            return None
        return key

    def _merge(
        self,
        result: dict[str, Any],
        node: Node,
        mark: Mark | None,
        path: SpecPath,
        explicit: set[str],
    ) -> None:
        """``<<: *defaults`` / ``<<: [*a, *b]``: explicit keys win, then earlier sources."""
        for source in self._merge_sources(node, mark):
            scratch = _Builder(self.problems, self.end)
            data = scratch.mapping(source, path)
            taken = {key for key in data if key not in explicit and key not in result}
            for key in data:
                if key in taken:
                    result[key] = data[key]
            depth = len(path)
            for target, found in ((self.marks, scratch.marks), (self.key_marks, scratch.key_marks)):
                target.update((p, m) for p, m in found.items() if p[depth] in taken)

    def _merge_sources(self, node: Node, mark: Mark | None) -> list[MappingNode]:
        if isinstance(node, MappingNode):
            return [node]
        items = node.value if isinstance(node, SequenceNode) else [node]
        wrong = [item for item in items if not isinstance(item, MappingNode)]
        for item in wrong:
            item_mark = (mark if item is node else None) or _node_mark(item)
            found = _node_kind(item)
            if isinstance(item, ScalarNode):
                found = _kind(self.scalar(item, item_mark))
            self.problems.add(
                item_mark,
                "the value of a merge key '<<' must be a mapping or a list of mappings "
                f"(such as <<: *defaults), found {found}",
                "Y112",
            )
        return [] if wrong else list(items)


def _missing_value_mark(key_node: Node, value_node: Node) -> Mark | None:
    """Where to report a value that is not there (``a:``): right after its key.

    The parsers disagree about the position of such empty nodes in flow collections
    (after the ``:`` or at the next token), so neither is used.
    """
    start, end = value_node.start_mark, value_node.end_mark
    if (
        isinstance(value_node, ScalarNode)
        and not value_node.style
        and not value_node.value
        and (start.line, start.column) == (end.line, end.column)
    ):
        return _yaml_mark(key_node.end_mark)
    return None


def _non_ascii_key_message(key: str) -> str:
    char = next(ch for ch in key if not ch.isascii())
    name = unicodedata.name(char, "unnamed character")
    return (
        f"key {_quoted(key)} must be ASCII (it contains U+{ord(char):04X} {name}); "
        "look-alike letters make a different key, so retype it with ASCII characters"
    )


def _check_top_level(root: Node, problems: _Problems) -> None:
    if isinstance(root, MappingNode):
        return
    mark = _node_mark(root)
    if isinstance(root, SequenceNode):
        found = "a list"
    else:
        value = root.value if root.style else _resolve_top_scalar(root, problems)
        if value is None:
            problems.fail(mark, _EMPTY, "Y106")
        found = _kind(value)
    problems.fail(
        mark,
        f"the top level of a spec must be a mapping (key: value pairs), found {found}",
        "Y106",
    )


def _resolve_top_scalar(root: Node, problems: _Problems) -> Any:
    try:
        return _resolve_plain(root.value)
    except _ScalarError as exc:
        problems.fail(_node_mark(root), str(exc), exc.code)


_RECURSIVE = (
    "a YAML alias refers to a collection that contains it (a recursive structure); "
    "archcalc specs must be finite trees"
)
_EMPTY = "spec is empty: expected a mapping of key: value pairs"


# --------------------------------------------------------------------------- pipeline


def _load(raw: bytes, file: str, loader: type[Any], recover: bool = False) -> Document:
    """Bytes -> text -> checked events -> checked node graph -> plain data with marks."""
    problems = _Problems(file)
    loader = _bounded(loader)  # type: ignore[arg-type]  # a class is hashable
    text = _decode(raw, problems)
    _check_characters(text, problems)
    scan = _scan_events(text, loader, problems)
    if not scan.documents:
        problems.fail(_START, _EMPTY, "Y106")
    root = _compose(text, loader, problems)
    if root is None:
        problems.fail(_START, _EMPTY, "Y106")
    _check_top_level(root, problems)
    if scan.first_alias is not None:  # without aliases the events already proved it a small tree
        try:
            _check_graph(root, scan, problems)
        except _Recursive as exc:
            problems.fail(_node_mark(exc.node), _RECURSIVE, "Y105")
    builder = _Builder(problems, _text_position(text, len(text)))
    data = builder.value(root, ())
    # Every earlier stage raised on its problems; what is left concerns single values.
    if not recover:
        problems.raise_if_any()
    return Document(
        file=file,
        data=data,
        marks=builder.marks,
        key_marks=builder.key_marks,
        problems=tuple(problems.diagnostics()),
        bad_paths=frozenset(problems.bad_paths),
        source=text,
    )
