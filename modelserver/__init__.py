"""The kserve-bridge model server: a Cortex predictor served as a `kserve.Model`.

Layers: `project` prepares the unpacked project, `predictor` loads the user's
class, `repository` + `backends` load models, `clients` are what the predictor
sees, `model` is the kserve.Model (`predict_threads` run user code off the event
loop, `batching` groups requests), `app` adds Cortex routes and middleware to
KServe's own FastAPI app, `errors` maps every error to its status and JSON body,
`http_protocol` caps request heads, `__main__` starts `kserve.ModelServer`.
"""
