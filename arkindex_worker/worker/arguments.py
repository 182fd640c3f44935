"""The command line of a worker: options in groups, an epilog, checks after parsing.

[BaseWorker][arkindex_worker.worker.base.BaseWorker] builds its parser with
`add_base_arguments` (upstream's five options, in upstream's order), lets the
mixins and the worker add theirs (``add_arguments``), then calls
`finish_parser`: the options are sorted into groups, the run loops get
``--report`` and ``--max-failures``, and the epilog lists the environment
variables, the exit statuses and the developer and offline usages.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arkindex_worker.api.options import DEFAULT_BASE_URL
from arkindex_worker.worker.configuration import open_text_file
from arkindex_worker.worker.selection import invalid_uuids

__all__ = [
    "add_base_arguments",
    "check_arguments",
    "epilog",
    "finish_parser",
    "wants_help",
]

# Options the mixins add, and the group of each
_ITEM_OPTIONS = ("elements_list", "element", "consume_worker_activities")
_ACTIVITY_OPTIONS = ("no_worker_activity",)
_EXAMPLE_ITEMS = {"element": " --element ID", "set": " --set DATASET_ID:SET_NAME"}


def add_base_arguments(parser: argparse.ArgumentParser) -> None:
    """Add upstream's base options (``-c``, ``-d``, ``-v``, ``--dev``, ``--extras-dir``)."""
    configuration = parser.add_argument_group("configuration")
    output = parser.add_argument_group("output")
    developers = parser.add_argument_group("developer mode")
    configuration.add_argument(
        "-c",
        "--config",
        help="Alternative configuration file when running without a Worker Run ID",
        type=open_text_file,
    )
    configuration.add_argument(
        "-d",
        "--database",
        help="Alternative SQLite database to use for worker caching",
        type=Path,
        default=None,
    )
    output.add_argument(
        "-v",
        "--verbose",
        "--debug",
        help="Display more information on events and errors",
        action="store_true",
        default=False,
    )
    developers.add_argument(
        "--dev",
        help="Run worker in developer mode. "
        "Worker will be in read-only state even if a worker run is supplied.",
        action="store_true",
        default=False,
    )
    configuration.add_argument(
        "--extras-dir",
        help="The path to a local directory to store extra files like models, datasets, etc (development only).",
        type=Path,
    )


def _report_file(value: str) -> Path:
    path = Path(value)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no directory {str(path.parent)!r}")
    return path


def _positive_int(value: str) -> int:
    if not (value.isdigit() and int(value) > 0):
        raise argparse.ArgumentTypeError(f"not a positive integer: {value!r}")
    return int(value)


def _group(parser: argparse.ArgumentParser, title: str) -> Any:
    for group in parser._action_groups:
        if group.title == title:
            return group
    return parser.add_argument_group(title)


def _move(parser: argparse.ArgumentParser, dests: Sequence[str], title: str) -> None:
    """Move the options of ``dests`` from the default group to the ``title`` one.

    argparse has no public way to regroup options added by someone else (the
    mixins add theirs to the parser itself).
    """
    default = parser._optionals
    moved = [action for action in default._group_actions if action.dest in dests]
    if not moved:
        return
    group = _group(parser, title)
    for action in moved:
        default._group_actions.remove(action)
        group._group_actions.append(action)


