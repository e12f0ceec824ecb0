"""The kserve-bridge model server: a Cortex predictor served as a `kserve.Model`.

Layers: `project` prepares the unpacked project, `predictor` loads the user's
class, `repository` + `backends` load models, `clients` are what the predictor
sees, `model` is the kserve.Model (`predict_threads` run user code off the event
loop, `batching` groups requests), `app` adds our routes (`endpoint`: the Cortex
endpoint) to KServe's own FastAPI app behind `middleware` (`in_flight` counts and
limits requests), `errors` maps every error to its status and JSON body, `server`
runs it on our uvicorn server; `internals` holds every use of KServe's and uvicorn's
internals (the request-head cap included).
"""
