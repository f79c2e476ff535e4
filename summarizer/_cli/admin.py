"""``summarizer schemas``, ``logs`` and ``cache``: housekeeping commands."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


from summarizer._cli.common import (
    EXIT_OK,
    UsageError,
    _command,
)


def cmd_schemas(args: argparse.Namespace) -> int:
    """Write the JSON Schemas exported from the models into the folder given."""
    from summarizer._schema_export import export_schemas

    for path in export_schemas(Path(args.folder)):
        print(path)
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    """List recorded runs, or show one with every article."""
    from summarizer._runlog import RunLog, default_log_path, format_run, format_runs

    path = Path(args.db) if args.db else default_log_path()
    if not path.exists():
        print(f"no runs recorded yet ({path} does not exist)")
        return EXIT_OK
    log = RunLog(path)
    try:
        if args.action != "show":
            print(format_runs(log.runs(args.count)))
            return EXIT_OK
        wanted = None if args.run == "last" else _run_number(args.run)
        found = log.run(wanted)
        if found is None:
            raise UsageError(f"no run {args.run} in {path}")
        print(format_run(*found))
        return EXIT_OK
    finally:
        log.close()


def _run_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"RUN must be a run number or 'last', not {text!r}") from None


def cmd_cache(args: argparse.Namespace) -> int:
    """Show, prune or clear the reply cache."""
    from summarizer._cache import ResponseCache
    from summarizer._config import default_cache_path

    path = Path(args.cache) if args.cache else default_cache_path()
    if not path.exists():
        print(f"no cache at {path}")
        return EXIT_OK
    cache = ResponseCache(path)
    try:
        if args.action == "stats":
            stats = cache.stats()
            for key in ("oldest", "newest"):
                stamp = stats[key]
                stats[key] = (
                    time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "-"
                )
            for key, value in stats.items():
                print(f"{key:<12} {value:,}" if isinstance(value, int) else f"{key:<12} {value}")
        elif args.action == "prune":
            if args.older_than is None:
                raise UsageError("prune needs --older-than DAYS")
            removed = cache.prune(args.older_than * 86400)
            print(f"removed {removed} replies older than {args.older_than:g} days from {path}")
        else:
            print(f"removed {cache.clear()} replies from {path}")
        return EXIT_OK
    finally:
        cache.close()


def _add_admin(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schemas = _command(commands, "schemas", "export the JSON Schemas to a folder")
    schemas.add_argument("folder", metavar="FOLDER", help="folder to write the schemas into")
    schemas.set_defaults(handler=cmd_schemas)

    logs = _command(commands, "logs", "list recorded runs, or show one")
    logs.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    logs.add_argument("run", nargs="?", default="last", metavar="RUN", help="run number or last")
    logs.add_argument("-n", "--count", type=int, default=20, help="runs to list (default 20)")
    logs.add_argument("--db", help="log file (default: $SUMMARIZER_CACHE_DIR/runs.sqlite3)")
    logs.set_defaults(handler=cmd_logs)

    cache = _command(commands, "cache", "reply cache: stats, prune old replies, clear")
    cache.add_argument("action", choices=["stats", "prune", "clear"])
    cache.add_argument("--older-than", type=float, metavar="DAYS", help="with prune")
    cache.add_argument("--cache", help="cache file (default: $SUMMARIZER_CACHE_DIR/cache.sqlite3)")
    cache.set_defaults(handler=cmd_cache)
