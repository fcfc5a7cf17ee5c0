"""The methods in words: the citations (one list, used by the Methods page and the PDF report) and the methods
paragraph written from the definition card in force (:func:`methods_text`).

``STATISTICS_CITATIONS`` are the statistical methods (and the colour palette and suppression policy the
figures and tables follow); the instruments' own citations live in the registry
(``analysis/instruments.csv``): :func:`citations` puts both together.
"""

from __future__ import annotations

from analysis import instruments
from analysis.trajectory import knots_in_words

#: the methods' references, in the order the methods appear (rates, survival, models, figures, suppression)
STATISTICS_CITATIONS = (
    "Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat Assoc 1927;22:209-212.",
    "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc 1958;53:457-481.",
    "Greenwood M. The natural duration of cancer. Reports on Public Health and Medical Subjects 1926;33:1-26.",
    "Mantel N. Evaluation of survival data and two new rank order statistics arising in its consideration. "
    "Cancer Chemother Rep 1966;50:163-170.",
    "Peto R, Peto J. Asymptotically efficient rank invariant test procedures. J R Stat Soc A 1972;135:185-207.",
    "Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187-220.",
    "Efron B. The efficiency of Cox's likelihood function for censored data. J Am Stat Assoc 1977;72:557-565.",
    "Bates D, Maechler M, Bolker B, Walker S. Fitting linear mixed-effects models using lme4. J Stat Softw "
    "2015;67(1):1-48.",
    "Okabe M, Ito K. Color Universal Design (CUD): how to make figures and presentations that are friendly to "
    "colorblind people. 2008.",
    "Centers for Medicare & Medicaid Services. Cell size suppression policy (counts 1-10 not displayed).",
)


def citations(codes=None) -> list[tuple[str, str]]:
    """(what, reference) pairs: the statistical methods, then the instruments ``codes`` (default: every
    instrument of the registry), each with its registry citation."""
    reg = instruments.registry()
    codes = list(reg) if codes is None else [instruments.get(c).code for c in codes]
    return [("", c) for c in STATISTICS_CITATIONS] + [(code, reg[code].citation) for code in codes]


def methods_text(definitions, codes, threshold: int, converged: bool | None = None) -> str:
    """The methods paragraph, written from the definition card in force and the instrument registry."""
    b, r = definitions.baseline_window, definitions.response_window
    rules = []
    for code in codes:
        ins = instruments.get(code)
        rem = definitions.remission_threshold(code)
        rem_text = f"remission a score ≤ {rem:g}" if rem is not None else "no remission rule"
        rules.append(
            f"{ins.name} ({code}, {ins.min:g}–{ins.max:g}): response a drop of "
            f"≥ {100 * definitions.response_threshold(code):g}% from baseline, {rem_text}"
        )
    loss = (
        "confirmed by the next score too (the event on the first of the two)"
        if definitions.confirm_loss
        else "without confirmation by a later score"
    )
    boosters = {
        "ignore": "Booster infusions did not stop the clock.",
        "censor": "Episodes were censored at the first booster after the response assessment when it "
        "came before the loss of response.",
        "event": "The event analysed was the first booster after the response assessment (time to first "
        "booster); patients without one were censored at their last score.",
    }[definitions.booster_handling]
    days = ", ".join(str(d) for d in definitions.survival_days)
    suppression = (
        f"Counts from 1 to {threshold - 1} are shown as <{threshold}, and every rate, interval, median "
        f"and curve resting on such a count is withheld (CMS cell-size policy)."
        if threshold > 1
        else f"Small counts are not suppressed in this report (threshold set to {threshold} on the definition card)."
    )
    model = (
        ""
        if converged is None
        else (
            " The model converged."
            if converged
            else " The model did not converge on these data, so its curves are not shown."
        )
    )
    return (
        f"Instruments and rules (definition card '{definitions.name}'): " + "; ".join(rules) + ". "
        f"The baseline is the last score from day {b[0]} to day {b[1]} (day 0 = the first treatment); the response "
        f"assessment is the first score from day {r[0]} to day {r[1]}; percent change = (baseline − score) / "
        f"baseline, and a baseline of 0 is not evaluable. Response and remission rates are over the evaluable "
        f"patients (a baseline above 0 and a response assessment), with 95% Wilson score intervals (as R "
        f"prop.test without continuity correction). Durability was analysed in responders with a later score, "
        f"from the day of the response assessment; loss of response is the first later score whose percent "
        f"change falls below the response threshold, {loss}; otherwise the episode is censored at the last "
        f"score. {boosters} The share still responding was estimated by Kaplan-Meier with Greenwood variance "
        f"and log-scale 95% confidence limits (as R survfit), reported at days {days}, with the median and its "
        f"95% interval; groups were compared with the log-rank test (as R survdiff) and by a Cox proportional-"
        f"hazards model with Efron ties (as R coxph), hazard ratios with Wald 95% intervals, each covariate "
        f"against its most common level. Trajectories are observed mean scores per visit window with t-based 95% "
        f"intervals and a linear mixed model (REML, as lme4::lmer) with a random intercept and slope per "
        f"patient and fixed effects of group × piecewise-linear time, knotted at {_knots(definitions)}.{model} "
        f"Its fit was checked at each visit: the mean of its predictions for the patients scored there (fixed "
        f"effects plus each patient's conditional modes, as lme4's ranef) against the observed mean's 95% interval; "
        f"its curve is the mean of everyone who started, patients who stopped coming included. "
        f"Two or more scores of one instrument on "
        f"the same day are replaced by their mean. {suppression}"
    )


def _knots(definitions) -> str:
    """'day 14 (the end of induction)' or 'days 14 and 56': where the trajectory model's time bends."""
    knots = definitions.trajectory_knots
    if knots == (definitions.induction_end_day,):
        return f"day {knots[0]} (the end of induction)"
    return ("day " if len(knots) == 1 else "days ") + knots_in_words(knots)
