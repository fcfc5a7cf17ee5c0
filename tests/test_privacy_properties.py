"""No suppressed count can be solved from what one output shows (hypothesis): an attacker's integer program.

``solved`` plays the attacker on one output: every count shown is known, a "<11" lies in [1, 10], a withheld
count is at least 11 (the rule never withholds a count under the threshold but as "<11"), a funnel step is at
most the step before, and a total is the sum of its groups. For every hidden small count, and every difference
of two funnel steps from 1 to 10, it asks scipy's MILP (HiGHS) for the least and the greatest value that fits:
a count is solved when the two are equal."""

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from analysis import metrics, privacy
from analysis.outcomes import FUNNEL_COMPLEMENTS, FUNNEL_COUNTS

T = 11
#: the attacker's integer programs make shrinking slow; a failure prints its example all the same
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
CHAIN = [(FUNNEL_COUNTS.index(p), FUNNEL_COUNTS.index(w)) for p, w in FUNNEL_COMPLEMENTS]


def _hidden(v) -> bool:
    return v is None or isinstance(v, str)


def solved(true, shown, blocks, chain, threshold=T) -> list[str]:
    """What the attacker pins down: hidden small counts and small step differences whose least and greatest
    values that fit ``shown`` are equal. ``true`` and ``shown``: rows x columns (NaN / None where a cell does
    not exist in ``true``); ``blocks``: (total row, group rows); ``chain``: (part column, whole column)."""
    true = np.asarray(true, dtype=float)
    n_rows, n_cols = true.shape
    idx = np.arange(true.size).reshape(true.shape)
    lo, hi = np.zeros(true.size), np.full(true.size, 1e7)
    for r in range(n_rows):
        for c in range(n_cols):
            s, i = shown[r][c], idx[r, c]
            if math.isnan(true[r, c]):
                lo[i] = hi[i] = 0
            elif isinstance(s, str):
                assert s == f"<{threshold}", s
                lo[i], hi[i] = 1, threshold - 1
            elif s is None:
                lo[i] = threshold
            else:
                lo[i] = hi[i] = float(s)
    rows, lb, ub = [], [], []
    for r in range(n_rows):
        for p, w in chain:
            if not (math.isnan(true[r, p]) or math.isnan(true[r, w])):
                a = np.zeros(true.size)
                a[idx[r, w]], a[idx[r, p]] = 1, -1
                rows.append(a), lb.append(0), ub.append(np.inf)
    for total, groups in blocks:
        for c in range(n_cols):
            if not math.isnan(true[total, c]) and true[total, c] == np.nansum(true[groups, c]):
                a = np.zeros(true.size)
                a[idx[total, c]] = 1
                a[idx[groups, c]] = -1
                rows.append(a), lb.append(0), ub.append(0)
    cons = [LinearConstraint(np.array(rows), lb, ub)] if rows else []
    pairs = set(chain)
    while more := {(p, w2) for p, w in pairs for p2, w2 in pairs if p2 == w} - pairs:
        pairs |= more
    targets = []
    for r in range(n_rows):
        for c in range(n_cols):
            if isinstance(shown[r][c], str):
                a = np.zeros(true.size)
                a[idx[r, c]] = 1
                targets.append((f"cell {r},{c}", a))
        for p, w in sorted(pairs):
            d = true[r, w] - true[r, p]
            if 1 <= d < threshold:
                a = np.zeros(true.size)
                a[idx[r, w]], a[idx[r, p]] = 1, -1
                targets.append((f"step {r}: {w}-{p}", a))
    out = []
    for name, a in targets:
        ends = []
        for sign in (1, -1):
            res = milp(sign * a, constraints=cons, integrality=np.ones(true.size), bounds=Bounds(lo, hi))
            assert res.status == 0, (name, res.message)  # the truth always fits
            ends.append(sign * res.fun)
        if ends[1] - ends[0] < 1:
            out.append(f"{name} = {ends[0]:g}")
    return out


# -- random funnel tables: a total row beside groups ------------------------------------------------------------


@st.composite
def funnel_groups(draw):
    """1 to 6 groups, each a funnel of nested counts with small numbers and small steps frequent."""
    n = draw(st.integers(1, 6))
    rows = []
    for _ in range(n):
        step = st.one_of(st.integers(0, 3), st.integers(0, 12), st.integers(0, 60))
        patients = draw(st.one_of(st.integers(0, 15), st.integers(0, 120)))
        base = max(patients - draw(step), 0)
        assess = max(base - draw(step), 0)
        evaluable = max(assess - draw(step), 0)
        responders = max(evaluable - draw(step), 0)
        remitters = max(evaluable - draw(step), 0)
        follow = max(responders - draw(step), 0)
        rows.append([patients, base, assess, evaluable, responders, remitters, follow])
    return np.array(rows, dtype=float)


