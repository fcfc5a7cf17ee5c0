"""What the Durability page shows of analysis.durability: the headline tiles and under them the restricted mean
durability and how the groups differ in it, the medians in words, the table of medians, restricted means and shares still
responding (all as Durability.groups_shown() and rmean_differences_shown() let them be shown)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts, coxph, formatting, privacy, schema
from ui import show
from ui.session import threshold
from ui.widgets import GROUPINGS


def durability_results(assessments, treatments, instrument: str, by: str | None, definitions):
    """(analysis.durability.analyse by ``by``, the same without grouping): one analysis, the ungrouped
    numbers taken from its episodes (durability.overall; the same result when ``by`` is None)."""
    from analysis import durability

    res = durability.analyse(assessments, treatments, instrument, by=by, definitions=definitions)
    return res, durability.overall(res)


def headline(overall, res) -> None:
    """Tiles: responders followed of all responders (as the Overview counts responders), median durability, share
    still responding at the card's days; under them the log-rank test in words (logrank_sentence) and the
    restricted mean durability and the groups' differences in it (rmean_caption)."""
    from analysis.durability import horizon

    shown = overall.groups_shown()
    g = shown.iloc[0] if len(shown) else None
    days = overall.definitions.survival_days
    cols = st.columns([1.7] + [1] * (1 + len(days)))
    small = g is None or isinstance(g["n"], str)
    cols[0].metric(
        "Responders with follow-up",
        followed_of_responders(overall),
        help="Responders with a score after their response assessment (the durability episodes), of all responders "
        "(the Overview's count). A responder with no later score cannot show how long response lasts.",
        border=True,
    )
    med = formatting.DASH if small or g["median"] is None else formatting.days(g["median"])
    ci = (
        ""
        if med in (formatting.DASH, formatting.NOT_REACHED)
        else f"95% CI {formatting.days(g['median_lower'], unit=True)} to {formatting.days(g['median_upper'], unit=True)}"
    )
    cols[1].metric(
        "Median days",
        med,
        help=f"Median durability: half of the responders still respond at this day. {ci}".strip(),
        border=True,
    )
    for col, day in zip(cols[2:], days):
        v = None if small else g[f"s{day}"]
        col.metric(
            f"At {day // 7} weeks" if day % 7 == 0 else f"At day {day}",
            formatting.percent(v),
            help="Withheld: too few responders still followed."
            if v is None
            else None
            if pd.isna(v)
            else f"Still responding at day {day}; 95% CI {formatting.percent(g[f's{day}_lower'])} to {formatting.percent(g[f's{day}_upper'])}.",
            border=True,
        )
    sentence = logrank_sentence(res)
    if sentence:
        st.markdown(sentence)
    if g is not None:
        groups = res.groups_shown() if res.by else None
        st.caption(rmean_caption(None if small else g, res.rmean_differences_shown(), horizon(res.definitions), groups))


def followed_of_responders(res) -> str:
    """'139 of 148': responders with follow-up of all responders (the funnel's counts, '<11' when small). When the
    responders without follow-up are fewer than the threshold (but some), the total is left off, as the Overview's
    funnel withholds that step: the two side by side would reveal the small difference."""
    f = res.funnel_overall
    if f is None or f.empty:
        return "0"
    row, thr = f.iloc[0], threshold()
    followed, responders = int(row["with_follow_up"]), int(row["responders"])
    if privacy.is_small(responders - followed, thr):
        return show.count(followed)
    return f"{show.count(followed)} of {show.count(responders)}"


def logrank_sentence(res) -> str:
    """The log-rank test in words: 'The curves of the conditions differ more than chance would explain (log-rank
    p = 0.003).' or '... do not differ more than chance would explain (p = 0.74)'; '' without a test."""
    lr = res.logrank
    if lr is None or pd.isna(lr.p) or res.by is None:
        return ""
    what = GROUPINGS.get(res.by, "groups").lower()
    p = formatting.p_value(lr.p)
    if lr.p < 0.05:
        return f"**The curves of the {what} groups differ more than chance would explain** (log-rank p = {p})."
    return f"The curves of the {what} groups do not differ more than chance would explain (log-rank p = {p})."


