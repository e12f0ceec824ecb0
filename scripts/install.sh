# Sourced by scripts/test.sh and scripts/demo.sh: creates .venv and installs kserve-bridge into it.
# KSERVE_BRIDGE_EXTRAS picks the extras (default all,dev: everything the tests need; the demo takes sklearn).
# torch is pinned to the CPU build; Prometheus and promtool (canary promotion and monitoring tests) comes from Debian.
extras="${KSERVE_BRIDGE_EXTRAS:-all,dev}"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi
python -m pip install -q --upgrade pip >/dev/null
case ",$extras," in
  *,all,*|*,torch,*|*,bench,*) python -m pip install -q "torch==2.13.0" ;;
esac
python -m pip install -q -e ".[$extras]"
case ",$extras," in
  *,dev,*)
    if ! command -v prometheus >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) \
        || echo "note: prometheus not installed; the promotion tests will be skipped" >&2
    fi
    # kubectl: tests/translate/test_gitops.py builds convert's kustomize output with `kubectl kustomize`
    if ! command -v kubectl >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 \
        || echo "note: kubectl not installed; the kustomize tests will be skipped" >&2
    fi
    # tritonclient.grpc in its own venv (pyproject's tritonclient extra; why: tests/README.md)
    if [ ! -x .venv-tritonclient/bin/python ]; then
      (python3 -m venv .venv-tritonclient && .venv-tritonclient/bin/python -m pip install -q "tritonclient[grpc,http]>=2.50") \
        || echo "note: tritonclient not installed; the tritonclient tests will be skipped" >&2
    fi
    # Azurite (Azure Storage emulator) for the Azure Blob upload tests; skipped when npm is missing.
    if ! command -v azurite-blob >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
      npm install -g -s azurite@3 >/dev/null 2>&1 || echo "note: azurite not installed; the Azure upload tests will be skipped" >&2
    fi ;;
esac
# The pipeline tools (kfp, Metaflow, MLflow) and the lowest versions our ranges allow share a second venv:
# kfp 2.17 pins kubernetes<31 and requests==2.33.0, so it cannot sit beside .venv's newest kubernetes.
# scripts/test.sh runs tests/cluster, tests/pipelines and tests/mlflow there too: both ends of every range are tested.
pipelines_venv="${KSERVE_BRIDGE_PIPELINES_VENV:-.venv-pipelines}"
case ",$extras," in
  *,dev,*)
    [ -x "$pipelines_venv/bin/python" ] || python3 -m venv "$pipelines_venv"
    "$pipelines_venv/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$pipelines_venv/bin/python" -m pip install -q -c scripts/constraints-lowest.txt -e ".[pipelines-test]" ;;
esac
# The lowest versions our own ranges allow for the bare install and the server, sklearn and cluster extras
# (pydantic, ruamel.yaml, uvicorn, prometheus-client, python-dotenv, scikit-learn 1.3 on numpy 1.26, ...),
# pinned by scripts/lock_lowest.py into scripts/lock-lowest.txt; scripts/test.sh runs the spec, translation,
# CLI, cluster and served-example tests there.
lowest_venv="${KSERVE_BRIDGE_LOWEST_VENV:-.venv-lowest}"
case ",$extras," in
  *,dev,*)
    [ -x "$lowest_venv/bin/python" ] || python3 -m venv "$lowest_venv"
    "$lowest_venv/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$lowest_venv/bin/python" -m pip install -q --no-deps -r scripts/lock-lowest.txt
    "$lowest_venv/bin/python" -m pip install -q --no-deps -e . ;;
esac
