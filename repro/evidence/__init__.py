"""Evidence: the manifest record, strict JSON, schema validation, signatures and their verification."""
