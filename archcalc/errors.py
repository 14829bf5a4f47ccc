"""Located diagnostics, the exceptions that carry them, and the exit codes.

Every problem archcalc finds in a spec ends up as a :class:`Diagnostic` with a file,
line and column, so that the command line can print ``PATH:LINE:COL: error: MESSAGE``
and pre-commit users can jump straight to the offending line. Exceptions are the
transport inside the library; only the CLI turns them into text and exit codes.
"""

from __future__ import annotations

import enum
import re
import reprlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class ExitCode(enum.IntEnum):
    """Process exit codes; pinned by DESIGN.md, relied on by CI and pre-commit."""

    #: Every spec is valid and every command succeeded.
    OK = 0
    #: At least one spec is invalid (parse, schema, expression or semantic error).
    INVALID = 1
    #: The command line itself is wrong (unknown option, missing argument...).
    USAGE = 2
    #: A plugin failed, or archcalc has a bug. Never caused by a spec alone.
    INTERNAL = 3


class Mark(NamedTuple):
    """A 1-based line and column in a source file.

    Records that every start-up creates are NamedTuples rather than frozen dataclasses:
    on CPython 3.11 a frozen dataclass compiles six methods when its class is created
    (~0.5 ms each class), a NamedTuple one; ``archcalc count`` creates dozens of them.
    """

    line: int
    column: int


#: Characters never printed as themselves: C0/C1 controls and DEL (terminal escapes, a
#: carriage return overwriting the line, a newline forging another one), line and paragraph
#: separators (str.splitlines breaks on them), bidirectional embeddings, overrides and
#: isolates (U+202A-202E, U+2066-2069: "Trojan Source" reordering), zero-width and other
#: invisible format characters, the BOM, and lone surrogates (a non-UTF-8 file name read
#: with surrogateescape, which would kill a strict UTF-8 stdout).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _escaped(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def safe(text: object, limit: int | None = None) -> str:
    """``text`` made safe to print anywhere: one line, no escapes, no hidden or reordered text.

    Every string that came from a spec, a config or a path goes through this before it is
    printed, by every command and in every format (it is what keeps ``PATH:LINE:COL:
    error: MESSAGE`` one honest line). Unsafe characters are shown as ``\\x1b`` /
    ``\\u202e``; with ``limit`` the result is also shortened to about that many characters.
    """
    string = text if isinstance(text, str) else str(text)
    if limit is not None and len(string) > limit:
        string = string[: max(limit - 3, 1)] + "..."
    if _UNSAFE.search(string) is None:
        return string
    return _UNSAFE.sub(lambda m: _escaped(m.group()), string)


def safe_text(text: str) -> str:
    """Several lines made safe: :func:`safe` on each, the line breaks themselves kept."""
    if _UNSAFE.search(text) is None:
        return text
    return "\n".join(safe(line) for line in text.split("\n"))


