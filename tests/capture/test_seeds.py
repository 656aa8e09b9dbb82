from repro.capture import seeds


def test_child_variables_set_hash_seed_and_threads():
    env = seeds.child_variables(7, 2)
    assert env["REPRO_SEED"] == env["PYTHONHASHSEED"] == "7"
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "2"
    assert "OMP_NUM_THREADS" not in seeds.child_variables(7, None)


def test_capture_records_what_was_really_seeded():
    events = [
        {"event": "start", "pid": 1},
        {"event": "seeded", "lib": "random", "value": 7, "pid": 1},
        {"event": "seeded", "lib": "random", "value": 7, "pid": 2},
        {"event": "seeded", "lib": "numpy", "value": 7, "pid": 1},
        {"event": "not_seeded", "lib": "jax", "reason": "no global generator", "pid": 1},
    ]
    facet = seeds.capture(7, "given", None, {"PYTHONHASHSEED": "7", "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}, events)
    assert facet["seeded"] == [{"lib": "numpy", "value": 7, "processes": 1}, {"lib": "random", "value": 7, "processes": 2}]
    assert facet["not_seeded"] == [{"lib": "jax", "reason": "no global generator"}]
    assert facet["variables"] == {"CUBLAS_WORKSPACE_CONFIG": ":4096:8", "PYTHONHASHSEED": "7"}
