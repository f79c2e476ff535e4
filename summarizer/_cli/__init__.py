"""The ``summarizer`` command line.

One module a group of commands: ``run`` (run, chunk), ``evaluate`` (digest, eval),
``admin`` (schemas, logs, cache), ``doctor`` (probe an endpoint), the ``batch`` commands
from :mod:`summarizer._batch.cli`, and ``common`` for what they share. Start-up is kept
short: these import only the standard library and the light input loader; the model
client, the engines and the digest load inside the command that uses them, so
``summarizer --help`` does not pay for them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from summarizer import __version__
from summarizer._cli.admin import _add_admin
from summarizer._cli.common import EXIT_INTERRUPTED, EXIT_USAGE, UsageError, build_config
from summarizer._cli.doctor import _add_doctor
from summarizer._cli.evaluate import _add_eval_and_digest, _model_environment
from summarizer._cli.run import _add_chunk_and_run

__all__ = ["_model_environment", "build_config", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summarizer",
        description="Grounded, schema-validated summaries and claim lists of news articles.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"summarizer {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_chunk_and_run(commands)
    _add_eval_and_digest(commands)
    _add_admin(commands)
    _add_doctor(commands)
    from summarizer._batch.cli import add_batch_parser

    add_batch_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    from summarizer._errors import ConfigError, FixtureError, OutputError

    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    command_parser: argparse.ArgumentParser = args.parser
    if extras:
        command_parser.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        return int(args.handler(args))
    except (UsageError, ValidationError) as exc:  # ValidationError: an option value refused
        command_parser.error(str(exc))
    except FixtureError as exc:
        print(f"summarizer: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"summarizer: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OutputError as exc:
        print(f"summarizer: output error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
