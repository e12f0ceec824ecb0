"""Draw manifests/monitoring/dashboard.json as a PNG from Prometheus' query API (matplotlib).

    python scripts/render_dashboard.py --prometheus URL --namespace NS --api NAME --out dash.png
    python scripts/render_dashboard.py --demo --out docs/dashboard.png

--demo builds the data first, from real parts (scripts/monitoring_stack.py): two
`kserve-bridge serve` processes of examples/payload-logging as a stable and a canary
revision, a real Prometheus scraping them, and three minutes of load drawn from the example's
reference data, `sepal_width` shifted by one standard deviation after the first minute (the
canary gets malformed requests and bursts past its concurrency limit; its payload sink is down).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DASHBOARD = REPO / "manifests" / "monitoring" / "dashboard.json"
UNITS = {"s": ("s", 1.0), "ms": ("ms", 1.0), "reqps": ("req/s", 1.0), "percentunit": ("%", 100.0), "short": ("", 1.0)}


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def render(prom, namespace: str, api: str, out: Path, minutes: float, rate: str = "1m") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    board = json.loads(DASHBOARD.read_text())
    end = time.time()
    start, step = end - minutes * 60, max(minutes * 60 / 240, 1)
    rows = max(p["gridPos"]["y"] // 8 for p in board["panels"]) + 1
    fig = plt.figure(figsize=(24, 4.2 * rows), dpi=70)
    grid = fig.add_gridspec(rows, 24, hspace=0.55, wspace=2.5, top=1 - 0.9 / (4.2 * rows))
    fig.suptitle(y=1 - 0.2 / (4.2 * rows),
                 t=f"{board['title']} - namespace {namespace}, API {api}, all revisions (last {minutes:.0f} min, "
                 f"real data from Prometheus)", fontsize=16)
    for panel in board["panels"]:
        pos = panel["gridPos"]
        ax = fig.add_subplot(grid[pos["y"] // 8, pos["x"]:pos["x"] + pos["w"]])
        unit, scale = UNITS.get(panel["fieldConfig"]["defaults"]["unit"], ("", 1.0))
        ax.set_title(panel["title"], fontsize=12, loc="left")
        lines = []
        for target in panel["targets"]:
            expr = (target["expr"].replace("$namespace", namespace).replace("$api", api)
                    .replace("$revision", ".*").replace("$__rate_interval", rate))
            for series in prom.query_range(expr, start, end, step):
                points = [((float(t) - end) / 60, float(v) * scale) for t, v in series["values"]
                          if math.isfinite(float(v))]
                if points:
                    lines.append((target["legendFormat"], series["metric"], points))
        crowded = len(lines) > 6  # then series that stayed at 0 (a drop reason that never happened) are left out
        shown = [line for line in lines if not crowded or any(v for _, v in line[2])]
        zeros, drawn = len(lines) - len(shown), len(shown)
        # Many series (drift's bins): a legend for the eight that moved most, the rest drawn thin.
        ranked = sorted(shown, key=lambda line: -max(abs(v) for _, v in line[2]))
        named = {id(line) for line in ranked[:8]} if drawn > 10 else {id(line) for line in shown}
        for line in shown:
            template, labels, points = line
            ax.plot(*zip(*points, strict=False), linestyle="--" if "threshold" in template else "-",
                    linewidth=1.6 if id(line) in named else 0.6,
                    label=legend(template, labels) if id(line) in named else None)
        if drawn:
            more = zeros + drawn - len(named)
            ax.legend(fontsize=8, loc="upper left", title=f"+{more} more series" if more else None,
                      title_fontsize=8)
        else:
            ax.text(0.5, 0.5, "no data\n(Knative metrics: only in a cluster)" if "autoscaler_" in json.dumps(
                panel) or "revision_app" in json.dumps(panel) else "no data", ha="center", va="center",
                transform=ax.transAxes, color="grey")
        ax.set_xlabel("minutes ago", fontsize=8)
        ax.set_ylabel(unit, fontsize=8)
        ax.grid(alpha=0.3)
    fig.savefig(out, bbox_inches="tight")
    print(f"wrote {out}")


def demo(out: Path, minutes: float) -> None:
    """Serve, scrape and load for `minutes`, then render."""
    import monitoring_stack as stack

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = stack.watched_project(root / "project")
        ports, servers = [stack.free_port(), stack.free_port()], []
        revisions = ("audited-iris-predictor-00001", "audited-iris-predictor-00002")
        try:
            servers.append(stack.serve(project, ports[0], root / "stable.log", "--log-requests",
                                       str(root / "records.jsonl")))
            servers.append(stack.serve(project, ports[1], root / "canary.log", "--log-requests",
                                       f"http://127.0.0.1:{stack.free_port()}/"))
            prom = stack.Prometheus(root / "prometheus", [
                (port, {"namespace": "team-a", "pod": f"{rev}-deployment-1", "revision_name": rev})
                for port, rev in zip(ports, revisions, strict=False)], scrape_s=2)
            try:
                urls = [f"http://127.0.0.1:{port}/audited-iris" for port in ports]
                began = time.monotonic()
                wave = 0
                while time.monotonic() - began < minutes * 60:
                    wave += 1
                    busy = 40 + 30 * (wave % 4)  # a changing load
                    shift = {"sepal_width": 1.0} if time.monotonic() - began > 60 else None  # drift
                    rows = stack.reference_rows(project, busy + busy // 4, shift, seed=wave)
                    stack.send(urls[0], rows[:busy], threads=4)
                    bad = [{"sepal_length": 1.0}] * (busy // 24 if wave > 3 else 0)  # 500s
                    stack.send(urls[1], rows[busy:] + bad, threads=2)
                    if wave % 5 == 0:
                        stack.burst_until_503(urls[1], tries=2)
                time.sleep(5)  # two more scrapes of the final counts
                render(prom, "team-a", "audited-iris", out, minutes + 0.2, rate="30s")
            finally:
                prom.stop()
        finally:
            for server in servers:
                stack.stop(server)


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--prometheus", help="Prometheus base URL")
    p.add_argument("--namespace", default="default")
    p.add_argument("--api", help="the API to show")
    p.add_argument("--minutes", type=float, default=None, help="time range (default 60; --demo: 3)")
    p.add_argument("--demo", action="store_true", help="run a local stack with load first")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.png")
    args = p.parse_args()
    if args.demo:
        demo(args.out, args.minutes or 3)
    elif args.prometheus and args.api:
        from monitoring_stack import PromQL
        render(PromQL(args.prometheus), args.namespace, args.api, args.out, args.minutes or 60)
    else:
        p.error("give --prometheus URL and --api NAME, or --demo")


if __name__ == "__main__":
    main()
