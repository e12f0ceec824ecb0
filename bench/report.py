"""Result rows, the markdown results table, and the PASS/FAIL target lines."""
from __future__ import annotations

from dataclasses import asdict, dataclass

OURS, BASE_A, BASE_B, FLOOR = "kserve-bridge", "A: kserve custom", "B: mlserver", "floor: bare asgi"
OURS_X2 = "kserve-bridge x2"  # processes_per_replica: 2
V2_PROTOCOLS = (" v2 bin", " v2")  # name suffixes of the rows driven over v2 REST (binary tensors, JSON)


def protocol(server: str) -> str:
    """The v2 suffix of a row's server name ("" for v1): rows compare with A's row of the same protocol."""
    return next((suffix for suffix in V2_PROTOCOLS if server.endswith(suffix)), "")


@dataclass
class Row:
    workload: str
    server: str
    batching: bool
    concurrency: int | None = None
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    rss_mib: float | None = None
    cpu_us_per_req: float | None = None  # server CPU per request: robust on a shared machine
    cold_start_s: float | None = None
    errors: int = 0
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _find(rows: list[Row], workload: str, server: str, batching: bool, concurrency: int | None) -> Row | None:
    for row in rows:
        if (row.workload, row.server, row.batching) == (workload, server, batching) and \
                row.concurrency == concurrency and row.rps is not None:
            return row
    return None


def _ratio(row: Row, base: Row | None) -> str:
    if base is None or not base.rps or row.rps is None:
        return ""
    return f"{row.rps / base.rps:.2f}x"


