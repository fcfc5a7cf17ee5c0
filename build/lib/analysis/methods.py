"""The citations of the methods: one list, used by the Methods page and the PDF report.

``STATISTICS_CITATIONS`` are the statistical methods (and the colour palette and suppression policy the
figures and tables follow); the instruments' own citations live in the registry
(``analysis/instruments.csv``): :func:`citations` puts both together.
"""

from __future__ import annotations

from analysis import instruments

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