def finish_parser(
    parser: argparse.ArgumentParser, loop: str | None, offline: bool
) -> None:
    """Group the options, add the run loop's options and the epilog.

    Args:
        parser: the worker's parser, once every option is added.
        loop: what the worker's run loop processes (``element``, ``set``), or
            `None` for a worker without a loop (`BaseWorker`): no run options.
        offline: whether the worker supports the cache (the offline mode).
    """
    if loop == "set":
        _move(parser, ("set",), "sets to process")
    else:
        _move(parser, (*_ITEM_OPTIONS, "set"), "elements to process")
        for action in parser._actions:
            if action.dest == "set" and loop == "element":
                action.help = (
                    "process the elements of one or more dataset sets, "
                    "each <dataset_uuid>:<set_name>"
                )
    if loop is not None and "--report" not in parser._option_string_actions:
        run = _group(parser, "run")
        run.add_argument(
            "--report",
            type=_report_file,
            metavar="PATH",
            help="write a JSON report of the run to PATH at its end "
            "(default: $ARKINDEX_WORKER_REPORT)",
        )
    if loop is not None and "--max-failures" not in parser._option_string_actions:
        _group(parser, "run").add_argument(
            "--max-failures",
            type=_positive_int,
            metavar="N",
            help=f"stop the run, with status 1, once N {loop}s have failed "
            "(default: $ARKINDEX_WORKER_MAX_FAILURES, else never)",
        )
    if offline and loop == "element" and "--rerun" not in parser._option_string_actions:
        _group(parser, "run").add_argument(
            "--rerun",
            action="store_true",
            help="offline: process again the elements that earlier runs on the "
            "database processed (see docs/offline.md)",
        )
    _move(parser, _ACTIVITY_OPTIONS, "run")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = epilog(loop, offline)


def epilog(loop: str | None, offline: bool) -> str:
    """The text after the options: environment, exit statuses, usages."""
    items = f"{loop}s" if loop else "items"
    lines = [
        "environment:",
        f"  ARKINDEX_API_URL          the server; default {DEFAULT_BASE_URL}",
        "  ARKINDEX_API_TOKEN        your API token "
        "(ARKINDEX_TASK_TOKEN inside a task)",
        "  ARKINDEX_WORKER_RUN_ID    the worker run; unset: read-only",
        "  ARKINDEX_CORPUS_ID        the corpus, in read-only mode",
        "  ARKINDEX_DEBUG            any value: debug output",
        "  ARKINDEX_WORKER_COMPAT    upstream generation: auto (default), 0.4 or 0.6",
    ]
    if loop is not None:
        lines += [
            "  ARKINDEX_WORKER_PROGRESS_INTERVAL",
            "                            seconds between progress lines "
            "(default 30; 0: off)",
            "  ARKINDEX_WORKER_REPORT    default of --report",
            "  ARKINDEX_WORKER_MAX_FAILURES",
            "                            default of --max-failures",
        ]
    if loop == "element":
        lines += [
            "  TASK_ELEMENTS             default of --elements-list",
            "  SKIP_TASK_ELEMENTS        any value: default of --no-elements-list",
        ]
    lines += [
        "  (every variable: docs/cli.md)",
        "",
        "exit status:",
        "  0    the run finished (some items may have failed)",
        f"  1    nothing to process, every {loop or 'item'} failed, --max-failures "
        "reached,",
        "       the token refused, or a fatal error",
        "  2    an invalid command-line value",
        "  130  interrupted by Ctrl-C (SIGINT); 143: stopped by SIGTERM",
        "",
        "developer mode (read-only: nothing is published):",
        "  %(prog)s --dev --config config.yml" + _EXAMPLE_ITEMS.get(loop, ""),
    ]
    if offline:
        lines += [
            "",
            "offline mode (no request is sent; results go to the database):",
            "  %(prog)s --dev --database cache.sqlite",
        ]
    if loop is not None:
        lines += ["", f"Failed {items} are logged; -v shows their tracebacks."]
    return "\n".join(lines)


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks of parsed values that argparse cannot make; exits with status 2.

    ``--element`` values must be element IDs (UUIDs); `get_elements` keeps
    upstream's `AssertionError` for callers that set ``args`` themselves.
    """
    elements = getattr(args, "element", None)
    if elements and not getattr(args, "elements_list", None):
        invalid = invalid_uuids(elements)
        if invalid:
            parser.error(
                f"argument --element: These element IDs are invalid: {', '.join(invalid)}"
            )


def wants_help(argv: Sequence[str] | None = None) -> bool:
    """Whether the command line asks for ``--help`` (``sys.argv`` by default).

    Read without parsing (arguments are parsed in ``configure()`` only), so
    that nothing is logged before the help text.
    """
    tokens = sys.argv[1:] if argv is None else argv
    for token in tokens:
        if token == "--":
            return False
        if token == "-h" or (len(token) > 3 and "--help".startswith(token)):
            return True
    return False
