"""Noding a road layer's lines into a walking network (carecircle.topology)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyproj
import pytest
import shapely
from pyproj import Transformer

from carecircle import network, topology
from carecircle.errors import NetworkError
from carecircle.topology import Lines

# a Transverse Mercator on Chongqing with no scale error near its origin: the hand-made lines'
# metres are their lengths on the ellipsoid to a micrometre
CRS = "+proj=tmerc +lat_0=29.56 +lon_0=106.55 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"


def _lines(*coords, level=None, tags=None):
    geoms = [shapely.LineString(c) for c in coords]
    return Lines.from_geometries(np.array(geoms, dtype=object), level=level, tags=tags)


def _build(*coords, tol=0.5, **kwargs):
    return topology.build(_lines(*coords, **kwargs), crs=CRS, snap_tolerance_m=tol)


def _degree(net):
    return np.bincount(np.concatenate([net.u, net.v]), minlength=net.n_nodes)


def test_two_pieces_of_a_street_meeting_end_to_end_share_their_node():
    net, report = _build([(0, 0), (50, 0)], [(50, 0), (100, 0)])
    assert (net.n_nodes, net.n_edges) == (3, 2)
    assert sorted(_degree(net)) == [1, 1, 2]
    assert report.parts == 1 and report.dangles == 2 and report.crossings == 0


def test_a_street_drawn_across_another_without_a_shared_vertex_is_noded():
    net, report = _build([(0, 0), (100, 0)], [(50, -50), (50, 50)])
    assert (net.n_nodes, net.n_edges, report.crossings, report.passes) == (5, 4, 1, 0)
    centre = np.flatnonzero(_degree(net) == 4)
    assert centre.size == 1
    assert (net.x[centre[0]], net.y[centre[0]]) == (50.0, 0.0)
    np.testing.assert_allclose(np.sort(net.length_m), [50, 50, 50, 50])


def test_a_bridge_over_a_street_is_not_noded_but_its_ends_join_what_they_meet():
    # the bridge (level 1) crosses the street at x = 50; its west end lands on a lane
    street = [(0, 0), (100, 0)]
    bridge = [(50, -50), (50, 50)]
    lane = [(20, -50), (50, -50)]
    net, report = _build(street, bridge, lane, level=np.array([0, 1, 0]))
    assert (report.crossings, report.passes) == (0, 1)
    assert net.n_edges == 3
    assert report.parts == 2  # street apart; bridge and lane joined at the bridge's end


def test_a_near_miss_inside_the_tolerance_is_snapped_onto_the_street():
    street = [(0, 0), (100, 0)]
    alley = [(40, 0.3), (40, 30)]  # stops 0.3 m short of the street
    net, report = _build(street, alley, tol=0.5)
    assert (net.n_nodes, net.n_edges, report.snapped_ends, report.parts) == (4, 3, 1, 1)
    joint = np.flatnonzero(_degree(net) == 3)[0]
    # the node is on the street, which does not bend towards the alley
    assert (net.x[joint], net.y[joint]) == (40.0, 0.0)
    np.testing.assert_allclose(net.length_m.sum(), 100 + 30)


def test_a_near_miss_outside_the_tolerance_stays_apart():
    net, report = _build([(0, 0), (100, 0)], [(40, 0.8), (40, 30)], tol=0.5)
    assert (net.n_nodes, net.n_edges, report.snapped_ends, report.parts) == (4, 2, 0, 2)
    assert report.dangles == 4


def test_ends_a_little_apart_join_at_one_node():
    net, report = _build([(0, 0), (50, 0)], [(50.2, 0.1), (100, 0)], tol=0.5)
    assert (net.n_nodes, net.n_edges, report.snapped_ends) == (3, 2, 1)


def test_duplicates_and_zero_length_pieces_are_removed_and_counted():
    net, report = _build([(0, 0), (100, 0)], [(100, 0), (0, 0)], [(5, 5), (5, 5)], tol=0)
    assert (net.n_edges, report.duplicates, report.zero_length, report.lines) == (1, 1, 1, 3)


def test_a_ring_stays_two_edges():
    net, _ = _build([(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)], tol=0)
    assert net.n_edges == 2
    np.testing.assert_allclose(net.length_m.sum(), 400)
    assert set(_degree(net)) == {2}


def test_a_line_s_tags_go_to_each_of_its_edges_along_it():
    tags = {"highway": np.array(["steps", "residential"], dtype=object)}
    net, _ = _build([(50, -50), (50, 50)], [(0, 0), (100, 0)], tags=tags)
    highway = net.edge_tag("highway")
    assert sorted(highway) == ["residential", "residential", "steps", "steps"]
    steps = highway == "steps"
    # each steps edge runs along the line as drawn: from south to north
    assert (net.y[net.v[steps]] > net.y[net.u[steps]]).all()


def test_a_3d_line_keeps_its_elevations_and_interpolates_them_at_a_new_node():
    street = shapely.LineString([(0, 0, 200), (100, 0, 210)])
    cross = shapely.LineString([(40, -10), (40, 10)])
    net, _ = topology.build(Lines.from_geometries(np.array([street, cross], dtype=object)), crs=CRS)
    coords, edge = shapely.get_coordinates(net.geometry, return_index=True)
    assert net.z_m is not None and net.z_m.size == coords.shape[0]
    on_street = np.isfinite(net.z_m)
    np.testing.assert_allclose(net.z_m[on_street & (coords[:, 0] == 40)], 204.0)
    assert np.isnan(net.z_m[~on_street]).all()  # the 2D line has none
    street_edge = np.bincount(edge, weights=coords[:, 1] != 0) == 0
    assert (street_edge[edge] == on_street).all()


def test_a_crossing_at_a_shared_vertex_is_counted_once():
    net, report = _build([(0, 0), (50, 0), (100, 0)], [(50, -50), (50, 0), (50, 50)])
    assert (net.n_nodes, net.n_edges, report.crossings) == (5, 4, 1)


def test_random_lines_are_noded_as_shapely_nodes_them():
    rng = np.random.default_rng(7)
    start = rng.uniform(0, 1000, (300, 2))
    end = start + rng.uniform(-150, 150, (300, 2))
    middle = (start + end) / 2 + rng.uniform(-20, 20, (300, 2))
    coords = np.stack([start, middle, end], axis=1)
    geoms = shapely.linestrings(coords)
    net, report = topology.build(Lines.from_geometries(geoms), crs=CRS, snap_tolerance_m=0)
    pieces = shapely.get_parts(shapely.node(shapely.multilinestrings(geoms)))
    assert net.n_edges == pieces.size
    np.testing.assert_allclose(net.length_m.sum(), shapely.length(pieces).sum())
    assert report.crossings > 100


def test_bad_inputs_are_said_in_one_line():
    lines = _lines([(0, 0), (1, 0)])
    with pytest.raises(NetworkError, match="projected CRS"):
        topology.build(lines, crs="EPSG:4490")
    with pytest.raises(NetworkError, match="tolerance must be 0 or more"):
        topology.build(lines, crs=CRS, snap_tolerance_m=-1)
    with pytest.raises(NetworkError, match="no line has a length"):
        topology.build(_lines([(3, 3), (3, 3)]), crs=CRS)


# --- OpenStreetMap and a road layer together ---------------------------------------------------


def _osm(x, y, u, v, **tags):
    net = network.from_arrays(x, y, u, v, crs=CRS, source="town.osm")
    edge_tags = {name: np.array(values, dtype=object) for name, values in tags.items()}
    return dataclasses.replace(net, edge_tags=edge_tags)


def _layer(*coords, **kwargs):
    net, _ = topology.build(_lines(*coords, **kwargs), crs=CRS, source="roads.shp")
    return net


def test_a_layer_fills_osm_s_gap_and_leaves_out_the_streets_osm_has():
    osm = _osm([0, 100], [0, 0], [0], [1])
    # the survey draws the street 3 m off OSM's, and an alley from it that OSM lacks
    layer = _layer([(0, 3), (100, 3)], [(60, 3), (60, 80)])
    both, counts = topology.combine(osm, layer)
    assert counts["combine_layer_edges_in_osm"] == 2 and counts["combine_layer_edges_added"] == 1
    assert both.n_edges == 3 and both.component.max() == 0
    source = both.edge_tag("source")
    assert sorted(source) == ["roads.shp", "town.osm", "town.osm"]
    alley = np.flatnonzero(source == "roads.shp")[0]
    # the alley's end moved onto OSM's street, which is split there
    joint = {both.u[alley], both.v[alley]} & set(np.flatnonzero(both.y == 0))
    assert [both.x[j] for j in joint] == [60.0]
    np.testing.assert_allclose(both.length_m.sum(), 100 + np.hypot(0, 80))


def test_a_layer_street_crossing_osm_s_is_noded_unless_osm_s_is_a_bridge():
    layer = _layer([(50, -50), (50, 50)])
    ground = _osm([0, 100], [0, 0], [0], [1])
    both, counts = topology.combine(ground, layer)
    assert (both.n_edges, counts["topology_crossings"]) == (4, 1)
    bridge = _osm([0, 100], [0, 0], [0], [1], bridge=["yes"], layer=["1"])
    both, counts = topology.combine(bridge, layer)
    assert (both.n_edges, counts["topology_passes"], both.component.max()) == (2, 1, 1)


def test_osm_s_own_ways_are_not_noded_or_snapped_against_each_other():
    # two OSM ways cross without a shared node (OSM says they do not meet), and a footway
    # ends 0.3 m from a street; a layer far away changes neither
    osm = _osm([0, 100, 50, 50, 0, 0], [0, 0, -50, 50, 0.3, 30], [0, 2, 4], [1, 3, 5])
    layer = _layer([(500, 500), (600, 500)])
    both, _ = topology.combine(osm, layer)
    assert both.n_edges == 4
    assert np.unique(both.component).size == 4


def test_osm_s_node_tags_and_a_layer_s_steps_beside_its_street_are_kept():
    osm = network.from_arrays([0, 100, 100], [0, 0, 40], [0, 1], [1, 2], crs=CRS)
    osm = dataclasses.replace(
        osm,
        source="town.osm",
        edge_tags={"highway": np.array(["residential", "footway"], dtype=object)},
        node_tags={"highway": np.array(["", "elevator", ""], dtype=object)},
    )
    steps = {"highway": np.array(["steps"], dtype=object)}
    layer = _layer([(0, 4), (100, 4)], tags=steps)  # a flight beside OSM's street
    both, counts = topology.combine(osm, layer)
    assert counts["combine_layer_edges_added"] == 1
    assert "steps" in set(both.edge_tag("highway"))
    elevator = np.flatnonzero(both.node_tag("highway") == "elevator")
    assert [(both.x[i], both.y[i]) for i in elevator] == [(100.0, 0.0)]


def test_osm_in_another_crs_is_brought_into_the_layer_s():
    utm = "EPSG:32648"
    to_utm = Transformer.from_crs(CRS, utm, always_xy=True)
    x, y = to_utm.transform([0.0, 100.0], [0.0, 0.0])
    osm = network.from_arrays(x, y, [0], [1], crs=utm, source="town.osm")
    layer = _layer([(50, -50), (50, 50)])
    both, _ = topology.combine(osm, layer)
    assert both.crs.equals(pyproj.CRS(CRS))
    assert both.n_edges == 4
    np.testing.assert_allclose(both.length_m.sum(), 200, atol=0.001)


def test_the_same_streets_from_osm_and_from_a_layer_give_the_same_walking_metres():
    osm = _osm([0, 100, 100, 0, 200], [0, 0, 100, 100, 0], [0, 1, 2, 3, 1], [1, 2, 3, 0, 4])
    lines = Lines.from_geometries(osm.geometry)
    layer, _ = topology.build(lines, crs=CRS, snap_tolerance_m=0)
    d_osm = _all_pairs(osm)
    d_layer = _all_pairs(layer)
    at = [int(np.flatnonzero((layer.x == osm.x[i]) & (layer.y == osm.y[i]))[0]) for i in range(5)]
    np.testing.assert_allclose(d_layer[np.ix_(at, at)], d_osm)


def _all_pairs(net):
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import dijkstra

    graph = coo_array((net.length_m, (net.u, net.v)), shape=(net.n_nodes, net.n_nodes))
    return dijkstra(graph.tocsr(), directed=False)


def test_a_path_across_osm_s_street_is_not_taken_for_the_street():
    osm = _osm([0, 100], [0, 0], [0], [1])
    crossing = _layer([(50, -6), (50, 6)])  # 12 m across the street, all within 8 m of it
    both, counts = topology.combine(osm, crossing)
    assert counts["combine_layer_edges_in_osm"] == 0
    assert both.n_edges == 4 and both.component.max() == 0


def test_an_end_near_two_lines_joins_the_nearest_only():
    # an alley ends 0.2 m from one street and 0.4 m from another, which do not meet: the
    # alley joins the nearer, and the two streets stay apart
    net, _ = _build([(0, 0), (100, 0)], [(0, 0.6), (100, 0.6)], [(50, 0.2), (50, -30)], tol=0.5)
    assert np.unique(net.component).size == 2
    assert net.n_edges == 4


def test_no_matching_distance_keeps_every_layer_edge():
    osm = _osm([0, 100], [0, 0], [0], [1])
    both, counts = topology.combine(osm, _layer([(0, 1), (100, 1)]), match_m=0)
    assert counts["combine_layer_edges_in_osm"] == 0 and both.n_edges == 2


def test_a_flight_of_steps_cut_at_a_landing_keeps_its_steps_once():
    tags = {"highway": np.array(["steps", "footway"], dtype=object)}
    tags["step_count"] = np.array(["24", ""], dtype=object)
    # 30 m of steps crossed by a path 10 m from its foot
    net, _ = _build([(0, 0), (0, 30)], [(-5, 10), (5, 10)], tags=tags)
    steps = net.edge_tag("highway") == "steps"
    counts = net.edge_tag("step_count")[steps].astype(float)
    np.testing.assert_allclose(sorted(counts), [8, 16])
