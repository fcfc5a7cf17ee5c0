"""Everything Streamlit that the dashboard's pages share, one job a module.

- session: which data, filters and definition card are in force (session state behind plain functions), and
  the sidebar that chooses them; the title-and-guard every page starts with (``session.data``)
- cache: the cached calls into analysis/ (content-hash keys, size limits); ``guard`` turns a DataError into a
  warning that stops the page
- widgets: the inputs pages share; show: tables, metrics, charts and notes on screen (suppressed)
- gate: sign-in and roles (fails closed)
- *_view: what one page shows of its results, where that takes more than a few lines
  (overview_view, trajectory_view, durability_view, cohort_view, data_view, saved_view, methods_view)
"""
