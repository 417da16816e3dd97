"""What every command module of the CLI shares: the one-line-error parsers, reading the CSV file a command
names and its format flags, the bundle a command names (:func:`resolve_bundle`: a folder, a zip or a run id),
the data-folder flag and store, the ``_guard`` that turns a UserError into one
line and exit code 2, ``--json`` output, number and time formatting, and :func:`run_cli` (a command module
run on its own, as the background worker and the sweep driver are).

The CLI's imports go one way: :mod:`.common` <- :mod:`.spec` <- :mod:`.runs`, :mod:`.sweeps`, :mod:`.serve` <- :mod:`.main`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from seqcore.errors import UserError

EXIT_USER = 2


# --------------------------------------------------------------------------- parsers

class _Parser(argparse.ArgumentParser):
    """A parser whose errors are one line on stderr and exit code 2 (the parser of :func:`run_cli`)."""

    def error(self, message):  # one line, exit 2
        self.exit(EXIT_USER, f"error: {message}\n")


class _HelpParser(argparse.ArgumentParser):
    """``python -m seqcore``'s parser: one line on stderr that also names ``--help``, and exit code 2."""

    def error(self, message):  # one line, exit 2
        self.exit(EXIT_USER, f"error: {message} (see '{self.prog} --help')\n")


def run_cli(prog: str, register, argv: list[str] | None = None) -> int:
    """Parse ``argv`` with a one-line-error parser named ``prog`` whose commands ``register(subparsers)``
    adds, and run the chosen command. Returns its exit code."""
    ap = _Parser(prog=prog)
    sub = ap.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True
    register(sub)
    args = ap.parse_args(argv)
    return args.func(args)


# --------------------------------------------------------------------------- input files

DATA_FILE_HELP = "the data: a CSV file, a Parquet file or an Excel workbook (.xlsx; --sheet picks the sheet)"


def _read_file(path: str, what: str = "data file", *, size_limit: bool = True) -> bytes:
    """The file's bytes; with ``size_limit`` a file over the upload limit is refused from its size, before
    it is read (:class:`~seqcore.errors.DataError`, the message the app gives)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"The {what} '{path}' does not exist or is not a file.")
    try:
        if size_limit:
            from seqcore.config import Limits
            from seqcore.data.io import check_byte_count

            check_byte_count(p.stat().st_size, p.name, Limits.from_env())
        return p.read_bytes()
    except OSError as err:
        raise UserError(f"The {what} '{path}' cannot be read ({err.strerror}).") from err


def resolve_bundle(path: str, scratch: Path, home: str | None = None) -> Path:
    """The bundle folder ``path`` names: a bundle zip (checked and unpacked into ``scratch``), a ``train --out``
    folder, a bundle folder or, when no such file or folder exists, a run id in the run store at ``home``.
    A UserError when it is none of these."""
    from seqcore.outputs.bundle import extract_bundle_zip
    from seqcore.runs.store.records import is_valid_run_id

    p = Path(path)
    if p.is_file() and p.suffix.lower() == ".zip":
        return extract_bundle_zip(_read_file(path, "bundle zip", size_limit=False), scratch / "bundle")
    if (p / "bundle" / "manifest.json").is_file():
        return p / "bundle"
    if (p / "manifest.json").is_file():
        return p
    if not p.exists() and is_valid_run_id(path):
        return _run_bundle(path, _home_path(home))
    raise UserError(f"'{path}' is not a model bundle (no manifest.json).",
                    hint="Give the folder written by 'train --out', its bundle/ folder, a downloaded bundle zip "
                         "or a run id ('runs list').")


def _run_bundle(run_id: str, where: Path) -> Path:
    """The bundle folder of run ``run_id`` in the run store in the data folder ``where``."""
    from seqcore.errors import BundleError
    from seqcore.runs.store.records import RunNotFound

    store = user_store(where) if (where / "store.sqlite").is_file() else None   # a typo creates no data folder
    try:
        if store is None:
            raise RunNotFound("no run store")
        rec = store.get_run(run_id)
    except RunNotFound as err:
        raise UserError(f"'{run_id}' is neither a model bundle (no such file or folder) nor a run in {where}.",
                        hint="Give the folder written by 'train --out', a bundle zip, or a run id from "
                             "'runs list' (--home for another data folder).") from err
    bundle = store.run_dir(rec.id) / "bundle"
    if not (bundle / "manifest.json").is_file():
        raise BundleError(f"Run {rec.id} ({rec.name}) has no saved model (status: {rec.status}).",
                          hint="Pick a finished or stopped training run.")
    return bundle


def _csv_options(args):
    from seqcore.data.io import CsvOptions

    return CsvOptions(encoding=args.encoding, delimiter=args.delimiter, decimal=args.decimal, thousands=args.thousands,
                      sheet=args.sheet)


def _add_csv_flags(p):
    g = p.add_argument_group("how the file is read (detected when not given)")
    g.add_argument("--encoding", help="CSV: text encoding, e.g. utf-8, utf-16, cp1252")
    g.add_argument("--delimiter", help="CSV: field separator: ',' ';' '|' or 'tab'")
    g.add_argument("--decimal", choices=[".", ","], help="CSV: decimal mark")
    g.add_argument("--thousands", help="CSV: thousands separator, or '' for none")
    g.add_argument("--sheet", metavar="NAME", help="Excel: the sheet to read (default: the first)")


# --------------------------------------------------------------------------- the data folder and commands

def _home_path(home: str | None) -> Path:
    """The data folder: ``--home`` when given, else ``$SEQSTUDIO_HOME`` or ``~/.seqstudio`` (not created)."""
    from seqcore.settings import default_home

    return Path(home).expanduser() if home else default_home()


#: Who the command acts as (``python -m seqcore --user NAME ...``): None, the local administrator.
ACTING_USER: list[str | None] = [None]


def user_store(home=None):
    """The run store at ``home`` as the acting user sees it (seqcore.auth: the local administrator by default,
    ``--user NAME`` exactly as that user in the app: another user's run is "not found")."""
    from seqcore.auth import cli_principal, migrate_local
    from seqcore.runs.store import RunStore

    store = RunStore(home)
    migrate_local(store)
    return store.for_user(cli_principal(ACTING_USER[0]))


def _store(args):
    return user_store(getattr(args, "home", None))


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USER


def _guard(fn):
    """Turn a UserError into one line on stderr and exit code 2."""
    def run(args) -> int:
        try:
            return int(fn(args) or 0)
        except UserError as e:
            return _fail(str(e))
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def _home_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="data folder (default: $SEQSTUDIO_HOME or ~/.seqstudio)")


def _action(subparsers, name: str, func, help: str, *, takes_id: bool = False,
            with_json: bool = False) -> argparse.ArgumentParser:
    """Register the command ``name`` (running ``func``) with an ``id`` argument (``takes_id``), a ``--json``
    flag (``with_json``) and ``--home``; returns its parser, for the command's own flags."""
    p = subparsers.add_parser(name, help=help)
    if takes_id:
        p.add_argument("id")
    if with_json:
        p.add_argument("--json", action="store_true", help="machine-readable output")
    _home_flag(p)
    p.set_defaults(func=func)
    return p


# --------------------------------------------------------------------------- output

def _print_json(obj: Any) -> int:
    """``--json`` output: ``obj`` as indented JSON on stdout. Returns the exit code (0)."""
    json.dump(obj, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0


def _fmt_time(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _fmt_num(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)
