"""`kserve-bridge` command line. Each sub-command lives in its own module here
and imports heavy things only inside its `run` function, so `--help`,
`validate` and `convert` start fast."""
from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from ..errors import BridgeError

# Modules of this package that define `register(subparsers)`; order is the order in --help.
COMMAND_MODULES = ["validate", "convert", "package", "schema", "cluster", "canary", "tenant", "serve"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kserve-bridge",
        description="Run Cortex-style specs and predictor classes on KServe + Knative.")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"kserve-bridge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    notes = logging.StreamHandler(sys.stderr)  # the spec's and the cluster's warnings and notes, as plain lines
    notes.setFormatter(logging.Formatter("%(message)s"))
    logs = [logging.getLogger("kserve_bridge.spec"), logging.getLogger("kserve_bridge.cluster")]
    for log in logs:
        log.addHandler(notes)
        log.propagate = False
    try:
        return int(args.run(args) or 0)
    except BridgeError as exc:
        print(f"error: {exc}" if not hasattr(exc, "problems") else str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        for log in logs:
            log.removeHandler(notes)
            log.propagate = True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
