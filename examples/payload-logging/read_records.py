"""Read payload records back: `python read_records.py records.jsonl` pairs each request with its response.

The file is what `kserve-bridge serve --log-requests records.jsonl` writes: one CloudEvent per line
(structured JSON form) with the attributes KServe's logger sets. In a cluster the same events reach
the logger's url in binary form (ce-* headers); the attributes are the same.
"""
import json
import sys
from collections import defaultdict

REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


def pairs(path):
    """{event id: {"request": event, "response": event}} in the order requests arrived."""
    calls = defaultdict(dict)
    with open(path) as lines:
        for line in lines:
            event = json.loads(line)
            calls[event["id"]]["request" if event["type"] == REQUEST else "response"] = event
    return calls


if __name__ == "__main__":
    for call_id, call in pairs(sys.argv[1]).items():
        request, response = call.get("request"), call.get("response")
        first = request or response
        headers = json.loads(first["metadata"])
        deployment = json.loads(first.get("annotations", "{}")).get("kserve-bridge.io/deployment-id", "?")
        print(f"{first['time']}  {first['inferenceservicename']}  deployment {deployment}  id {call_id}")
        print(f"  caller {headers.get('X-Caller', ['-'])[0]}  request id {headers.get('X-Request-Id', ['-'])[0]}")
        print(f"  request  {json.dumps(request['data']) if request else '(not logged)'}")
        print(f"  response {json.dumps(response['data']) if response else '(none: not 200, or mode request)'}")