def _with_total(groups):
    return np.vstack([groups.sum(axis=0), groups])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_SHRINK)
@given(funnel_groups())
def test_no_hidden_count_of_a_funnel_table_with_its_total_can_be_solved(groups):
    true = _with_total(groups)
    table = pd.DataFrame(true, columns=list(FUNNEL_COUNTS))
    blocks = [(0, list(range(1, len(true))))]
    shown = privacy.suppress_table(table, FUNNEL_COUNTS, complements=FUNNEL_COMPLEMENTS, blocks=blocks)
    assert solved(true, shown.values.tolist(), blocks, CHAIN) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_SHRINK)
@given(funnel_groups(), funnel_groups())
def test_two_groupings_of_one_total_leave_no_hidden_count_solvable(a, b):
    """Overall beside two dimensions (condition and site): the second grouping is rescaled to the same total."""
    total = a.sum(axis=0)
    b = np.vstack([b[:-1], np.maximum(total - b[:-1].sum(axis=0), 0)]) if len(b) > 1 else total[None, :]
    if not np.array_equal(b.sum(axis=0), total) or any((b[:, p] > b[:, w]).any() for p, w in CHAIN):
        return  # not a valid second grouping of the same patients
    true = np.vstack([total, a, b])
    blocks = [(0, list(range(1, 1 + len(a)))), (0, list(range(1 + len(a), len(true))))]
    shown = privacy.suppress_table(
        pd.DataFrame(true, columns=list(FUNNEL_COUNTS)), FUNNEL_COUNTS, complements=FUNNEL_COMPLEMENTS, blocks=blocks
    )
    assert solved(true, shown.values.tolist(), blocks, CHAIN) == []


# -- random practices: the summary's JSON, one output ----------------------------------------------------------

patient = st.fixed_dictionaries(
    {
        "condition": st.sampled_from(["depression", "depression", "anxiety", None]),
        "site": st.sampled_from(["North", "North", "South", "East"]),
        "month": st.sampled_from(["2025-01", "2025-02"]),
        "baseline": st.one_of(st.none(), st.integers(0, 27)),
        "week3": st.one_of(st.none(), st.integers(0, 27)),
        "later": st.one_of(st.none(), st.integers(0, 27)),
        "copies": st.integers(1, 8),
    }
)


def practice_tables(practice):
    rows, k = [], 0
    for p in practice:
        for _ in range(p["copies"]):
            k += 1
            common = {"patient_id": f"p{k}", "instrument": "PHQ9", "condition": p["condition"], "site": p["site"]}
            common["start_month"] = p["month"]
            rows.append({**common, "score": 20, "day": -40})  # every patient has a score
            for day, key in ((0, "baseline"), (21, "week3"), (60, "later")):
                if p[key] is not None:
                    rows.append({**common, "score": p[key], "day": day})
    return pd.DataFrame(rows)


def json_system(j, code="PHQ9"):
    """(true-shaped rows as shown, blocks) of one instrument in ``summary --json``: overall, then each grouping."""
    entry = j["by_instrument"][code]
    shown = [[entry["overall"][c] for c in FUNNEL_COUNTS]]
    blocks = []
    for key in ("by_condition", "by_site", "by_start_month"):
        groups = list(entry.get(key, {}).values())
        if groups:
            blocks.append((0, list(range(len(shown), len(shown) + len(groups)))))
            shown += [[g[c] for c in FUNNEL_COUNTS] for g in groups]
    return shown, blocks


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=NO_SHRINK)
@given(st.lists(patient, min_size=1, max_size=14))
def test_no_suppressed_count_can_be_solved_from_the_summary_json(practice):
    a = practice_tables(practice)
    s = metrics.summary(a)
    true = s.rates[s.rates["instrument"] == "PHQ9"].reset_index(drop=True)
    shown, blocks = json_system(s.to_json())
    assert len(shown) == len(true)
    values = true[list(FUNNEL_COUNTS)].astype(float).to_numpy()
    assert solved(values, shown, blocks, CHAIN) == [], (values.tolist(), shown)
