# Sourced by scripts/test.sh and scripts/demo.sh: creates .venv and installs kserve-bridge with every extra.
# torch is pinned to the CPU build; Prometheus and promtool (canary promotion and monitoring tests) come from
# Debian's prometheus package when apt is there.
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi
python -m pip install -q --upgrade pip >/dev/null
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[all,dev]"
if ! command -v prometheus >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) \
    || echo "note: prometheus not installed; the promotion and monitoring tests will be skipped" >&2
fi
