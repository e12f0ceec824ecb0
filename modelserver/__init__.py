"""The kserve-bridge model server: a Cortex predictor served as a `kserve.Model`.

Layers: `project` prepares the unpacked project, `predictor` loads the user's
class, `repository` + `backends` load models, `clients` are what the predictor
sees, `model` is the kserve.Model (`placement` picks the event loop or a predict
thread for each predict, `batching` groups requests), `app` adds Cortex routes and middleware to
KServe's own FastAPI app, `__main__` starts `kserve.ModelServer`.
"""
