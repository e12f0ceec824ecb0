"""The benchmark harness's pure parts: wrk parsing, the table, targets, process-tree sampling,
project generation and argument handling. No timing assertions."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bench.__main__ import parse_args
from bench.load import parse_wrk, percentile
from bench.models import IRIS_ROW, Workload
from bench.projects import write_project
from bench.report import BASE_A, FLOOR, OURS, OURS_X2, Row, process_targets, table, targets, v2_targets
from bench.rss import PeakRSS, tree_cpu_seconds, tree_rss, tree_rss_each
from tests.modelserver.conftest import wait_for

WRK_OUTPUT = """\
Running 2s test @ http://127.0.0.1:40111/v1/models/iris:predict
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.61ms    1.02ms  21.30ms   90.12%
    Req/Sec     2.21k   150.20     2.40k    80.00%
  Latency Distribution
     50%    3.50ms
     75%    3.90ms
     90%    4.40ms
     99%  850.00us
  4412 requests in 2.00s, 602.33KB read
  Non-2xx or 3xx responses: 3
Requests/sec:   2205.70
Transfer/sec:    301.05KB
"""


def test_parse_wrk_reads_rate_percentiles_and_errors():
    result = parse_wrk(WRK_OUTPUT + "  Socket errors: connect 0, read 2, write 0, timeout 1\n")
    assert (result.requests, result.rps, result.tool) == (4412, 2205.70, "wrk")
    assert result.p50_ms == pytest.approx(3.5)
    assert result.p99_ms == pytest.approx(0.85)  # microseconds converted
    assert result.errors == 3 + 3


def test_parse_wrk_rejects_garbage():
    with pytest.raises(ValueError, match="unrecognised wrk output"):
        parse_wrk("wrk: connection refused")


def test_percentile_nearest_rank():
    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0


def _rows(ours_rps: float, ours_p99: float) -> list[Row]:
    return [Row("iris", OURS, False, 8, ours_rps, 1.0, ours_p99, 200, 60, 1.3),
            Row("iris", BASE_A, False, 8, 1000.0, 4.0, 9.0, 420, 220, 1.9),
            Row("iris", FLOOR, False, 8, 4000.0, 1.0, 2.0, 150, 160, 1.0),
            Row("mlp", OURS, True, 64, 900.0, 50, 90, 300, 400, 3.0),
            Row("mlp", OURS, False, 64, 200.0, 200, 400, 900, 400, 3.0),
            Row("onnx", "B: mlserver", False, note="unavailable: sklearn only")]


def test_table_has_ratios_and_notes():
    text = table(_rows(3000.0, 5.0))
    lines = text.splitlines()
    assert lines[0].startswith("| workload |") and len(lines) == 2 + 6
    ours = next(line for line in lines if f"| {OURS} |" in line and "| iris |" in line)
    assert "3,000" in ours and "3.00x" in ours and "0.75x" in ours
    assert "unavailable: sklearn only" in text


def test_targets_pass_and_fail_lines():
    good = targets(_rows(3000.0, 5.0), cold_reference_s=1.2, convert_s=0.2)
    assert "PASS: iris c8 throughput >= 2.0x A (3.00x; by CPU/req 3.67x)" in good
    assert any(line.startswith("SKIP: iris c8 throughput >= 2.0x B") for line in good)
    assert any(line.startswith("PASS: mlp c64 batching") for line in good)
    assert any(line.startswith("PASS: iris cold start <= 1.2x") for line in good)  # 1.3 s <= 1.2 * 1.2 s
    assert any(line.startswith("PASS: iris cold start <= A's") for line in good)
    bad = targets(_rows(1500.0, 12.0), cold_reference_s=1.0, convert_s=0.5)
    assert any(line.startswith("FAIL: iris cold start <= 1.2x") for line in bad)
    assert any(line.startswith("FAIL: iris c8 throughput >= 2.0x A (1.50x") for line in bad)
    assert any(line.startswith("FAIL: iris c8 p99") for line in bad)
    assert any(line.startswith("FAIL: kserve-bridge convert") for line in bad)
    assert all(line.split(":")[0] in {"PASS", "FAIL", "SKIP"} for line in good + bad)


def test_two_process_targets():
    one = Row("iris", OURS, False, 64, rps=4000.0, p99_ms=20.0, cpu_us_per_req=250)
    good = process_targets([one, Row("iris", OURS_X2, False, 64, rps=6000.0, p99_ms=18.0, cpu_us_per_req=270)])
    assert good[:3] == ["PASS: iris c64 2 processes >= 1.4x one (1.50x)",
                        "PASS: iris c64 2 processes CPU/req <= 1.15x one (1.08x)",
                        "PASS: iris c64 2 processes p99 <= one's (18.00 vs 20.00 ms)"]
    assert good[3] == "SKIP: mlp c64 2 processes vs 1: not measured"
    bad = process_targets([one, Row("iris", OURS_X2, False, 64, rps=5000.0, p99_ms=30.0, cpu_us_per_req=300)])
    assert [line.split(":")[0] for line in bad[:3]] == ["FAIL", "FAIL", "FAIL"]


def test_v2_rows_compare_with_kserve_over_the_same_protocol():
    rows = [Row("iris", OURS + " v2", False, 8, rps=3000.0, cpu_us_per_req=300),
            Row("iris", BASE_A + " v2", False, 8, rps=1000.0, cpu_us_per_req=900),
            Row("iris", BASE_A, False, 8, rps=2000.0, cpu_us_per_req=450),
            Row("iris", OURS + " v2 bin", False, 8, rps=1500.0, cpu_us_per_req=600),
            Row("iris", BASE_A + " v2 bin", False, 8, rps=1000.0, cpu_us_per_req=900)]
    assert v2_targets(rows) == ["PASS: iris c8 v2 REST JSON throughput >= 2.0x A's v2 (3.00x; by CPU/req 3.00x)",
                                "FAIL: iris c8 v2 REST binary throughput >= 2.0x A's v2 (1.50x; by CPU/req 1.50x)"]
    ours_v2 = next(line for line in table(rows).splitlines() if f"| {OURS} v2 |" in line)
    assert "3.00x" in ours_v2  # against A's v2 row, not A's v1 row (1.50x)
    assert v2_targets(rows[:3])[1] == "SKIP: iris c8 v2 REST binary vs A: not measured"


def test_tree_sampling_sees_children():
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', " \
             "'import time; x = bytearray(40 * 2**20); time.sleep(600)']); time.sleep(600)"  # killed below
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        wait_for(lambda: max(tree_rss_each(parent.pid)[1:], default=0) >= 40 * 2**20, "the child to hold its 40 MiB")
        with PeakRSS(parent.pid, interval=0.05) as rss:
            pass  # sampled as it starts and again as it stops
        assert rss.peak >= 40 * 2**20  # the child's 40 MiB counts
        assert 40 * 2**20 <= rss.peak_process < rss.peak  # the child alone, without the parent
        assert tree_cpu_seconds(parent.pid) > 0
    finally:
        for child in __import__("psutil").Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait()
    assert tree_rss(parent.pid) == 0 and tree_cpu_seconds(parent.pid) == 0.0


def test_project_is_a_valid_cortex_spec(tmp_path):
    from kserve_bridge.spec import load_spec

    workload = Workload("iris", "sklearn", tmp_path / "model.joblib", [IRIS_ROW])
    for batching in (False, True):
        project = write_project(workload, tmp_path, batching)
        api = load_spec(project / "cortex.yaml").apis[0]
        assert api.name == "iris" and api.predictor.type == "python"
        assert (api.predictor.server_side_batching is not None) is batching
        compile((project / "predictor.py").read_text(), "predictor.py", "exec")


def test_args_quick_and_filters():
    quick = parse_args(["--quick"])
    assert quick.workloads == ["iris", "mlp"] and quick.levels == [8, 64] and quick.duration == 2.0
    only = parse_args(["--only", "onnx", "--servers", "bridge,floor", "--concurrency", "1"])
    assert only.workloads == ["onnx"] and only.levels == [1]
    assert only.server_names == [OURS, OURS_X2, FLOOR, OURS + " v2", OURS + " v2 bin"]  # "bridge": all of ours
    with pytest.raises(SystemExit):
        parse_args(["--only", "resnet"])


def test_batch_bound_row_for_iris(tmp_path):
    from bench.batch_bound import measure
    cells = [c.strip() for c in measure("iris", tmp_path).strip("|").split("|")]
    assert cells[0] == "iris" and cells[1] == "1"
    alone, shared, unshared = (float(c) for c in cells[2:5])
    assert alone > 0 and shared >= 0 and unshared >= 0 and cells[5].endswith("x")


def test_handoff_measures_every_mode():
    import asyncio

    from bench.handoff import MODES, measure
    for mode in MODES:
        cpu, wall = asyncio.run(measure(mode, calls=16, concurrency=8, loop_work=10, predict_work=10))
        assert cpu >= 0 and wall > 0


def test_cold_start_report_judges_wall_medians_and_shows_cpu() -> None:
    from bench.cold_start import report
    times = {"wall": {"reference": [1.0, 9.0, 1.2], "pod": [1.1, 1.3, 1.15], "serve": [1.7, 1.6, 1.65]},
             "cpu": {"reference": [1.0, 1.0, 1.0], "pod": [1.1, 1.1, 1.1], "serve": [1.3, 1.3, 1.3]}}
    lines, medians = report(times)
    assert medians["wall"] == {"reference": 1.2, "pod": 1.15, "serve": 1.65}  # medians: a slow spell is ignored
    assert "PASS: iris pod cold start <= 1.2x the reference (1.15s vs 1.20s = 0.96x)" in lines
    assert "FAIL: iris serve cold start <= 1.35x the reference (1.65s vs 1.20s = 1.38x)" in lines
    assert any("pod: median 1.15s wall = 0.96x, 1.10s CPU = 1.10x" in line for line in lines)
