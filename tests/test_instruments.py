import pytest

from analysis import instruments


@pytest.mark.parametrize(
    "spelling, code",
    [
        ("PHQ-9", "PHQ9"),
        ("Pain NRS (0-10)", "PAIN_NRS"),
        ("gad 7", "GAD7"),
        ("PCL-5 Total Score", "PCL5"),
        ("QIDS-SR16", "QIDS_SR16"),
        ("BDI-II", "BDI2"),
        ("Montgomery-Åsberg Depression Rating Scale", "MADRS"),
        ("YMRS", "YMRS"),
    ],
)
def test_instrument_spellings_are_normalised(spelling, code):
    assert instruments.normalise_code(spelling) == code


def test_unknown_instrument_is_none_and_get_says_what_is_known():
    assert instruments.normalise_code("HAM-D") is None
    with pytest.raises(KeyError, match="known: PHQ9"):
        instruments.get("HAM-D")


def test_registry_holds_the_design_defaults():
    r = instruments.registry()
    assert (r["PHQ9"].max, r["PHQ9"].response_drop, r["PHQ9"].remission_max) == (27, 0.5, 4)
    assert (r["PCL5"].response_drop, r["PCL5"].remission_max) == (0.3, 32)
    assert r["PAIN_NRS"].remission_max is None
    assert r["MADRS"].band_cuts == (7, 20, 35)
    assert all(i.citation for i in r.values())


def test_severity_bands():
    phq = instruments.get("PHQ9")
    assert [phq.band(s) for s in (0, 4, 5, 14, 15, 27)] == [
        "minimal",
        "minimal",
        "mild",
        "moderate",
        "moderately severe",
        "severe",
    ]
    assert instruments.get("PCL5").band(50) is None
