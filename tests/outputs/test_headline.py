"""The headline every official-facing output leads with (carecircle.outputs.headline)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from carecircle.outputs import headline as hl


def test_the_headline_figures_are_the_communities_sums(demo_analysis):
    head = hl.headline(demo_analysis)
    comm = demo_analysis.communities
    assert [c.circle for c in head.circles] == list(demo_analysis.circles_measured)
    for figures in head.circles:
        within = comm[f"{figures.circle}_within"].sum()
        residents = comm[f"{figures.circle}_residents"].sum()
        np.testing.assert_allclose(figures.share, within / residents)
        status = comm[f"{figures.circle}_status"]
        assert figures.covered == (status == "covered").sum()
        assert figures.partly == (status == "partial").sum()
        assert figures.covered + figures.partly + figures.not_covered + figures.not_analysed == len(
            comm
        )
    assert head.below_standard == (demo_analysis.facilities["standard_status"] == "below").sum()
    assert head.communities == len(comm) and head.facilities == len(demo_analysis.facilities)


def test_the_place_is_named_by_the_data_never_by_the_profile(demo_analysis):
    # the demo's townships are made up: the communities file names it
    assert hl.place_name(demo_analysis) == ("communities", hl.FROM_FILE)
    titled = dataclasses.replace(
        demo_analysis, parameters={**demo_analysis.parameters, "title": "万州区"}
    )
    assert hl.place_name(titled) == ("万州区", hl.FROM_TITLE)
    comm = demo_analysis.communities
    with_district = dataclasses.replace(demo_analysis, communities=comm.assign(district="渝中区"))
    assert hl.place_name(with_district) == ("渝中区", hl.FROM_DISTRICT_COLUMN)
    # townships of 运城's 盐湖区 in the bundled division codes
    towns = np.resize(["中城街道", "东城街道", "甲乙丙镇"], len(comm))
    in_yuncheng = dataclasses.replace(demo_analysis, communities=comm.assign(township=towns))
    assert hl.place_name(in_yuncheng) == ("盐湖区", hl.FROM_DIVISIONS)
    assert hl.headline(in_yuncheng).policy == demo_analysis.policy.title


def test_a_circle_without_residents_has_no_share_and_says_so(demo_analysis):
    comm = demo_analysis.communities.assign(eldercare_residents=0.0, eldercare_within=0.0)
    head = hl.headline(dataclasses.replace(demo_analysis, communities=comm))
    eldercare = next(c for c in head.circles if c.circle == "eldercare")
    assert np.isnan(eldercare.share)
    assert hl.share_text(eldercare) == "无数据" and hl.share_text(eldercare, "en") == "no data"


def test_the_counts_in_words_name_every_community_once(demo_analysis):
    for figures in hl.headline(demo_analysis).circles:
        expected = [figures.covered, figures.partly, figures.not_covered]
        expected += [figures.not_analysed] if figures.not_analysed else []
        for lang in ("zh", "en"):
            found = [int(n) for n in re.findall(r"\d+", hl.counts_text(figures, lang))]
            assert found == expected
