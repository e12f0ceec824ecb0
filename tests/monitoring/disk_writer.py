"""A process that appends payload records to a file sink, driven line by line on stdin, for the
full-disk tests: `limit BYTES|none` (RLIMIT_FSIZE, SIGXFSZ ignored, as a disk that fills),
`write N SIZE` (N records of SIZE-byte bodies, then wait until each is sent or lost), `close`.
After each command it prints one JSON line: the logger's totals (sent and each loss reason).

    python -m tests.monitoring.disk_writer SINK
"""
from __future__ import annotations

import json
import resource
import signal
import sys

from modelserver.payload_log import PayloadLog, Source
from tests.monitoring.conftest import load_script

JSON = {"headers": [(b"content-type", b"application/json")]}


def main(sink: str) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails with EFBIG instead
    payload_log = PayloadLog(sink, Source(api="disk", source="http://localhost:8080/"), mode="request").start()
    wait_until = load_script("loopback").wait_until
    submitted = 0
    for line in sys.stdin:
        command, *args = line.split()
        if command == "limit":
            hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
            soft = resource.RLIM_INFINITY if args[0] == "none" else int(args[0])
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        elif command == "write":
            count, size = int(args[0]), int(args[1])
            for n in range(count):
                body = json.dumps({"n": submitted + n, "pad": "x" * size}).encode()
                payload_log.submit(JSON, body, 200, b"", 0.0)
            submitted += count
            wait_until(lambda total=submitted: sum(payload_log.counts.values()) == total, 60,
                       f"{submitted} records settled", poll=0.01)
        elif command == "close":
            payload_log.close()
        print(json.dumps(payload_log.counts), flush=True)
        if command == "close":
            return


if __name__ == "__main__":
    main(sys.argv[1])
