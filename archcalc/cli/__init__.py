"""The ``archcalc`` command line: parse, call the library, render. Nothing else lives here.

Each command is a module of this package registering itself on the shared ``app``; a new
command is a new module plus one import below.

Exit codes (pinned): 0 all good, 1 a spec is invalid, 2 usage error, 3 a plugin failed or
archcalc has a bug. No input prints a traceback: every failure becomes one located line.
"""

from __future__ import annotations

import sys

from archcalc.cli import (  # noqa: F401  (registration)
    count,
    diff,
    formula,
    import_hf,
    plugins,
    schema,
    size,
    solve,
    sweep,
    validate,
)
from archcalc.cli._app import _err, app
from archcalc.errors import ExitCode

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point; never lets a traceback escape."""
    try:
        app()
    except SystemExit:
        raise
    except BaseException as exc:  # pragma: no cover - last line of defence
        _err(f"archcalc: internal error (a bug, not your spec): {type(exc).__name__}: {exc}")
        sys.exit(int(ExitCode.INTERNAL))
