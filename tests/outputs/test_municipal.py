"""The batch's municipal files (no Dask here): names stay text, the map credits its network.

They sit apart from ``tests/test_batch.py``, whose clusters leave threads in the process.
"""

from __future__ import annotations

import geopandas as gpd
import shapely

from carecircle import batch
from carecircle.outputs import municipal

UTM = "EPSG:32648"
OX, OY = 640_000.0, 3_270_000.0


def _box(x: float, y: float, half: float = 15.0) -> shapely.Polygon:
    return shapely.box(OX + x - half, OY + y - half, OX + x + half, OY + y + half)


def test_names_stay_text_in_the_municipal_files(tmp_path):
    names = ["<script>alert(1)</script>", '=HYPERLINK("http://x")']
    areas = gpd.GeoDataFrame(
        {"district": names, "folder": [batch.folder_name(n) for n in names]},
        geometry=[_box(0, 0, 500), _box(1_000, 0, 500)],
        crs=UTM,
    )
    results = [
        batch.DistrictResult(n, batch.folder_name(n), "", batch.FAILED, error=f"bad {n}")
        for n in names
    ]
    table = batch.district_table(results, areas)
    staging = tmp_path / "staging"
    staging.mkdir()
    batch.write_municipal(table, areas, tmp_path, staging, lang="en")
    page = (staging / "map.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page
    assert "\\u0026lt;script\\u0026gt;alert(1)" in page or "&lt;script&gt;alert(1)" in page
    cells = (staging / "districts.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in cells
    assert all("/" not in folder and ".." not in folder for folder in areas["folder"])


def test_the_municipal_map_credits_the_network_and_names_its_circle(tmp_path):
    areas = gpd.GeoDataFrame(
        {"district": ["甲区"], "folder": ["districts/a"], "run": ["computed"]},
        geometry=[shapely.box(0, 0, 1000, 1000)],
        crs="EPSG:32648",
    ).assign(eldercare_share=[0.8], eldercare_rank=[1])
    page = (
        municipal.municipal_map(
            areas, circle_labels={"eldercare": "养老服务圈"}, credit="walking network: <roads>.shp"
        )
        .get_root()
        .render()
    )
    assert "养老服务圈覆盖率" in page
    assert "walking network: &amp;lt;roads&amp;gt;.shp" in page or "&lt;roads&gt;" in page
    assert "<roads>" not in page
    assert "imperial: false" in page
