"""Saved graph files get the permissions any new file gets (0666 less the umask), and
overwriting a file keeps its mode (issue 11.12: every save gave 0600, the temporary file's)."""
import os
import stat

import pytest

from spark_snn.engine import Graph, Node, load, save


def _graph():
    g = Graph()
    g.add_node(Node("pool", "lif", {"size": 3}, (1.0, 2.0)))
    return g


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_mode_follows_umask(tmp_path, umask, mask, expected):
    umask(mask)
    path = tmp_path / "g.json"
    save(_graph(), path)
    assert _mode(path) == expected
    assert load(path) == _graph()


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600, 0o444])
def test_overwrite_keeps_mode(tmp_path, umask, mode):
    umask(0o022)
    path = tmp_path / "g.json"
    path.write_text("old")
    os.chmod(path, mode)
    if mode == 0o444 and os.geteuid() != 0:
        pytest.skip("a read-only file cannot be replaced in place by a normal user")
    save(_graph(), path)
    assert _mode(path) == mode
    assert load(path) == _graph()
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]  # no temporary file left


def test_save_through_a_symlink_updates_the_target(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "real.json"
    save(Graph(), target)
    os.chmod(target, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    save(_graph(), link)
    assert link.is_symlink() and load(target) == _graph()
    assert _mode(target) == 0o640
