"""`kserve-bridge canary start|status|promote|rollback|auto API`: canary rollouts, in
KServe's Serverless mode (canaryTrafficPercent) and RawDeployment mode (spec.canary).

`auto` exit codes: 0 promoted (or --dry-run); 3 rolled back, the canary was worse than
stable or a limit, or failed --smoke; 4 aborted, traffic left where it was (undecided with
--on-undecided hold, or nothing was changed: no canary, API or Prometheus unreachable);
5 undecided and rolled back (too little traffic or no metrics for --max-holds intervals,
canary replaced); 130 interrupted (Ctrl-C/SIGTERM), traffic left, re-run to resume;
1 cluster error, 2 bad arguments.
"""
from __future__ import annotations

import argparse
import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

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
    p = actions.add_parser("start", help="the canary (else the next deployed version) takes N%% of traffic")
    p.add_argument("api")
    p.add_argument("--percent", type=int, required=True)
    helps = {"status": "revisions, traffic percents and tags", "promote": "send all traffic to the canary",
             "rollback": "send all traffic back to the stable revision"}
    for name, text in helps.items():
        actions.add_parser(name, help=text).add_argument("api")
    p = actions.add_parser("auto", help="promote step by step while the canary holds up against stable")
    p.add_argument("api")
    p.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://prometheus:9090")
    p.add_argument("--steps", type=_percent_list, default=[10, 25, 50, 100], help="default 10,25,50,100")
    p.add_argument("--interval", type=_duration, default=60.0, help="observation time per step (default 60s)")
    p.add_argument("--window", help="PromQL range of each query (default: the interval)")
    p.add_argument("--max-error-rate", type=float, default=0.01, help="5xx share never allowed (default 0.01)")
    p.add_argument("--max-p99-latency", type=_ms, default=250.0, help="p99 never allowed (default 250ms)")
    p.add_argument("--error-margin", type=float, default=0.005,
                   help="canary error rate may exceed stable's by this much (default 0.005)")
    p.add_argument("--p99-factor", type=float, default=1.5, help="canary p99 at most this x stable's (default 1.5)")
    p.add_argument("--p99-floor", type=_ms, default=20.0,
                   help="a canary p99 below this never fails the comparison (default 20ms)")
    p.add_argument("--min-requests", type=int, default=100, help="requests needed per window on each side")
    p.add_argument("--max-holds", type=int, default=3, help="undecided intervals in a row before ending")
    p.add_argument("--on-undecided", choices=["rollback", "hold"], default="rollback",
                   help="when undecided: roll back (default) or leave traffic where it is")
    p.add_argument("--metrics", choices=["knative", "modelserver"],
                   help="knative: queue-proxy metrics (Serverless default); modelserver: the model "
                        "server's own (RawDeployment default)")
    p.add_argument("--smoke", metavar="FILE", help="requests the canary must answer before traffic moves")
    p.add_argument("--smoke-url", help="base URL of the canary for --smoke (default: from the status)")
    p.add_argument("--shadow", type=float, metavar="PERCENT",
                   help="first mirror PERCENT %% of live requests to the canary while it takes no traffic, "
                        "and judge it (needs the canary at 0%%)")
    p.add_argument("--shadow-interval", type=_duration, help="how long to mirror (default: --interval)")
    p.add_argument("--shadow-max-in-flight", type=int, default=4,
                   help="copies on the wire at once, per stable pod (default 4); more are dropped")
    p.add_argument("--report", metavar="FILE", help="write every decision as JSON (rewritten at each step)")
    for action in actions.choices.values():
        if action.prog.split()[-1] != "status":
            action.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
        add_cluster_args(action)
    canary.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..cluster import canary

    kube = kube_for(args)
    if args.action == "status":
        return show_status(kube, args.api)
    if args.action == "auto":
        return run_auto(args, kube)
    operation = {"start": lambda: canary.start(kube, args.api, args.percent, dry_run=args.dry_run),
                 "promote": lambda: canary.promote(kube, args.api, dry_run=args.dry_run),
                 "rollback": lambda: canary.rollback(kube, args.api, dry_run=args.dry_run)}[args.action]
    s, patch = operation()
    if args.dry_run:
        print(f"{s.name}: would send merge patch {json.dumps(patch)}" if patch else f"{s.name}: nothing to change")
        return 0
    now = canary.traffic(kube, args.api)
    share = "removed" if now.share is None else f"{now.share}%"
    unchanged = "" if patch else " (unchanged)"
    if now.mode == "raw" and now.canary is None:
        print(f"{s.name}: the next `kserve-bridge deploy` puts the new version into spec.canary"
              f"{f' with {share}' if now.share is not None else ''}{unchanged}" if now.share is not None else
              f"{s.name}: no canary pending{unchanged}; the next deploy replaces spec.predictor")
        return 0
    field = "canaryTrafficPercent" if now.mode == "serverless" else "spec.canary trafficPercent"
    print(f"{s.name}: {field} {share}{unchanged}; follow the traffic with: kserve-bridge canary status {s.name}")
    return 0


