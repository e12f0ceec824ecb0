"""The batcher's interval and early run, driven by a fake clock: no test here depends on how
fast the machine is. `waiting(batcher, clock)` returns once the batcher holds every item
submitted so far and has looked at the (frozen) time since, so it chose to keep waiting."""
from __future__ import annotations

from modelserver.batching import Batcher

from .conftest import FakeClock, wait_for

INTERVAL = 1 / 16  # fake seconds (binary fractions: sums are exact); the real wait between looks is shorter


def waiting(batcher: Batcher, clock: FakeClock) -> None:
    wait_for(batcher.pending.empty, "the batcher to take every item")
    clock.wait_reads(2)  # the deadline is fixed and the batcher went on waiting


def recording_batcher(clock: FakeClock, max_size: int = 100, in_flight=None) -> tuple[Batcher, list[list]]:
    calls: list[list] = []
    batcher = Batcher(lambda items: calls.append(list(items)) or items, max_size=max_size, interval=INTERVAL,
                      in_flight=in_flight, clock=clock)
    return batcher, calls


def test_the_interval_counts_from_the_first_item_however_items_trickle_in():
    clock = FakeClock()
    batcher, calls = recording_batcher(clock)
    futures = [batcher.submit(1)]
    waiting(batcher, clock)
    for item in (2, 3, 4):  # one every 1/64 fake seconds: each would restart a per-item timer
        clock.advance(1 / 64)
        futures.append(batcher.submit(item))
        waiting(batcher, clock)
    assert calls == [] and not any(f.done() for f in futures)  # 3/64 of 4/64 spent: still collecting
    clock.advance(1 / 64)  # the interval after the first item, 1/64 after the last
    assert [f.result(60) for f in futures] == [1, 2, 3, 4] and calls == [[1, 2, 3, 4]]
    late = batcher.submit(5)  # the next batch gets a fresh interval
    waiting(batcher, clock)
    clock.advance(INTERVAL / 2)
    waiting(batcher, clock)
    assert not late.done()
    clock.advance(INTERVAL / 2)
    assert late.result(60) == 5 and calls[-1] == [5]


def test_a_full_batch_runs_without_waiting_for_the_interval():
    clock = FakeClock()
    batcher, calls = recording_batcher(clock, max_size=3)
    futures = [batcher.submit(i) for i in range(4)]  # the clock never moves
    assert [f.result(60) for f in futures[:3]] == [0, 1, 2] and calls == [[0, 1, 2]]
    waiting(batcher, clock)
    assert not futures[3].done()  # alone in the next batch: it waits for the interval
    clock.advance(INTERVAL)
    assert futures[3].result(60) == 3


def test_a_batch_runs_at_once_when_every_request_in_flight_is_in_it():
    """2 in flight, 2 in the batch: nobody else can join, it runs at once. 3 in flight: it waits for
    the third and runs as soon as that one joins. The clock never moves."""
    clock, in_flight = FakeClock(), [2]
    batcher, calls = recording_batcher(clock, in_flight=lambda: in_flight[0])
    assert [f.result(60) for f in [batcher.submit(i) for i in (1, 2)]] == [1, 2] and calls == [[1, 2]]
    in_flight[0] = 3
    first = [batcher.submit(i) for i in (3, 4)]
    waiting(batcher, clock)
    assert not any(f.done() for f in first)
    late = batcher.submit(5)
    assert [f.result(60) for f in [*first, late]] == [3, 4, 5] and calls[-1] == [3, 4, 5]


def test_after_more_were_in_flight_a_smaller_batch_waits_unless_alone():
    """3 in flight at once, then 2: the third may be held by the transport still (gRPC admits a call
    per turn of the event loop), so 2 of 2 wait for the interval; 1 alone runs at once; two seconds
    later the peak is forgotten and 2 of 2 run at once again."""
    clock, in_flight = FakeClock(), [3]
    batcher, calls = recording_batcher(clock, in_flight=lambda: in_flight[0])
    assert [f.result(60) for f in [batcher.submit(i) for i in (1, 2, 3)]] == [1, 2, 3] and calls == [[1, 2, 3]]
    in_flight[0] = 2
    pair = [batcher.submit(i) for i in (4, 5)]
    waiting(batcher, clock)
    assert not any(f.done() for f in pair)
    clock.advance(INTERVAL)
    assert [f.result(60) for f in pair] == [4, 5] and calls[-1] == [4, 5]
    in_flight[0] = 1
    assert batcher.submit(6).result(60) == 6 and calls[-1] == [6]  # the clock never moved
    clock.advance(2.0)
    in_flight[0] = 2
    assert [f.result(60) for f in [batcher.submit(i) for i in (7, 8)]] == [7, 8] and calls[-1] == [7, 8]


def test_an_unknown_count_in_flight_waits_for_the_interval():
    """0 is unknown (no middleware counting): the batch waits for the interval, as without in_flight."""
    clock = FakeClock()
    batcher, calls = recording_batcher(clock, in_flight=lambda: 0)
    futures = [batcher.submit(i) for i in (1, 2)]
    waiting(batcher, clock)
    assert calls == [] and not any(f.done() for f in futures)
    clock.advance(INTERVAL)
    assert [f.result(60) for f in futures] == [1, 2] and calls == [[1, 2]]
