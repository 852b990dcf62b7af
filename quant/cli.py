"""Checks of command-line inputs, shared by the workstation programs (quant.score, hw.build, eval.*).

A bad value gives one line, "error: <option> must be <rule>, not <value> (why)", on stderr and exit code 2,
never a traceback or a usage block: wrap `main` in `reports_input_errors` and parse with `CliParser`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import pickle
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

T = TypeVar("T")


class InputError(ValueError):
    """A command-line input a program cannot use; the message gives the rule, then the bad value."""


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors (a bad value, an unknown option) raise InputError instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def reports_input_errors(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """A program's `main` whose InputError ends as "error: <message>" on stderr and exit code 2."""
    @functools.wraps(main)
    def checked(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return checked


LOAD_ERRORS = (OSError, EOFError, ValueError, LookupError, TypeError, RuntimeError, pickle.UnpicklingError,
               zipfile.BadZipFile)


def _reason(exc: Exception) -> str:
    """One short line on why a file could not be loaded."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, EOFError):
        return "empty or truncated"
    first = re.split(r"\.\s+(?=[A-Z])", str(exc).strip().split("\n")[0])[0]  # its first sentence
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def load_input(option: str, rule: str, load: Callable[[Path], T], path: Path) -> T:
    """`load(path)`; a failure to read or parse it becomes InputError("<option> must be <rule>, not <path> (why)")."""
    try:
        return load(path)
    except LOAD_ERRORS as exc:
        raise InputError(f"{option} must be {rule}, not {path} ({_reason(exc)})") from exc


def number_rule(kind: Callable[[str], T], rule: str, ok: Callable[[T], bool]) -> Callable[[str], T]:
    """An argparse type: `kind(text)` where `ok` accepts it, else the error "must be <rule>, not <text>"."""
    def parse(text: str) -> T:
        with contextlib.suppress(ValueError):
            if ok(value := kind(text)):
                return value
        raise argparse.ArgumentTypeError(f"must be {rule}, not {text}")
    return parse


def path_rule(rule: str, problem: Callable[[Path], str | None]) -> Callable[[str], Path]:
    """An argparse type: the path, unless `problem` names what is wrong with it ("must be <rule>, not <path> (...)")."""
    def parse(text: str) -> Path:
        if why := problem(Path(text)):
            raise argparse.ArgumentTypeError(f"must be {rule}, not {text} ({why})")
        return Path(text)
    return parse


def folder_problem(path: Path) -> str | None:
    """What stops `path` from being, or becoming, a folder: itself or a parent being a file."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    return None if existing.is_dir() else f"{existing} is a file"


def _existing_folder_problem(path: Path) -> str | None:
    return None if path.is_dir() else "a file" if path.exists() else "no such folder"


def _existing_file_problem(path: Path) -> str | None:
    return None if path.is_file() else "a folder" if path.is_dir() else "no such file"


def _lfw_problem(path: Path) -> str | None:
    if why := _existing_folder_problem(path):
        return why
    missing = [name for name in ("pairs.txt", "images/") if not (path / name).exists()]
    return f"it has no {' and no '.join(missing)}" if missing else None


def _file_problem(path: Path) -> str | None:
    if path.is_dir():
        return "a folder"
    return None if path.parent.is_dir() else f"no folder {path.parent}"


LFW_RULE = "an LFW folder (pairs.txt and images/)"
positive_int = number_rule(int, "a positive integer", lambda v: v > 0)
non_negative_int = number_rule(int, "a non-negative integer", lambda v: v >= 0)
non_negative_number = number_rule(float, "a non-negative number", lambda v: math.isfinite(v) and v >= 0)
positive_number = number_rule(float, "a positive number", lambda v: math.isfinite(v) and v > 0)
input_folder = path_rule("an existing folder", _existing_folder_problem)
input_file = path_rule("an existing file", _existing_file_problem)
lfw_folder = path_rule(LFW_RULE, _lfw_problem)
output_folder = path_rule("a folder or a path where one can be made", folder_problem)
output_file = path_rule("a file path in an existing folder", _file_problem)
output_path = path_rule("a file path whose folder exists or can be made",
                        lambda p: "a folder" if p.is_dir() else folder_problem(p.parent))
