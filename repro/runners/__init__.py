"""Runners execute the wrapped command: on the host, or in a container pinned by digest."""
