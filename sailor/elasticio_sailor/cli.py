"""The command line: ``run`` (task mode), ``service <method>``, ``exec`` (local runner).

Only argparse is imported up front; each mode imports its own modules when chosen, so
that start-up stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .settings import SERVICE_METHODS

DESCRIPTION = "elastic.io sailor for Python components."


class PrintVersion(argparse.Action):
    """``--version``: argparse's own action needs the text up front, and reading the
    version costs start-up time (see elasticio_sailor.__getattr__); this reads it when
    asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:  # noqa: A002
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, _namespace: argparse.Namespace,
                 _values: object, _option_string: str | None = None) -> None:
        from . import DISTRIBUTION, __version__

        sys.stdout.write(f"{DISTRIBUTION} {__version__}\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m elasticio_sailor", description=DESCRIPTION)
    parser.add_argument("--version", action=PrintVersion, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "run",
        help="task mode: consume the step's queue until SIGTERM (like Node's run.js)",
        description="Task mode. Reads ELASTICIO_* variables from the environment, "
        "connects to RabbitMQ and processes messages until SIGTERM/SIGINT. "
        "With ELASTICIO_HOOK_SHUTDOWN set, runs the shutdown hook and exits.",
    )

    service = commands.add_parser(
        "service",
        help="service mode: one service method, result POSTed (like Node's runService.js)",
        description="Service mode. Runs one of "
        + ", ".join(SERVICE_METHODS)
        + " and POSTs {status, data} to ELASTICIO_POST_RESULT_URL. Reads ELASTICIO_CFG, "
        "ELASTICIO_API_URI/USERNAME/KEY, ELASTICIO_ACTION_OR_TRIGGER, "
        "ELASTICIO_GET_MODEL_METHOD from the environment. Exit 0 after a successful POST.",
    )
    # Not restricted with choices: an unknown method must become a POSTed error result.
    # Optional for argparse only: a missing method gets our usage error, which names the
    # methods (argparse's own would name none, and call the extra arguments required).
    service.usage = "%(prog)s [-h] {" + ",".join(SERVICE_METHODS) + "} [ARG ...]"
    service.add_argument("method", nargs="?", help=" | ".join(SERVICE_METHODS))
    # The older buildpack's serve.sh passed up to two more arguments; Node's runService.js
    # does not read them either. Accepted so that such a start works; logged, not used.
    service.add_argument(
        "extra", nargs="*", metavar="ARG", help="accepted for old start scripts, not used"
    )
    service.set_defaults(usage_error=service.error)

    from_exec = commands.add_parser(
        "exec",
        help="run one message through an action or trigger locally, without a broker",
        description="Local runner: runs one message through a component function and "
        "prints every emitted event as one JSON line on stdout; sailor and component logs "
        "go to stderr. Exit 1 when an error was emitted. cfg string values of the form "
        '"env:NAME" are replaced by the value of the environment variable NAME, so that '
        "secrets stay out of files and shell history.",
    )
    from_exec.add_argument(
        "function", nargs="?", help="action or trigger name (from component.json)"
    )
    from_exec.add_argument("--msg", help="message JSON file, or - for stdin (default: {})")
    from_exec.add_argument("--cfg", help="cfg as a JSON file or an inline JSON object")
    from_exec.add_argument("--snapshot", help="snapshot JSON file (default: {})")
    from_exec.add_argument(
        "--select-model", metavar="METHOD", help="call the select-model function METHOD"
    )
    from_exec.add_argument(
        "--meta-model", action="store_true", help="call getMetaModel of FUNCTION"
    )
    from_exec.add_argument(
        "--verify-credentials", action="store_true", help="call verifyCredentials.py"
    )
    from_exec.add_argument(
        "--component", default=".", help="component root (default: current directory)"
    )
    from_exec.add_argument(
        "--attachments-dir",
        metavar="DIR",
        help="write uploaded attachments into DIR and emit file:// URLs (default without "
        "ELASTICIO_OBJECT_STORAGE_URI: a new temporary folder, printed on stderr; with it, "
        "attachments go to that object storage)",
    )
    from_exec.add_argument(
        "--allow-files",
        metavar="DIR",
        action="append",
        default=[],
        help="let file:// attachment URLs name files in DIR and its subfolders (repeatable); "
        "without it exec reads only files in the attachments folder (--attachments-dir)",
    )
    from_exec.add_argument(
        "--progress-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between progress lines on stderr while waiting (default: 5)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from . import task_mode

        return task_mode.main(os.environ)
    if args.command == "service":
        if args.method is None:
            args.usage_error("name the service method: " + ", ".join(SERVICE_METHODS))
        from . import service

        return service.main(args.method, os.environ, extra_args=args.extra)
    from . import local_runner

    return local_runner.main(args)
