"""The gRPC bench's parts that need no servers: target lines and h2load's output (no timing assertions)."""
from __future__ import annotations

from bench.grpc_bench import BATCHED, FLOOR, FLOOR_THREAD, KSERVE, OURS, TWO, targets
from bench.grpc_load import parse_h2load

H2LOAD = """finished in 2.00s, 1640.00 req/s, 168.90KB/s
requests: 3280 total, 3288 started, 3280 done, 3279 succeeded, 1 failed, 0 errored, 0 timeout
status codes: 3279 2xx, 0 3xx, 0 4xx, 1 5xx
traffic: 337.86KB (345968) total, 10.25KB (10496) headers (space savings 96.05%), 150.87KB (82000) data
                     min         max         mean         sd        +/- sd
time for request:      626us     44.37ms      4.82ms      3.00ms    88.17%
"""


def row(rps: float, cpu: float) -> dict:
    return {"rps": rps, "cpu_us_per_req": cpu}


def test_target_lines_pass_fail_and_skip():
    best = {FLOOR: {8: row(1000, 500)}, KSERVE: {8: row(800, 700), 64: row(900, 650)},
            OURS: {8: row(1100, 560), 64: row(1500, 500)}, BATCHED: {64: row(2000, 400)}}
    lines = targets(best)
    assert "PASS: iris c8 CPU/req <= 1.15x the gRPC floor's (1.12x)" in lines
    assert "PASS: iris c8 throughput >= 1.3x KServe's gRPC (1.38x)" in lines
    assert "FAIL: iris c64 throughput with batching >= 3x KServe's gRPC (2.22x)" in lines
    assert "SKIP: iris c64 throughput with 2 processes >= 1.6x one (not measured)" in lines
    best[TWO] = {64: row(2500, 520)}
    assert "PASS: iris c64 throughput with 2 processes >= 1.6x one (1.67x)" in targets(best)
    assert not any(line.startswith("INFO") for line in targets(best))  # no hand-off floor measured


def test_the_hand_off_floor_splits_the_gap_to_the_floor():
    best = {FLOOR: {8: row(1000, 400)}, FLOOR_THREAD: {8: row(900, 480)}, OURS: {8: row(850, 528)}}
    assert ("INFO: iris c8 CPU/req: the predict-thread hand-off alone costs 1.20x the floor; "
            "ours is 1.10x the floor with that hand-off") in targets(best)


def test_h2load_output_counts_calls_without_an_answer_as_errors():
    result = parse_h2load(H2LOAD, ok_bytes=25)
    assert result["rps"] == 1640.0 and result["mean_ms"] == 4.82
    # 3280 done, 1 HTTP failure, and 82000 bytes of data hold 3280 answers of 25 bytes at most
    assert result["requests"] == 3280 and result["errors"] == 1
    short = parse_h2load(H2LOAD.replace("(82000) data", "(50000) data"), ok_bytes=25)
    assert short["errors"] == 1 + (3280 - 2000)
