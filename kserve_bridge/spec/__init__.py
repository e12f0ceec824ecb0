"""The spec layer: parse Cortex-style YAML, validate it, fill defaults."""
from .loader import Spec, find_spec_file, load_spec, resolve_api
from .models import RealtimeAPI, TrafficSplitter

__all__ = ["Spec", "load_spec", "find_spec_file", "resolve_api", "RealtimeAPI", "TrafficSplitter"]
