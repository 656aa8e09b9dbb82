"""`repro doctor`: replay a run with nothing changed, then with one condition changed at a time,
and name the conditions its outputs depend on (docs/doctor.md)."""
