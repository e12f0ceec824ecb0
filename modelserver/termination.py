"""Why the server stopped, in the log and in Kubernetes' termination message (`kubectl describe pod`)."""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("modelserver")
TERMINATION_LOG_ENV = "KSERVE_BRIDGE_TERMINATION_LOG"  # tests point it at a file; in a pod the kubelet's


def report_failure(message: str) -> int:
    """Exit status 1, `message` in the log and in the termination message (docs/mapping.md, "A predictor
    that fails to load"): the pod restarts with back-off, as Cortex's "error" status did."""
    log.error("%s", message)
    path = Path(os.environ.get(TERMINATION_LOG_ENV, "/dev/termination-log"))
    if path.is_file():  # the kubelet creates it in a pod; never created elsewhere
        try:
            path.write_text(message[-4096:])  # Kubernetes keeps at most 4096 bytes
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc)
    return 1
