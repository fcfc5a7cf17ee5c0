"""Outcomes analysis for ketamine and interventional-psychiatry practices: a plain Python library
(no Streamlit) behind the dashboard and the command line (``python -m analysis``).

The curated public API (imported on first use, so that ``python -m analysis validate`` starts fast):

* import: ``load_files`` (-> ``Loaded``: canonical assessments/treatments, issues, mapping)
* definitions: ``Definitions``, ``load_card``, ``save_card``, ``patient_outcomes``, ``episodes``, ``funnel``
* statistics equal to R: ``kaplan_meier``, ``logrank``, ``cox`` (survival), ``fit_lmm`` (lme4)
* analyses: ``summary``, ``kpis`` (practice metrics), ``analyse_durability``, ``trajectories``,
  ``select``, ``compare`` (cohorts), ``report_inputs`` -> ``build_report`` (PDF)
* privacy: ``suppress_table``, ``to_csv_bytes``, ``to_excel_bytes``
* synthetic data: ``analysis.simulate.simulate`` (a module of that name, so not re-exported here)
"""

from importlib import import_module

_API = {
    "load_files": "analysis.ingest",
    "Definitions": "analysis.card",
    "load_card": "analysis.card",
    "save_card": "analysis.card",
    "patient_outcomes": "analysis.outcomes",
    "episodes": "analysis.response_episodes",
    "funnel": "analysis.outcomes",
    "kaplan_meier": "analysis.survival",
    "logrank": "analysis.survival",
    "cox": "analysis.survival",
    "fit_lmm": "analysis.trajectory",
    "trajectories": "analysis.trajectory",
    "summary": "analysis.metrics",
    "kpis": "analysis.kpi_tiles",
    "analyse_durability": ("analysis.durability", "analyse"),
    "select": "analysis.cohorts",
    "compare": "analysis.cohorts",
    "build_report": "analysis.report",
    "report_inputs": "analysis.report",
    "suppress_table": "analysis.privacy",
    "to_csv_bytes": "analysis.privacy",
    "to_excel_bytes": "analysis.privacy",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}; the public API: {', '.join(__all__)}")
    module, attr = _API[name] if isinstance(_API[name], tuple) else (_API[name], name)
    return getattr(import_module(module), attr)
