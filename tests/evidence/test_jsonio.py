import json
import os

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from repro.evidence import jsonio
from repro.errors import InvalidManifestError


def test_duplicate_keys_rejected():
    with pytest.raises(InvalidManifestError, match="duplicate key 'a'"):
        jsonio.loads_strict(b'{"a": 1, "a": 2}')


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_rejected(constant):
    with pytest.raises(InvalidManifestError, match="non-finite"):
        jsonio.loads_strict(f'{{"x": {constant}}}'.encode())


def test_bad_utf8_and_bom_rejected():
    with pytest.raises(InvalidManifestError, match="not UTF-8"):
        jsonio.loads_strict(b'{"a": "\xff"}')
    with pytest.raises(InvalidManifestError, match="byte-order mark"):
        jsonio.loads_strict('\ufeff{}'.encode())


def test_deep_nesting_rejected_without_recursion():
    with pytest.raises(InvalidManifestError, match="nesting deeper"):
        jsonio.loads_strict(b"[" * 100000 + b"]" * 100000)


@pytest.mark.parametrize("text, deep", [
    ("[" * 64 + "]" * 64, False),
    ("[" * 65 + "]" * 65, True),
    ('{"a": [' * 40 + "1" + "]}" * 40, True),  # 80 levels, objects and arrays mixed
    ("[[]," * 30 + "[]" + "]" * 30, False),  # siblings do not add up
    ("[" * 100000, True),  # left open
])
def test_nesting_is_measured_exactly(text, deep):
    if deep:
        with pytest.raises(InvalidManifestError, match="nesting deeper"):
            jsonio.loads_strict(text.encode())
    else:
        jsonio.loads_strict(text.encode())


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert jsonio.loads_strict(json.dumps({"s": "[" * 500}).encode()) == {"s": "[" * 500}


def test_truncated_document_names_position():
    with pytest.raises(InvalidManifestError, match="line 1 column"):
        jsonio.loads_strict(b'{"a": [1, 2')


def test_canonical_bytes_ignore_key_order_and_indentation():
    a = jsonio.loads_strict(b'{"b": 1, "a": [1.0, "x"]}')
    b = jsonio.loads_strict(b'{\n  "a": [1.0, "x"],\n  "b": 1\n}')
    assert jsonio.canonical_bytes(a) == jsonio.canonical_bytes(b) == b'{"a":[1,"x"],"b":1}'


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "f.json"
    jsonio.write_atomic(target, b"one")
    jsonio.write_atomic(target, b"two", mode=0o600)
    assert target.read_bytes() == b"two"
    assert oct(os.stat(target).st_mode & 0o777) == oct(0o600)
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_write_atomic_keeps_old_file_when_write_fails(tmp_path):
    target = tmp_path / "f.json"
    jsonio.write_atomic(target, b"old")

    with pytest.raises(TypeError):
        jsonio.write_atomic(target, object())  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


_json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
        st.floats(allow_nan=False, allow_infinity=False), st.text(),
        st.sampled_from([1.0, -0.0, 1e16, 1e21, 1e-7, 0.00001, 123456789012345680000.0, 5e-324, 0.1, 1e15 + 0.5]),
    ),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(_json_values)
def test_canonical_bytes_equal_the_reference_implementation(value):
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError):
        with pytest.raises(InvalidManifestError):
            jsonio.canonical_bytes(value)
        return
    assert jsonio.canonical_bytes(value) == expected
