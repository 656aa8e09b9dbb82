"""JSON Schemas shipped with repro (installed as the package `repro.schemas`)."""