def show_status(kube, name: str) -> int:
    from ..cluster import canary
    t = canary.traffic(kube, name)
    if t.mode == "raw":
        pending = f" (the next deploy's canary takes {t.share}%)" if t.canary is None and t.share is not None else ""
        print(f"{name}: RawDeployment, canary {t.canary or 'none'}, stable {t.stable}{pending}")
        print(f"  {t.split}")
        return 0
    s = canary.status(kube, name)
    pct = "not set" if s.canary_percent is None else f"{s.canary_percent}%"
    print(f"{s.name}: {s.state}, canaryTrafficPercent {pct}")
    for tt in s.traffic:
        print(f"  {tt.revision:<40} {tt.percent:>3}%  {tt.tag or '-':<7}{' latest' if tt.latest else ''}")
    if not s.traffic:
        print("  (no traffic status yet)")
    return 0


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a pipeline cancelling the job) ends the rollout like Ctrl-C does."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_auto(args: argparse.Namespace, kube, sleep=time.sleep, clock=time.time) -> int:
    from ..cluster.canary import RolloutResult, ShadowOptions, Thresholds, auto_rollout, load_smoke
    from ..cluster.rollout.metrics import SOURCES, Prometheus

    limits = Thresholds(max_error_rate=args.max_error_rate, max_p99_ms=args.max_p99_latency,
                        min_requests=args.min_requests, max_holds=args.max_holds,
                        error_rate_margin=args.error_margin, p99_factor=args.p99_factor,
                        p99_floor_ms=args.p99_floor)
    smoke = load_smoke(args.smoke) if args.smoke else None
    shadow = ShadowOptions(args.shadow, args.shadow_interval, args.shadow_max_in_flight) if args.shadow else None
    decisions: list = []
    partial = RolloutResult(args.api, kube.namespace, outcome="running", decisions=decisions)

    def on_decision(decision) -> None:
        print(decision.describe(), flush=True)
        decisions.append(decision)
        if args.report:
            partial.write(args.report)

    with sigterm_interrupts():
        result = auto_rollout(kube, args.api, Prometheus(args.prometheus), args.steps, args.interval, limits,
                              window=args.window, source=SOURCES.get(args.metrics), on_undecided=args.on_undecided,
                              on_decision=on_decision, smoke=smoke, smoke_url=args.smoke_url, shadow=shadow,
                              dry_run=args.dry_run, sleep=sleep, clock=clock)
    if args.report:
        result.write(args.report)
    code = result.exit_code
    if code is None:  # auto_rollout returns only once the rollout has ended
        raise RuntimeError(f"rollout of {args.api} returned while still {result.outcome}")
    print(f"{args.api}: {result.outcome.replace('_', ' ')} (exit {code})")
    return code
