"""PyTorch checkpoints compared as tensors and JSON-like values, loaded only with weights_only."""

from __future__ import annotations

import collections

import pytest

from .conftest import Outputs
from .helpers import one_rule

pytestmark = pytest.mark.torch


def save(outputs: Outputs, name: str, recorded: object, replayed: object) -> None:
    import torch

    rec, rep = outputs.paths(name)
    torch.save(recorded, rec)
    torch.save(replayed, rep)


def checkpoint(weight, runtime: float = 1.5, dirpath: str = "/runs/a/checkpoints") -> dict:
    import torch

    return {
        "epoch": 2,
        "state_dict": collections.OrderedDict([("fc.weight", weight), ("fc.bias", torch.zeros(2))]),
        "metrics": {"eval_runtime": runtime, "eval_loss": 0.25},
        "callbacks": {"ModelCheckpoint{'monitor': None}": {"dirpath": dirpath, "best_model_path": dirpath + "/m.ckpt"}},
        "shape": (2, 3),
    }


def test_tensors_within_one_ulp_and_a_runtime_ignored_by_path(outputs: Outputs) -> None:
    import torch

    w = torch.linspace(-1, 1, 6).reshape(2, 3)
    noisy = w.clone()
    noisy[1, 2] = torch.nextafter(noisy[1, 2], torch.tensor(2.0))
    save(outputs, "model.pt", checkpoint(w, 1.5), checkpoint(noisy, 9.25))
    rules = one_rule({"ulp": 1, "paths": {"metrics.eval_runtime": "ignore"}})
    v = outputs.compare("model.pt", rules)
    assert (v.status, v.where) == ("within_tolerance", '$.state_dict["fc.weight"][1, 2]')
    assert v.detail.endswith("1 value left out at ignored paths")
    unignored = outputs.compare("model.pt", one_rule({"ulp": 1}))
    assert (unignored.status, unignored.where) == ("differs", "$.metrics.eval_runtime")
    exact = outputs.compare("model.pt", one_rule({"paths": {"metrics.eval_runtime": "ignore"}}))
    assert (exact.status, exact.where) == ("differs", '$.state_dict["fc.weight"][1, 2]')


def test_structure_dtype_and_shape_are_exact(outputs: Outputs) -> None:
    import torch

    save(outputs, "model.pt", {"w": torch.zeros(2, 3)}, {"w": torch.zeros(3, 2)})
    assert outputs.compare("model.pt", one_rule({"allclose": True})).detail == "shape (2, 3) != (3, 2) in tensor $.w"
    save(outputs, "model.pt", {"w": torch.zeros(2)}, {"w": torch.zeros(2, dtype=torch.float64)})
    assert outputs.compare("model.pt", one_rule({"allclose": True})).detail == "dtype float32 != float64 in tensor $.w"
    save(outputs, "model.pt", {"w": torch.zeros(2)}, {"w": torch.zeros(2), "extra": 1})
    assert "unexpected key 'extra'" in outputs.compare("model.pt", one_rule({"allclose": True})).detail


def test_bfloat16_tensors(outputs: Outputs) -> None:
    import torch

    w = torch.tensor([1.0, 2.0, -1.0], dtype=torch.bfloat16)
    bumped = w.view(torch.int16).clone()
    bumped[1] += 1
    save(outputs, "model.pt", {"w": w}, {"w": bumped.view(torch.bfloat16)})
    assert outputs.compare("model.pt", one_rule({"ulp": 1})).status == "within_tolerance"
    assert outputs.compare("model.pt", one_rule({"ulp": 0})).where == "$.w[1]"


def test_absolute_paths_of_another_directory_point_at_the_rule_that_accepts_them(outputs: Outputs) -> None:
    import torch

    w = torch.ones(2, 3)
    save(outputs, "last.ckpt", checkpoint(w, dirpath="/home/me/proj/lightning_logs/version_0/checkpoints"),
         checkpoint(w, dirpath="/tmp/replay-x/lightning_logs/version_0/checkpoints"))
    v = outputs.compare("last.ckpt", one_rule({"ulp": 1}))
    assert v.status == "differs"
    assert v.detail.startswith("only absolute paths differ, as when the replay runs in a copy of the project")
    assert 'accept them with paths: {"callbacks.*.dirpath": ignore, "callbacks.*.best_model_path": ignore}' in v.detail
    rules = one_rule({"ulp": 1, "paths": {"callbacks.*.dirpath": "ignore", "callbacks.*.best_model_path": "ignore"}})
    accepted = outputs.compare("last.ckpt", rules)
    assert accepted.status == "within_tolerance"
    assert accepted.detail.endswith("2 values left out at ignored paths")


class Custom:
    def __init__(self) -> None:
        self.x = 1


def test_a_file_weights_only_refuses_is_compared_as_bytes_saying_why(outputs: Outputs) -> None:
    save(outputs, "model.pt", {"obj": Custom(), "n": 1}, {"obj": Custom(), "n": 2})
    v = outputs.compare("model.pt", one_rule({"allclose": True}))
    assert (v.status, v.rule) == ("differs", "exact")
    assert v.detail.startswith("the recorded copy cannot be loaded with torch.load(weights_only=True) (Unsupported global")
    assert "a full unpickle would run code from the file" in v.detail


def test_a_bin_file_that_is_not_a_checkpoint(outputs: Outputs) -> None:
    outputs.write("data.bin", b"\x00\x01\x02", b"\x00\x01\x03")
    v = outputs.compare("data.bin", one_rule({"allclose": True}))
    assert (v.status, v.rule) == ("differs", "exact")
    assert v.detail.endswith("compared exactly: bytes differ from offset 2")


def test_a_legacy_pickle_checkpoint(outputs: Outputs) -> None:
    import torch

    rec, rep = outputs.paths("old.pt")
    torch.save({"w": torch.zeros(3)}, rec, _use_new_zipfile_serialization=False)
    torch.save({"w": torch.tensor([0.0, 0.0, 1e-9])}, rep, _use_new_zipfile_serialization=False)
    v = outputs.compare("old.pt", one_rule({"allclose": {"atol": 1e-6}}))
    assert (v.status, v.where) == ("within_tolerance", "$.w[2]")
