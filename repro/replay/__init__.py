"""Replay: orchestration of a replay, its workspace, the drift between two runs and the replay result."""
