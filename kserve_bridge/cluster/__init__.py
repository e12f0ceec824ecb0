"""The cluster side: deploy, inspect, delete and canary-roll InferenceServices.

Everything here imports the `kubernetes` client lazily (inside functions), so
importing the package stays cheap.
"""