def rmean_caption(overall, diff: pd.DataFrame, tau: int, groups: pd.DataFrame | None = None) -> str:
    """'Restricted mean durability to day 84: 53.6 days (SE 2.3) on average within the first 84 days; PTSD 5.8
    days more than Depression (95% CI -4.6 to 16.2; p = 0.27).' from the overall row of
    Durability.groups_shown() (None: withheld) and Durability.rmean_differences_shown(), each group's own (``groups``:
    the grouped Durability.groups_shown()) between them; withheld values say so.
    The restricted mean exists when the median is not reached."""
    v = None if overall is None else overall["rmean"]
    if v is None or pd.isna(v):
        parts = [f"withheld overall (fewer than {threshold()})"]
    else:
        parts = [f"**{v:.1f} days** (SE {overall['rmean_se']:.1f}) on average within the first {tau} days"]
    for r in (groups if groups is not None else pd.DataFrame()).to_dict("records"):
        m = r.get("rmean")
        name = show.text(charts.label(r[schema.GROUP]))
        parts.append(f"{name} withheld" if m is None or pd.isna(m) else f"{name} {m:.1f} days (SE {r['rmean_se']:.1f})")
    for r in diff.to_dict("records"):
        name, ref = show.text(charts.label(r[schema.GROUP])), show.text(charts.label(r["reference"]))
        if r["difference"] is None or pd.isna(r["difference"]):
            parts.append(f"{name} vs {ref} withheld (fewer than {threshold()})")
        else:
            more = "more" if r["difference"] >= 0 else "fewer"
            parts.append(
                f"{name} {abs(r['difference']):.1f} days {more} than {ref} (95% CI {r['lower']:.1f} to "
                f"{r['upper']:.1f}; p = {formatting.p_value(r['p'])})"
            )
    return f"Restricted mean durability to day {tau}: " + "; ".join(parts) + "."


def medians_line(groups: pd.DataFrame) -> str:
    """'Median durability: Depression 64 days (95% CI 49 to 69); ...' from Durability.groups_shown()."""
    thr, parts = threshold(), []
    for _, g in groups.iterrows():
        name = show.text(charts.label(g[schema.GROUP]))
        if g["median"] is None or isinstance(g["n"], str):
            parts.append(f"{name} withheld (fewer than {thr})")
        elif pd.isna(g["median"]):
            parts.append(f"{name} not reached")
        else:
            parts.append(
                f"{name} **{formatting.days(g['median'], unit=True)}** (95% CI {formatting.days(g['median_lower'])} "
                f"to {formatting.days(g['median_upper'])})"
            )
    return "**Median durability:** " + "; ".join(parts) + "." if parts else ""


def table(groups: pd.DataFrame, by: str, instrument: str) -> None:
    """Durability.groups_shown() (already suppressed) as a table with downloads."""
    days = [int(c[1:]) for c in groups.columns if c.startswith("s") and c[1:].isdigit()]
    t = groups.assign(group=groups[schema.GROUP].map(charts.label))
    rename = {
        schema.GROUP: GROUPINGS.get(by, "Group"),
        "n": "Followed",
        "events": "Lost",
        "median": "Median (days)",
        "median_lower": "Median 95% CI low",
        "median_upper": "Median 95% CI high",
    }
    for d in days:
        rename |= {
            f"n{d}": f"At risk on day {d}",
            f"s{d}": f"Day {d} (95% CI)",
            f"s{d}_lower": f"Day {d} 95% CI low",
            f"s{d}_upper": f"Day {d} 95% CI high",
        }
    for c in ("median", "median_lower", "median_upper"):
        t[c] = [None if v is None else formatting.days(v) for v in t[c]]
    rename["median"] = "Median days (95% CI)"
    tau = max(days) if days else None
    rename |= {"rmean": f"Mean days of first {tau}", "rmean_se": "Mean days SE"}
    for c in ("rmean", "rmean_se"):
        if c in t.columns:
            t[c] = [None if v is None or pd.isna(v) else round(float(v), 1) for v in t[c]]
    show.table(
        t,
        f"{instrument} durability" + (f" by {by}" if by else ""),
        # (the restricted means and their SE are in the caption above and in the downloads: the table fits 1280 px)
        hide=[f"n{d}" for d in days] + ["rmean", "rmean_se"],
        percent=[c for c in t.columns if c.startswith("s") and c[1:2].isdigit()],
        ci={"median": ("median_lower", "median_upper"), **{f"s{d}": (f"s{d}_lower", f"s{d}_upper") for d in days}},
        rename=rename,
        key="durability",
    )


