"""Progressive delivery for InferenceServices: traffic in both deployment modes (traffic),
the judgement of canary against stable (judge), the smoke check (smoke), mirroring to a
dark canary (shadow), the automatic
rollout (engine) and its report (report)."""
from .engine import auto_rollout, plan_steps
from .judge import Thresholds, judge
from .report import EXIT_CODES, Decision, RolloutResult
from .shadow import ShadowOptions
from .smoke import load_smoke, run_smoke
from .traffic import RAW, SERVERLESS, TrafficState, set_share, state

__all__ = ["EXIT_CODES", "RAW", "SERVERLESS", "Decision", "RolloutResult", "ShadowOptions", "Thresholds",
           "TrafficState", "auto_rollout", "judge", "load_smoke", "plan_steps", "run_smoke", "set_share", "state"]