class SafeWriter:
    """A text stream that prints everything through :func:`safe_text`.

    The command line writes to these, so no spec-, config- or path-derived text reaches a
    terminal raw, whichever renderer (or click, echoing a bad option value) produced it;
    and a character the stream's encoding cannot hold (a strict ASCII stdout) is written
    as a backslash escape instead of killing the run midway.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        cleaned = safe_text(text)
        try:
            self._stream.write(cleaned)
        except UnicodeEncodeError:
            encoding = getattr(self._stream, "encoding", None) or "ascii"
            self._stream.write(cleaned.encode(encoding, "backslashreplace").decode(encoding))
        return len(text)

    def raw(self, text: str) -> None:
        """Write trusted text (a progress bar's carriage return) as it is."""
        self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


#: What a rule code looks like: capital letters, then digits (``S201``, ``T501``, ``LORA101``).
#: A plugin may use its own prefix; archcalc's own prefixes are listed in :mod:`archcalc.rules`.
CODE_PATTERN = re.compile(r"[A-Z]{1,12}[0-9]{1,4}")

#: The code of a diagnostic reported without one, by severity: a third-party family's or
#: layer type's check that predates rule codes keeps working and stays silenceable.
DEFAULT_CODES = {"error": "P901", "warning": "P902"}
#: The same for a layer type's ``report(message, warning=...)`` without ``code=``.
LAYER_DEFAULT_CODES = {"error": "P911", "warning": "P912"}


def check_code(code: str) -> str:
    """``code`` if it is a well-formed rule code; a ValueError (a plugin's bug) otherwise."""
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise ValueError(
            f"rule code '{shorten(code)}' is not capital letters followed by digits "
            "(such as T501 or MYPLUGIN101)"
        )
    return code


@dataclass(frozen=True)
class Diagnostic:
    """One problem, located in one file, with the rule code that names its kind.

    The code is what a ``# archcalc: ignore[CODE]`` comment and the README's rule table
    refer to; when a reporter gives none, the default for its severity is used.
    """

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"  # "error" or "warning"
    code: str = ""

    def __post_init__(self) -> None:
        # Keep the pinned one-line form whatever a file name or a quoted value holds:
        # every command and output format prints diagnostics, so escape them once here.
        object.__setattr__(self, "file", safe(self.file))
        object.__setattr__(self, "message", safe(self.message))
        code = self.code or DEFAULT_CODES.get(self.severity, DEFAULT_CODES["error"])
        object.__setattr__(self, "code", check_code(code))

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.message)

    def format(self) -> str:
        """The canonical one-line form, ``PATH:LINE:COL: error: MESSAGE [CODE]``."""
        return (
            f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message} [{self.code}]"
        )


class ArchcalcError(Exception):
    """Base class of every error archcalc raises on purpose."""


class SpecError(ArchcalcError):
    """A spec is invalid; carries one or more located diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class Unavailable(Exception):
    """A check read a value that is already reported wrong, so the check cannot run.

    Raised when a family's check reads such a value from ``spec.values`` or
    ``spec.exact()``; archcalc then skips that check (see
    :func:`archcalc.family.independent`) instead of adding an error that only restates
    the one already reported.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class UsageError(ArchcalcError):
    """The user asked for something that cannot be done (bad option value, unknown key)."""


class PluginError(ArchcalcError):
    """A plugin failed to load, raised inside a hook, or clashed with another plugin."""


#: Most diagnostics kept for one file; past it, one summary line (rule A003).
MAX_PER_FILE = 100


@dataclass
class DiagnosticSink:
    """Collects diagnostics for one file so that checks can report all problems, not the first."""

    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Problems past :data:`MAX_PER_FILE`: counted, not kept (one summary line says so).
    hidden: int = 0

    def error(self, mark: Mark | None, message: str, code: str | None = None) -> None:
        self.add(mark, message, "error", code)

    def warning(self, mark: Mark | None, message: str, code: str | None = None) -> None:
        self.add(mark, message, "warning", code)

    def add(self, mark: Mark | None, message: str, severity: str, code: str | None = None) -> None:
        """Record one problem; without ``code`` the default code of ``severity`` is used."""
        mark = mark or Mark(1, 1)
        if len(self.diagnostics) >= MAX_PER_FILE:
            # Bounded output: a file with 30,000 unknown keys gets 100 lines and a summary.
            self.hidden += 1
            if self.hidden == 1 or (severity == "error" and not self.errors[-1:]):
                summary = Diagnostic(
                    self.file,
                    mark.line,
                    mark.column,
                    f"more problems in this file not shown (stopped after {MAX_PER_FILE})",
                    "error" if severity == "error" else "warning",
                    "A003",
                )
                if self.hidden == 1:
                    self.diagnostics.append(summary)
                else:
                    self.diagnostics[-1] = summary
            return
        self.diagnostics.append(
            Diagnostic(self.file, mark.line, mark.column, message, severity, code or "")
        )

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise SpecError(self.diagnostics)


_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlong = 40


def shorten(value: object, limit: int = 60) -> str:
    """A bounded rendering for messages: large values from a spec are never echoed whole.

    Strings are shown as their text (callers quote them), anything else as a bounded repr.
    """
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 3] + "..."
    return _short.repr(value)