def cox_section(res, instrument: str) -> None:
    """The Cox model: the forest plot of its hazard ratios beside a table of the same numbers, terms resting on
    too few events greyed with the reason in a line above (analysis.durability.cox_term_events), a term that is
    not estimable named in a note, never drawn; or why there is none."""
    from analysis.durability import cox_term_events, events_per_term_line

    if res.cox is None:
        st.info("The Cox model could not be fitted on these data (see the notes).")
        return
    weak = cox_term_events(res)
    reasons = {t: r for t, r in zip(weak["term"], weak["reason"]) if isinstance(r, str)}
    line = events_per_term_line(res)
    if line:
        st.warning(line, icon=":material/info:")
    elif reasons:
        st.markdown(
            f"**Greyed:** {len(reasons)} term(s) with fewer than 10 losses of response in their group: their hazard "
            "ratios are uncertain."
        )
    params = res.cox.params_shown(res.definitions.suppression_threshold)
    show.plot(
        charts.forest_chart, params, f"Hazard of losing {instrument} response (Cox model, Efron ties)", greyed=reasons
    )
    st.markdown("**Hazard ratios** (the numbers of the plot)")
    table = hazard_table(params, reasons if not line else {})
    st.table(table.map(show.text), hide_index=True)  # (every row in view, notes wrapped; cells as plain text)
    text = model_checks_line(res.cox)
    if text:
        st.markdown(text)


def hazard_table(params: pd.DataFrame, reasons: dict) -> pd.DataFrame:
    """The forest plot's numbers as text: term, HR (95% CI), p and a note (greyed, not estimable or withheld:
    why)."""
    rows = []
    for r in params.to_dict("records"):
        why = coxph.not_shown(r)
        hr = r.get("hr")
        if why or hr is None or pd.isna(hr):
            value, p, note = formatting.DASH, formatting.DASH, why or "not estimable"
        else:
            value = f"{hr:.2f} ({r['lower']:.2f} to {r['upper']:.2f})"
            p, note = formatting.p_value(r["p"]), reasons.get(r["term"], "")
        rows.append({"Term": charts.forest_label(r), "HR (95% CI)": value, "p": p, "Note": note})
    return pd.DataFrame(rows, columns=["Term", "HR (95% CI)", "p", "Note"])


def model_checks_line(fit) -> str:
    """The concordance and the proportional-hazards test of the Cox model in words (analysis.durability's
    cox_checks_json), '' when there is neither."""
    from analysis.durability import PH_ALPHA, cox_checks_json

    j, parts = cox_checks_json(fit), []
    c = j["concordance"]
    if c is not None:
        parts.append(
            f"concordance (Harrell's C) **{c['c']:.2f}** (SE {c['se']:.2f}; 0.5 = no better than chance, 1 = the "
            "model always ranks who loses response first)"
        )
    ph = j["proportional_hazards"]
    if ph is not None:
        p = formatting.p_value
        terms = "; ".join(f"{show.text(str(t['term']).replace('_', ' '))} p = {p(t['p'])}" for t in ph["terms"])
        doubtful = any(t["p"] is not None and t["p"] < PH_ALPHA for t in [ph["global"], *ph["terms"]])
        parts.append(
            f"proportional-hazards test (R cox.zph): global p = {p(ph['global']['p'])} ({terms})"
            + (
                ": **proportional hazards are doubtful**, so a hazard ratio is an average over follow-up"
                if doubtful
                else ""
            )
        )
    return ("**Model checks:** " + "; ".join(parts) + ".") if parts else ""
