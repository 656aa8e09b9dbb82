"""The knobs as data: parsing --vary, what each variation changes, what does not apply, the budget."""

from __future__ import annotations

import pytest

from repro.doctor import knobs, plan
from repro.doctor.blas import Blas, Libraries
from repro.errors import UsageError


def context(**kw) -> knobs.Context:
    base = dict(seed=7, pythonhashseed="7", threads=None, variables={}, environment={}, cpus=4, sandbox="bwrap",
                libraries=Libraries("2.0", ("AVX2",), (Blas("openblas", "0.3", "Haswell", 4),)), locales=("C", "C.utf8"))
    return knobs.Context(**{**base, **kw})


def test_vary_keeps_the_order_asked_and_the_users_variables():
    asked = knobs.parse("tz,env:MYFLAG=on,threads")
    assert asked.items == ("tz", ("MYFLAG", "on"), "threads")
    assert [name for name, _ in knobs.variations(asked, context())] == ["tz", "env:MYFLAG", "threads"]
    assert knobs.parse(None).items == knobs.DEFAULT


@pytest.mark.parametrize("spec", ["moon", "env:", "env:TZ", "env:A-B=1"])
def test_a_bad_vary_is_a_usage_error(spec):
    with pytest.raises(UsageError):
        knobs.parse(spec)


def test_each_variation_changes_one_condition():
    found = dict(knobs.variations(knobs.parse("threads,hashseed,seed,blas,isa,cwd,listing,tz,locale"), context()))
    assert found["threads"].conditions.threads == 1
    assert found["hashseed"].conditions.env == {"PYTHONHASHSEED": "8"}
    seed = found["seed"]
    assert seed.conditions.seed == 8 and seed.conditions.env == {"PYTHONHASHSEED": "7"} and seed.expected
    assert found["blas"].conditions.env == {"OPENBLAS_CORETYPE": "Prescott"}
    assert found["isa"].conditions.env == {"NPY_DISABLE_CPU_FEATURES": "AVX2"}
    assert found["cwd"].sandbox == "copy"
    assert found["listing"].conditions.listing == "reverse"
    assert found["tz"].conditions.env == {"TZ": "Asia/Kathmandu"}
    assert found["locale"].conditions.env == {"LC_ALL": "C.utf8"}


def test_one_thread_recorded_is_varied_to_several():
    (_, v), = knobs.variations(knobs.parse("threads"), context(threads=1))
    assert v.conditions.threads == 4


def test_mkl_gets_its_own_switch_and_an_unknown_blas_none():
    mkl = Libraries("2.0", (), (Blas("mkl"),))
    (_, v), = knobs.variations(knobs.parse("blas"), context(libraries=mkl))
    assert v.conditions.env == {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"} and "MKL_CBWR=COMPATIBLE" in v.fix
    (_, why), = knobs.variations(knobs.parse("blas"), context(libraries=Libraries("2.0", (), (Blas("blis"),))))
    assert isinstance(why, str) and "blis" in why


def test_what_does_not_apply_says_why():
    found = dict(knobs.variations(knobs.parse("blas,isa,cwd,locale"),
                                  context(libraries=Libraries(), sandbox="copy", locales=("C.utf8",),
                                          environment={"LC_ALL": "C.UTF-8"})))
    assert all(isinstance(v, str) for v in found.values()), found
    assert "baseline covers" in found["cwd"]


def test_the_budget_counts_the_baselines_first():
    p = plan.make(knobs.parse("threads,hashseed,tz"), context(), budget=3)
    assert [j.label for j in p.baselines] == ["baseline 1", "baseline 2"]
    assert [j.knob for j in p.variations] == ["threads"]
    assert [(t.knob, t.status) for t in p.skipped] == [("hashseed", "not tried"), ("tz", "not tried")]
    assert len(plan.make(knobs.parse("threads"), context(), budget=1).baselines) == 1
