"""Predictor classes defined in a notebook or script: recover readable source from the
session (`recover`), or serialise the class when that is impossible (`serialized`)."""
