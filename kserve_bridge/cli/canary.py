"""`kserve-bridge canary start|status|promote|rollback|auto API`: canary rollouts.

`auto` exits 0 when the canary was promoted, 3 when it was rolled back and 4
when the rollout was aborted (object missing, Prometheus unreachable, too
little traffic): an abort leaves traffic as it was.
"""
from __future__ import annotations

import argparse

from .cluster import add_cluster_args, kube_for


def _percent_list(text: str) -> list[int]:
    try:
        steps = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"steps must be comma-separated integers (got {text!r})") from None
    if not steps or any(not 0 < p <= 100 for p in steps) or steps != sorted(set(steps)):
        raise argparse.ArgumentTypeError(f"steps must rise strictly within 1..100 (got {text!r})")
    return steps


def _duration(text: str) -> float:
    from ..spec.units import parse_duration
    try:
        return parse_duration(text if text[-1:].isalpha() else f"{text}s")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _ms(text: str) -> float:
    return _duration(text if text[-1:].isalpha() else f"{text}ms") * 1000


def register(sub: argparse._SubParsersAction) -> None:
    canary = sub.add_parser("canary", help="canary rollouts: start, status, promote, rollback, auto",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = canary.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser("start", help="the next revision takes N%% of traffic")
    p.add_argument("api")
    p.add_argument("--percent", type=int, required=True)
    helps = {"status": "revisions, traffic percents and tags", "promote": "send all traffic to the latest revision",
             "rollback": "send all traffic back to the previous revision"}
    for name, text in helps.items():
        actions.add_parser(name, help=text).add_argument("api")
    p = actions.add_parser("auto", help="promote step by step while Prometheus says the canary is healthy")
    p.add_argument("api")
    p.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://prometheus:9090")
    p.add_argument("--steps", type=_percent_list, default=[10, 25, 50, 100], help="default 10,25,50,100")
    p.add_argument("--interval", type=_duration, default=60.0, help="observation time per step (default 60s)")
    p.add_argument("--window", help="PromQL range of each query (default: the interval)")
    p.add_argument("--max-error-rate", type=float, default=0.01, help="5xx share allowed (default 0.01)")
    p.add_argument("--max-p99-latency", type=_ms, default=250.0, help="default 250ms")
    p.add_argument("--min-requests", type=int, default=100, help="canary requests needed per window (default 100)")
    p.add_argument("--max-holds", type=int, default=3, help="intervals to wait for enough traffic before aborting")
    p.add_argument("--metrics", choices=["knative", "modelserver"], default="knative",
                   help="knative: queue-proxy metrics (default); modelserver: the model server's own")
    for action in actions.choices.values():
        add_cluster_args(action)
    canary.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..cluster import canary

    kube = kube_for(args)
    if args.action == "status":
        s = canary.status(kube, args.api)
        pct = "not set" if s.canary_percent is None else f"{s.canary_percent}%"
        print(f"{s.name}: {s.state}, canaryTrafficPercent {pct}")
        for t in s.traffic:
            print(f"  {t.revision:<40} {t.percent:>3}%  {t.tag or '-':<7}{' latest' if t.latest else ''}")
        if not s.traffic:
            print("  (no traffic status yet)")
        return 0
    if args.action == "auto":
        return run_auto(args, kube)
    operation = {"start": lambda: canary.start(kube, args.api, args.percent),
                 "promote": lambda: canary.promote(kube, args.api),
                 "rollback": lambda: canary.rollback(kube, args.api)}[args.action]
    s, changed = operation()
    pct = "removed" if s.canary_percent is None else f"{s.canary_percent}%"
    print(f"{s.name}: canaryTrafficPercent {pct}{'' if changed else ' (unchanged)'}; "
          f"follow the traffic with: kserve-bridge canary status {s.name}")
    return 0


def run_auto(args: argparse.Namespace, kube) -> int:
    from ..cluster.canary import Thresholds, auto_rollout
    from ..cluster.metrics import SOURCES, Prometheus

    limits = Thresholds(max_error_rate=args.max_error_rate, max_p99_ms=args.max_p99_latency,
                        min_requests=args.min_requests, max_holds=args.max_holds)
    result = auto_rollout(kube, args.api, Prometheus(args.prometheus), args.steps, args.interval, limits,
                          window=args.window, source=SOURCES[args.metrics],
                          report=lambda d: print(d.describe(), flush=True))
    print(f"{args.api}: {result.outcome.replace('_', ' ')}")
    return result.exit_code
