"""Data: file and tree digests, the stat cache that skips unchanged files, the content-addressed output store."""
