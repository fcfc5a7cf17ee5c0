"""analysis.worklist on a hand-made practice with one patient of each kind (and patients who must not be listed):
kinds, order, reasons in words, the card's response window, patients without a start month."""

import pandas as pd
import pytest

from analysis import worklist
from analysis.card import Definitions


def _scores(pid, month, points, item9=None):
    """Rows of PHQ-9 scores (day, score) of one patient started in ``month`` (None: no start month)."""
    rows = []
    for i, (day, score) in enumerate(points):
        rows.append(
            {
                "patient_id": pid,
                "instrument": "PHQ9",
                "score": score,
                "day": day,
                "condition": "depression",
                "site": "North",
                "start_month": month,
                "phq9_item9": None if item9 is None else item9[i],
            }
        )
    return rows


@pytest.fixture(scope="module")
def practice():
    """The data end on 2026-03-21: Z (started in January) was seen on day 79. Started in March, A is on day 20."""
    rows = (
        _scores("Z", "2026-01", [(0, 20), (21, 9), (79, 9)])  # holding its response: not listed (sets the end)
        + _scores("A", "2026-03", [(0, 20)])  # day 20 now, window 14-31 open, no score yet: due
        + _scores("B", "2026-02", [(0, 20), (21, 16), (40, 15)])  # 20% drop at day 21: no response
        + _scores("C", "2026-01", [(0, 20), (21, 8), (70, 16)])  # responded, latest 16 (20% drop): loss
        + _scores("D", "2026-01", [(0, 20), (21, 8), (70, 9)])  # responded and holding: not listed
        + _scores("E", "2025-06", [(0, 20), (21, 8), (60, 18)])  # loss, but not seen for months: not listed
        + _scores("F", "2026-01", [(0, 20), (21, 8), (75, 15)], item9=[0, 0, 2])  # item 9 emergent, and a loss
        + _scores("G", None, [(0, 20)])  # no start month: at its last record (day 10): window not open yet
        + _scores("H", "2026-02", [(0, 20)])  # day 48 now: window closed without a score: not due
        + _scores("R", "2026-01", [(0, 20), (21, 16), (60, 8)])  # no response at day 21, a response since: not listed
    )
    a = pd.DataFrame(rows)
    sessions = [("A", d) for d in (0, 3, 6, 9, 12)] + [("G", d) for d in (0, 3, 6, 10)] + [("H", 40)]
    t = pd.DataFrame([{"patient_id": p, "day": d, "kind": "induction"} for p, d in sessions])
    return a, t


def test_one_patient_of_each_kind_most_urgent_first(practice):
    w = worklist.worklist(*practice)
    assert w["patient_id"].tolist() == ["F", "C", "B", "A"]
    assert w["kind"].tolist() == [worklist.ITEM9, worklist.LOSS, worklist.NO_RESPONSE, worklist.DUE]
    assert w["priority"].tolist() == [1, 2, 3, 4]
    assert worklist.counts(w) == {worklist.ITEM9: 1, worklist.LOSS: 1, worklist.NO_RESPONSE: 1, worklist.DUE: 1}


def test_reasons_say_what_was_seen_in_words(practice):
    w = worklist.worklist(*practice).set_index("patient_id")
    assert w.loc["A", "reason"] == (
        "response window (days 14 to 31) open: about day 20 now, 11 days left; no PHQ-9 since the baseline on day 0"
    )
    assert w.loc["B", "reason"] == (
        "PHQ-9 16 on day 21, 20% below the baseline 20 (response: 50% or more below); latest 15 on day 40"
    )
    assert w.loc["C", "reason"] == (
        "PHQ-9 16 on day 70, 20% below the baseline 20 (response: 50% or more below); responded with 8 on day 21"
    )
    # F: item 9 first, its loss of response beside it (listed once, under the most urgent kind)
    assert w.loc["F", "reason"].startswith(
        "latest answer 2 on day 75 (0 at baseline: emergent since day 75); see the Safety page; also: latest score "
        "suggests loss of response: PHQ-9 15 on day 75"
    )
    assert (w.loc["A", "day_now"], w.loc["A", "last_seen_day"]) == (20, 12)


def test_within_a_kind_the_most_urgent_comes_first():
    # two losses: the one furthest from the response threshold first; two due: the fewest days left first
    rows = (
        _scores("Z", "2026-01", [(0, 20), (21, 9), (79, 9)])
        + _scores("L1", "2026-01", [(0, 20), (21, 8), (70, 12)])  # 40% drop
        + _scores("L2", "2026-01", [(0, 20), (21, 8), (70, 19)])  # 5% drop: a bigger loss
        + _scores("A", "2026-03", [(0, 20)])
    )
    w = worklist.worklist(pd.DataFrame(rows))
    assert w["patient_id"].tolist() == ["L2", "L1", "A"]


def test_the_card_response_window_decides_what_is_due(practice):
    wide = Definitions(response_window=(14, 50))
    w = worklist.worklist(*practice, definitions=wide).set_index("patient_id")
    assert w.loc["H", "kind"] == worklist.DUE and "days 14 to 50" in w.loc["H", "reason"]
    assert "2 days left" in w.loc["H", "reason"]


def test_a_stricter_response_threshold_moves_a_holding_responder_onto_the_list(practice):
    # D holds 9 of 20 (55% below): a response at 50%, a loss at 60%
    strict = Definitions(response_drop={"PHQ9": 0.6})
    assert "D" not in worklist.worklist(*practice)["patient_id"].tolist()
    w = worklist.worklist(*practice, definitions=strict).set_index("patient_id")
    assert w.loc["D", "kind"] == worklist.LOSS and "60% or more below" in w.loc["D", "reason"]


def test_without_item_9_or_treatments_the_other_kinds_remain(practice):
    a, _ = practice
    w = worklist.worklist(a.drop(columns=["phq9_item9"]))
    assert worklist.counts(w)[worklist.ITEM9] == 0
    assert w.loc[w["patient_id"] == "F", "kind"].tolist() == [worklist.LOSS]
    # without the treatments A's last record is day 0, still within ACTIVE_DAYS of day 20: due
    assert w.loc[w["patient_id"] == "A", "kind"].tolist() == [worklist.DUE]


def test_an_empty_worklist_has_its_columns():
    rows = _scores("Z", "2026-01", [(0, 20), (21, 9), (79, 9)])
    w = worklist.worklist(pd.DataFrame(rows))
    assert w.empty and list(w.columns) == worklist.COLUMNS
