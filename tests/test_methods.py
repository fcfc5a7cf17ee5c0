"""analysis.methods: the one list of citations (the Methods page and the PDF report use it)."""

import pytest

from analysis import instruments, methods


def test_the_statistical_methods_are_cited_once_each():
    refs = methods.STATISTICS_CITATIONS
    assert len(set(refs)) == len(refs)
    for author in (
        "Wilson EB",
        "Kaplan EL, Meier P",
        "Greenwood M",
        "Mantel N",
        "Peto R, Peto J",
        "Cox DR",
        "Efron B",
        "Bates D",
        "Centers for Medicare",
    ):
        assert sum(r.startswith(author) for r in refs) == 1, author


def test_citations_put_the_methods_first_then_each_instrument_with_its_registry_citation():
    out = methods.citations(["PHQ-9", "GAD7"])
    assert [ref for what, ref in out[: len(methods.STATISTICS_CITATIONS)]] == list(methods.STATISTICS_CITATIONS)
    assert all(what == "" for what, _ in out[: len(methods.STATISTICS_CITATIONS)])
    assert out[len(methods.STATISTICS_CITATIONS) :] == [
        ("PHQ9", instruments.get("PHQ9").citation),
        ("GAD7", instruments.get("GAD7").citation),
    ]


def test_without_codes_every_instrument_of_the_registry_is_cited():
    cited = [what for what, _ in methods.citations() if what]
    assert cited == list(instruments.registry())


def test_an_unknown_instrument_is_refused():
    with pytest.raises(KeyError, match="HAMD"):
        methods.citations(["HAMD"])


def test_the_methods_paragraph_names_the_trajectory_knots_in_force():
    from analysis.card import Definitions
    from analysis.methods import methods_text

    default = methods_text(Definitions(knots=[14]), ["PHQ9"], 11)  # one knot at the end of induction
    two = methods_text(Definitions(knots=(14, 56)), ["PHQ9"], 11)
    assert "knotted at day 14 (the end of induction)" in default
    assert "knotted at days 14 and 56" in two and "(the end of induction)" not in two
