"""The Methods page's definition card: form inputs for every setting, the card as a JSON file, and the
formulas behind the numbers in words."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import access, card, instruments
from analysis.errors import DataError
from analysis.outcomes import save_card
from ui import gate
from ui.show import text

FORMULAS = r"""
- **Percent change** from baseline: $\Delta = (b - s) / b$, where $b$ is the baseline score and $s$ the response-assessment score.
  **Response**: $\Delta \ge$ the instrument's threshold (e.g. 0.50 for PHQ-9). **Remission**: $s \le$ the remission maximum.
- **Rates** with 95% **Wilson** score intervals: $\dfrac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}{1 + z^2/n}$, $z = 1.96$ (R `prop.test(x, n, correct = FALSE)`).
- **Two rates compared**: Pearson chi-square without continuity correction, or Fisher's exact test when an expected cell is below 5.
- **Kaplan-Meier**: $\hat S(t) = \prod_{t_j \le t} (1 - d_j / n_j)$, Greenwood variance $\widehat{\mathrm{Var}}\,\hat S(t) = \hat S(t)^2 \sum_{t_j \le t} \frac{d_j}{n_j (n_j - d_j)}$, log-scale confidence limits (R `survfit`); the median's interval as R.
- **Log-rank test** (R `survdiff`, $\rho = 0$); **Cox model** $h(t \mid x) = h_0(t)\, e^{x^\top \beta}$ with **Efron** ties (R `coxph`), hazard ratios $e^{\beta}$ with Wald 95% intervals.
- **Trajectories**: linear mixed model $y_{ij} = x_{ij}^\top \beta + b_{0i} + b_{1i} t_{1,ij} + \varepsilon_{ij}$ with piecewise-linear time, $t_1 = \min(\max(\text{day}, 0), k)$ and $t_2 = \max(\text{day} - k, 0)$ (knot $k$ at the end of induction), group $\times$ time interactions, and a random intercept and induction slope per patient, fitted by REML (as `lme4::lmer`). Observed means per visit window with t-based 95% intervals.
- **Small-cell suppression**: counts from 1 to the threshold minus 1 are shown as "<threshold"; rates, intervals and curves resting on them are withheld.
"""


def card_inputs(defs):
    """Form inputs for every setting of the definition card; the new card, or None (with an error) if invalid."""
    c1, c2, c3 = st.columns(3)
    name = c1.text_input("Card name", defs.name)
    b0 = c1.number_input("Baseline window from day", value=defs.baseline_window[0], step=1)
    b1 = c1.number_input("Baseline window to day", value=defs.baseline_window[1], step=1)
    r0 = c2.number_input("Response assessment from day", value=defs.response_window[0], step=1)
    r1 = c2.number_input("Response assessment to day", value=defs.response_window[1], step=1)
    knot = c2.number_input("End of induction (day)", value=defs.induction_end_day, min_value=0, step=1)
    confirm = c3.checkbox(
        "Confirm loss by the next score",
        defs.confirm_loss,
        help="Loss of response counts only when the next score is below the threshold too.",
    )
    boosters = c3.selectbox(
        "Boosters",
        ("ignore", "censor", "event"),
        index=("ignore", "censor", "event").index(defs.booster_handling),
        format_func={
            "ignore": "do not stop the clock",
            "censor": "censor at the first booster",
            "event": "time to the first booster",
        }.get,
    )
    days = c3.text_input("Survival reported at days", ", ".join(str(d) for d in defs.survival_days))
    lowest = 0 if gate.may_lower_threshold() else access.MIN_SHARED_THRESHOLD
    thr = c3.number_input(
        "Small-cell threshold (counts below it are hidden)",
        value=max(defs.suppression_threshold, lowest),
        min_value=lowest,
        step=1,
        help=f"11 by default, as in CMS policy. Only an admin may set it lower (0 or 1 turns suppression off), and "
        f"only on screen: downloads and the PDF never go below {access.MIN_SHARED_THRESHOLD}.",
    )
    st.markdown(
        "Per-instrument thresholds (leave them as they are to use the registry's). The response threshold is a "
        "**percent** drop from baseline: 40 means 40%."
    )
    reg = instruments.registry()
    grid = pd.DataFrame(
        {
            "instrument": list(reg),
            "response_drop": [round(100 * defs.response_threshold(c), 6) for c in reg],
            "remission_max": [defs.remission_threshold(c) for c in reg],
        }
    )
    edited = st.data_editor(
        grid,
        hide_index=True,
        disabled=["instrument"],
        key="thresholds",
        column_config={
            "response_drop": st.column_config.NumberColumn(
                "Response: drop from baseline (%)", step=5, format="%g%%", help="40 means a 40% drop"
            ),
            "remission_max": st.column_config.NumberColumn(
                "Remission: score at most (points)", help="Empty: no remission rule"
            ),
        },
    )
    problems, drops = [], {}
    for r in edited.itertuples():
        try:
            drop = card.drop_from_percent(r.instrument, None if pd.isna(r.response_drop) else r.response_drop)
        except DataError as e:
            problems.append(str(e))
            continue
        if drop != reg[r.instrument].response_drop:
            drops[r.instrument] = drop
    remission = {
        r.instrument: (None if pd.isna(r.remission_max) else float(r.remission_max))
        for r in edited.itertuples()
        if (None if pd.isna(r.remission_max) else float(r.remission_max)) != reg[r.instrument].remission_max
    }
    if problems:
        st.error("These definitions cannot be used: " + text(" ".join(problems)))
        return None
    try:
        survival_days = tuple(int(x) for x in days.replace(";", ",").split(",") if x.strip())
        new = defs.replace(  # (a copy: settings this form does not show are kept)
            baseline_window=(int(b0), int(b1)),
            response_window=(int(r0), int(r1)),
            confirm_loss=confirm,
            booster_handling=boosters,
            induction_end_day=int(knot),
            knots=defs.knots,
            survival_days=survival_days,
            suppression_threshold=int(thr),
            response_drop=drops,
            remission_max=remission,
            name=name.strip() or defs.name,
        )
        return card.named(new, defs)
    except (DataError, ValueError) as e:
        st.error(f"These definitions cannot be used: {text(e)}")
        return None


def card_bytes(defs) -> bytes:
    """The card as the JSON file analysis.outcomes.save_card writes."""
    with tempfile.TemporaryDirectory() as tmp:
        return save_card(defs, Path(tmp) / "card.json").read_bytes()


def card_download(defs, where=st) -> None:
    """'Save this card (JSON)': the card in force as a file."""
    where.download_button(
        "Save this card (JSON)",
        card_bytes(defs),
        f"definitions_{defs.name}.json",
        "application/json",
        icon=":material/download:",
        on_click=gate.log_download,
        args=("card", f"definitions_{defs.name}.json"),
    )


def card_upload(where=st):
    """'Load a card (JSON or YAML)' and 'Use the loaded card': the card read, or None (with an error when it
    cannot be used)."""
    from analysis.outcomes import load_card

    card = where.file_uploader("Load a card (JSON or YAML)", type=["json", "yaml", "yml"], key="card")
    if card is not None and where.button("Use the loaded card"):
        try:
            return load_card(card.getvalue().decode("utf-8-sig"))
        except (DataError, UnicodeDecodeError) as e:
            where.error(f"This card cannot be used: {text(e)}")
    return None


def registry_view() -> pd.DataFrame:
    """The instrument registry as a reader needs it, narrow enough for a 1280 px screen: code, name, range,
    response and remission rules in words, severity bands, MCID and screening cut-off (the synonyms are the
    importer's business; the citations are listed under the page)."""
    t = instruments.registry_table()

    def blank(v) -> bool:
        return v is None or (isinstance(v, float) and v != v) or str(v).strip() in ("", "nan", "None")

    return pd.DataFrame(
        {
            "Code": t["code"],
            "Name": [str(n).split(" (")[0] for n in t["name"]],  # (the bracketed part: the citations below)
            "Range": [f"{lo}-{hi}" for lo, hi in zip(t["min"], t["max"])],
            "Response": ["—" if blank(v) else f"≥ {100 * float(v):g}% drop" for v in t["response_drop"]],
            "Remission": ["none" if blank(v) else f"≤ {v}" for v in t["remission_max"]],
            "Bands": ["none" if blank(v) else str(v).replace(";", ", ") for v in t["band_cuts"]],
            "MCID": ["—" if blank(v) else str(v) for v in t["mcid"]],
            "Cut-off": ["—" if blank(v) else str(v) for v in t["cutoff"]],
        }
    )
