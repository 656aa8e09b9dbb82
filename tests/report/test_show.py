"""`repro show` of a run that observed thousands of files: a summary a reader can take in."""

from repro.report.show import MAX_LISTED, _grouped


def _files(paths: list[str]) -> list[dict]:
    return [{"path": p, "kind": "file", "size": 10, "digest": {"xxh3_128": "0" * 32}} for p in paths]


def test_few_directories_get_a_line_each():
    lines = _grouped(_files([f"data/d{d}/f{f}" for d in range(3) for f in range(10)]))
    assert lines[:3] == ["  data/d0/  10 files, 100 B", "  data/d1/  10 files, 100 B", "  data/d2/  10 files, 100 B"]


def test_many_directories_fold_into_their_parents_until_the_list_is_short():
    paths = [f"data/train/c{d:03}/f{f}" for d in range(150) for f in range(4)]
    paths += [f"data/test/c{d:03}/f{f}" for d in range(50) for f in range(2)] + ["notes.txt"]
    lines = _grouped(_files(paths))[:-1]
    assert len(lines) <= MAX_LISTED
    assert lines == ["  ./  1 files, 10 B", "  data/test/  100 files in 50 directories, 1000 B",
                     "  data/train/  600 files in 150 directories, 5.9 KiB"]
    assert sum(int(line.split()[1]) for line in lines) == len(paths)
