#!/usr/bin/env bash
# The README's first command: install into .venv, then run the main job on the bundled iris example:
# make its model, convert the spec to KServe objects, serve it locally, send one prediction, print it.
# Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> installing kserve-bridge with the scikit-learn backend into .venv"
# shellcheck source=scripts/install.sh
KSERVE_BRIDGE_EXTRAS=sklearn source scripts/install.sh

example=examples/iris-sklearn
echo "==> training the example's model"
python "$example/make_model.py"

echo "==> kserve-bridge convert $example"
kserve-bridge convert "$example"

port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
echo "==> kserve-bridge serve $example --port $port"
kserve-bridge serve "$example" --port "$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT

python - "$port" "$server" "$log" <<'PY'
"""Wait until the model answers ready, then send one prediction and print the answer."""
import json, os, sys, time, urllib.request

port, server, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = f"http://127.0.0.1:{port}"
for _ in range(240):
    try:
        urllib.request.urlopen(f"{base}/v1/models/iris-classifier", timeout=2)
        break
    except OSError:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            sys.exit("the server exited:\n" + open(log).read())
        time.sleep(0.5)
else:
    sys.exit("the server did not become ready in 120 s:\n" + open(log).read())
body = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
print(f"==> POST {base}/iris-classifier {json.dumps(body)}")
request = urllib.request.Request(f"{base}/iris-classifier", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=30) as answer:
    print(f"prediction: {answer.read().decode()}")
PY