def table(rows: list[Row]) -> str:
    """Markdown table; the last two columns are throughput ratios against A and the floor."""
    head = ["workload", "batching", "conc", "server", "req/s", "p50 ms", "p99 ms", "CPU us/req", "peak RSS MiB",
            "cold start s", "vs A", "vs floor", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        base_a = _find(rows, r.workload, BASE_A + protocol(r.server), False, r.concurrency)
        base_floor = _find(rows, r.workload, FLOOR, False, r.concurrency)
        note = r.note + (f" ({r.errors} errors)" if r.errors else "")
        cells = [r.workload, "on" if r.batching else "off", str(r.concurrency or ""), r.server,
                 _fmt(r.rps, ",.0f"), _fmt(r.p50_ms, ".2f"), _fmt(r.p99_ms, ".2f"), _fmt(r.cpu_us_per_req, ".0f"),
                 _fmt(r.rss_mib, ".0f"),
                 _fmt(r.cold_start_s, ".2f"), _ratio(r, base_a), _ratio(r, base_floor), note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _check(ok: bool | None, text: str) -> str:
    return f"{'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}: {text}"


def _cold(rows: list[Row], workload: str, server: str) -> float | None:
    values = [r.cold_start_s for r in rows if (r.workload, r.server, r.batching) == (workload, server, False)
              and r.cold_start_s is not None]
    return values[0] if values else None


def _cpu_ratio(row: Row, base: Row | None) -> str:
    """base CPU/request over ours: the throughput ratio a CPU-bound server would reach on an idle box."""
    if base is None or not row.cpu_us_per_req or not base.cpu_us_per_req:
        return "n/a"
    return f"{base.cpu_us_per_req / row.cpu_us_per_req:.2f}x"


def targets(rows: list[Row], cold_reference_s: float | None, convert_s: float | None) -> list[str]:
    """The speed targets of docs/benchmarks.md, each as one PASS/FAIL/SKIP line."""
    out = []
    ours, a, b, floor = (_find(rows, "iris", s, False, 8) for s in (OURS, BASE_A, BASE_B, FLOOR))
    if ours:
        out.append(_check(a and ours.rps >= 2.0 * a.rps, f"iris c8 throughput >= 2.0x A ({_ratio(ours, a) or 'n/a'}; "
                                                         f"by CPU/req {_cpu_ratio(ours, a)})"))
        out.append(_check(b and ours.rps >= 2.0 * b.rps, f"iris c8 throughput >= 2.0x B ({_ratio(ours, b) or 'n/a'}; "
                                                         f"by CPU/req {_cpu_ratio(ours, b)})"))
        out.append(_check(floor and ours.rps >= 0.7 * floor.rps,
                          f"iris c8 throughput >= 0.7x floor ({_ratio(ours, floor) or 'n/a'}; "
                          f"by CPU/req {_cpu_ratio(ours, floor)})"))
        out.append(_check(a and ours.p99_ms <= a.p99_ms,
                          f"iris c8 p99 <= A's ({ours.p99_ms:.2f} vs {a.p99_ms if a else float('nan'):.2f} ms)"))
    else:
        out.append(_check(None, "iris c8 targets: no kserve-bridge measurement"))
    cold_ours, cold_a = _cold(rows, "iris", OURS), _cold(rows, "iris", BASE_A)
    if cold_ours is not None and cold_reference_s:
        out.append(_check(cold_ours <= 1.2 * cold_reference_s,
                          f"iris cold start <= 1.2x python+sklearn+load+predict "
                          f"({cold_ours:.2f}s vs {cold_reference_s:.2f}s = {cold_ours / cold_reference_s:.2f}x)"))
    else:
        out.append(_check(None, "iris cold start vs reference: not measured"))
    out.append(_check(None if cold_ours is None or cold_a is None else cold_ours <= cold_a,
                      f"iris cold start <= A's ({_fmt(cold_ours, '.2f')}s vs {_fmt(cold_a, '.2f')}s)"))
    on, off = _find(rows, "mlp", OURS, True, 64), _find(rows, "mlp", OURS, False, 64)
    out.append(_check(None if not (on and off) else on.rps >= 3.0 * off.rps,
                      f"mlp c64 batching >= 3x no batching ({_ratio(on, off) if on and off else 'n/a'})"))
    on, off = _find(rows, "iris", OURS, True, 64), _find(rows, "iris", OURS, False, 64)
    if on and off:  # not a target: where batching pays (per-call overhead, not per-row work)
        out.append(f"info: iris c64 batching vs no batching {_ratio(on, off)}")
    out += process_targets(rows)
    out += v2_targets(rows)
    out.append(_check(None if convert_s is None else convert_s <= 0.3,
                      "kserve-bridge convert <= 0.3s wall "
                      f"({_fmt(convert_s, '.3f') + 's' if convert_s else 'not measured'})"))
    return out


def v2_targets(rows: list[Row]) -> list[str]:
    """v2 REST, JSON and binary tensors: iris c8 throughput >= 2x KServe's own v2 REST (A, same body)."""
    out = []
    for suffix, what in ((" v2", "JSON"), (" v2 bin", "binary")):
        ours, a = _find(rows, "iris", OURS + suffix, False, 8), _find(rows, "iris", BASE_A + suffix, False, 8)
        if not (ours and a):
            out.append(_check(None, f"iris c8 v2 REST {what} vs A: not measured"))
            continue
        out.append(_check(ours.rps >= 2.0 * a.rps, f"iris c8 v2 REST {what} throughput >= 2.0x A's v2 "
                                                   f"({_ratio(ours, a)}; by CPU/req {_cpu_ratio(ours, a)})"))
    return out


def process_targets(rows: list[Row]) -> list[str]:
    """processes_per_replica 2 vs 1 at c64: throughput, server CPU per request, p99 (docs/benchmarks.md)."""
    out = []
    for workload in ("iris", "mlp"):
        two, one = _find(rows, workload, OURS_X2, False, 64), _find(rows, workload, OURS, False, 64)
        if not (two and one):
            out.append(_check(None, f"{workload} c64 2 processes vs 1: not measured"))
            continue
        cpu = two.cpu_us_per_req / one.cpu_us_per_req if two.cpu_us_per_req and one.cpu_us_per_req else None
        out.append(_check(two.rps >= 1.4 * one.rps, f"{workload} c64 2 processes >= 1.4x one ({_ratio(two, one)})"))
        out.append(_check(None if cpu is None else cpu <= 1.15,
                          f"{workload} c64 2 processes CPU/req <= 1.15x one ({_fmt(cpu, '.2f')}x)"))
        out.append(_check(two.p99_ms <= one.p99_ms,
                          f"{workload} c64 2 processes p99 <= one's ({two.p99_ms:.2f} vs {one.p99_ms:.2f} ms)"))
    return out
