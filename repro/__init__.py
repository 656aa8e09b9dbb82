"""repro: fingerprint a training run into a signed manifest, and replay it to prove it reproduces."""

__version__ = "0.1.0"
