"""Side-by-side benchmarks: kserve-bridge's model server against KServe's own custom model,
MLServer, and a bare ASGI floor. Run with `python -m bench` (see docs/benchmarks.md)."""
