"""SARIF 2.1.0 output of ``archcalc validate``, for GitHub code scanning and other viewers.

One run, one result per diagnostic, one rule per code that occurs (documented codes
carry their meaning and fix from :mod:`archcalc.rules`; a plugin's own codes a generic
description). Paths are written as relative URIs against ``%SRCROOT%`` when they are
relative, which is what ``github/codeql-action/upload-sarif`` maps onto the repository;
plugin failures are tool execution notifications, and the invocation then did not
succeed. Strings come from :class:`~archcalc.errors.Diagnostic`, already escaped.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Sequence
from typing import Any

from archcalc.errors import Diagnostic

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/archcalc/archcalc"
RULES_URI = INFORMATION_URI + "#validation-rules"


def _uri(path: str) -> dict[str, str]:
    """An artifactLocation: a relative URI with forward slashes, or a file: URI."""
    if os.path.isabs(path):
        return {"uri": "file://" + urllib.parse.quote(path.replace(os.sep, "/"))}
    normal = os.path.normpath(path).replace(os.sep, "/")
    return {"uri": urllib.parse.quote(normal), "uriBaseId": "%SRCROOT%"}


def _rule(code: str) -> dict[str, Any]:
    from archcalc import rules

    documented = rules.rule(code)
    if documented is None:
        summary, fix, level = f"{code}: a rule of an installed plugin", "see the message", "error"
    else:
        summary, fix, level = documented.summary, documented.fix, documented.severity
    return {
        "id": code,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": summary[:1].upper() + summary[1:] + "."},
        "help": {"text": f"Fix: {fix}."},
        "helpUri": RULES_URI,
        "defaultConfiguration": {"level": level},
    }


def sarif_log(
    diagnostics: Sequence[Diagnostic],
    version: str,
    failures: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The SARIF log of one validate run; ``failures`` are (file, plugin error) pairs."""
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    results = [
        {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": "warning" if d.severity == "warning" else "error",
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _uri(d.file),
                        "region": {"startLine": max(d.line, 1), "startColumn": max(d.column, 1)},
                    }
                }
            ],
        }
        for d in diagnostics
    ]
    invocation: dict[str, Any] = {"executionSuccessful": not failures}
    if failures:
        invocation["toolExecutionNotifications"] = [
            {
                "level": "error",
                "message": {"text": message},
                "locations": [{"physicalLocation": {"artifactLocation": _uri(file)}}],
            }
            for file, message in failures
        ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "archcalc",
                        "version": version,
                        "semanticVersion": version,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(code) for code in codes],
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _srcroot()}},
                "results": results,
            }
        ],
    }


def _srcroot() -> str:
    """The working directory as a file: URI ending in '/', which relative paths are under."""
    cwd = os.getcwd().replace(os.sep, "/").rstrip("/") + "/"
    return "file://" + urllib.parse.quote(cwd if cwd.startswith("/") else "/" + cwd)
