"""The Data page's report on an import (analysis.ingest.Loaded): the refusal and how to fix it, the counts, the
column mapping (editable: its corrections are read back as overrides of the import) and the validation report.

An issue may carry a structured fix, ``{"column": source column, "targets": [target, ...]}`` ("map this source
column to one of these targets"; the first is the suggestion): the page phrases it in its own terms and offers
a button that sets the suggested target, where the files can be read again (an upload, the sample; not a saved
data set). Issues without a ``fix`` column (a data set saved before fixes existed) show no fix.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import formatting, ingest, schema
from ui import cache, session, show

FIX = "fix"
#: how the page names the targets whose canonical name is not plain words
TARGET_LABELS = {
    ingest.DATE_DMY: "date (day/month/year)",
    ingest.DATE_MDY: "date (month/day/year)",
    ingest.DATE_YMD: "date (year/month/day)",
}
#: the columns of the mapping table (Loaded.mapping)
FILE, SOURCE, TARGET, HOW = ingest.MAPPING_COLUMNS


def target_label(target: str) -> str:
    return TARGET_LABELS.get(target, target)


def load_report(loaded) -> tuple[dict, str]:
    """(loaded.to_json(), loaded.to_text()) of a load, for the Data page (cached: a pass over every score); the
    text phrases each issue's fix in the page's terms."""
    return loaded.to_json(), loaded.to_text(phrase_fix=lambda fix: fix_text(fix, "above"))


def changed_targets(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """{source column: new target} for the rows of the mapping table whose target the user changed."""
    changed = before[TARGET].to_numpy() != after[TARGET].to_numpy()
    return {str(s): str(t) for s, t in zip(after.loc[changed, SOURCE], after.loc[changed, TARGET])}


def rows_text(rows) -> str:
    """Row numbers of an issue as short text: '2, 5, 9 ... (120 rows)'."""
    if rows is None or isinstance(rows, float):
        return ""
    rows = list(rows) if not isinstance(rows, str) else [rows]
    text = ", ".join(str(r) for r in rows[:8])
    return text + (f" ... ({len(rows)} rows)" if len(rows) > 8 else "")


def fixes(loaded) -> list[dict]:
    """The fixes of the issues, in order, each once: {"column": source column, "targets": [...]}."""
    if FIX not in loaded.issues.columns:
        return []
    out = []
    for fix in loaded.issues[FIX]:
        if isinstance(fix, dict) and fix.get("column") and fix.get("targets") and fix not in out:
            out.append(fix)
    return out


def fix_text(fix: dict | None, where: str = "below") -> str:
    """A fix in the page's own terms: "In the column mapping below, set 'Visit Date' to 'date (day/month/year)'"."""
    if not isinstance(fix, dict) or not fix.get("column") or not fix.get("targets"):
        return ""
    first, *others = [target_label(t) for t in fix["targets"]]
    text = f"In the column mapping {where}, set '{fix['column']}' to '{first}'"
    return text + (" (or " + " or ".join(f"'{t}'" for t in others) + ")" if others else "") + "."


def refusal(loaded) -> None:
    """Why the files were not used, each error followed by its fix; a button for each fix."""
    lines = []
    issues = loaded.issues
    for _, issue in issues[issues["severity"] == "error"].iterrows():
        lines.append(show.text(issue["message"]))
        fix = fix_text(issue.get(FIX))
        if fix:
            lines.append(f"**To use these files:** {show.text(fix)}")
    st.error(
        "**These files were not used.**\n\n" + "\n\n".join(lines or [show.text(m) for m in session.errors(loaded)])
    )
    fix_buttons(loaded)
    if issues["code"].astype(str).str.startswith("PHI").any():
        phi_explained()


def fix_buttons(loaded) -> None:
    """A button per fix that sets its suggested target in the column mapping and reads the files again
    (not for a saved data set: a correction needs the files, uploaded again)."""
    if session.saved() is not None:
        return
    for i, fix in enumerate(fixes(loaded)):
        target = fix["targets"][0]
        if st.button(
            f"Set '{show.text(fix['column'])}' to '{target_label(target)}'", key=f"fix_{i}", icon=":material/build:"
        ):
            session.use_overrides({**session.overrides(), fix["column"]: target})
            st.rerun()


def counts(loaded, info: dict) -> None:
    """Rows read, score rows kept, treatment rows, patients with scores (a small count suppressed), instruments."""
    c = st.columns(4)
    c[0].metric("Rows read (all files)", formatting.count(info["rows_read"]))
    c[1].metric("Score rows kept", formatting.count(info["rows_kept"]))
    c[2].metric("Treatment rows", "none" if loaded.treatments is None else formatting.count(len(loaded.treatments)))
    c[3].metric("Patients with scores", show.count(info["patients"]))
    st.markdown(f"**Instruments found:** {show.text(', '.join(info['instruments']) or 'none')}")


def mapping_editor(loaded) -> None:
    """The column mapping: editable targets (every override target, the date formats among them) with Apply
    and Reset; as saved, read only, for a saved data set."""
    mapping = loaded.mapping.astype(str)
    if mapping.empty:
        st.write("No columns were read.")
        return
    if session.saved() is not None:  # as saved: a correction needs the files, uploaded again
        st.dataframe(mapping, hide_index=True, width="stretch")
        return
    targets = sorted({*ingest.OVERRIDE_TARGETS, *mapping[TARGET].unique()})
    edited = st.data_editor(
        mapping,
        hide_index=True,
        width="stretch",
        key=f"mapping_{len(mapping)}",
        height=min(36 * (len(mapping) + 1) + 4, 640),
        disabled=[c for c in mapping.columns if c != TARGET],
        column_config={TARGET: st.column_config.SelectboxColumn(TARGET, options=targets, format_func=target_label)},
    )
    before = session.overrides()
    chosen = {**before, **changed_targets(mapping, edited)}
    a, b, _ = st.columns([1, 1, 4])
    if a.button("Apply", type="primary", disabled=chosen == before):
        session.use_overrides(chosen)
        st.rerun()
    if b.button("Reset mapping", disabled=not before):
        session.use_overrides({})
        st.rerun()


def issues_table(loaded) -> None:
    """The validation report: every issue, with its rows and its fix in words, suppressed as any table."""
    issues = loaded.issues.assign(rows=loaded.issues["rows"].map(rows_text))
    if FIX in issues.columns:
        issues = issues.assign(fix=issues[FIX].map(lambda f: fix_text(f, "above")))
        if not issues[FIX].astype(bool).any():
            issues = issues.drop(columns=FIX)
    saved = session.saved()
    if saved is not None:
        st.caption(
            f"As found when the files were imported and saved ({saved.uploaded_at:%Y-%m-%d %H:%M} UTC)."
            if saved.issues is not None
            else "Not kept: this data set was saved before validation reports were kept."
        )
    if issues.empty:
        if saved is None or saved.issues is not None:
            st.write("No problems found.")
    else:
        columns = [c for c in dict.fromkeys((*schema.ISSUE_COLUMNS, FIX)) if c in issues.columns]
        show.table(issues[columns], "validation report", key="issues")


def report_text(text: str) -> None:
    with st.expander("The report as text"):
        st.code(text, language=None)


def phi_explained() -> None:
    st.info(
        "**Why files with identifiers are refused.** This dashboard only accepts de-identified data: a "
        "pseudonymous patient key (such as P00123), scores, days or dates, and attributes such as condition, "
        "site, age band and sex. Columns such as names, dates of birth, addresses, phone numbers, e-mail "
        "addresses, social security or medical record numbers identify people directly, so a file holding them "
        "is refused as a whole and **nothing from it is kept**. Remove those columns in your EHR's export (or "
        "in Excel: delete the columns, then *File > Save As > CSV UTF-8*) and upload the file again."
    )


def report(loaded) -> tuple[dict, str]:
    """The import's report as JSON and text (cached)."""
    return cache.cached(load_report, loaded)


#: the choice of a file's role that leaves it to the import (decided from what the file holds)
ROLE_AUTO = "decided from its content"


def roles_editor(loaded) -> None:
    """Which role each file got (assessments, treatments, vitals) and why, with a selectbox per file to choose
    another (an override of the import: roles.ROLE_KEY + file name); read only for a saved data set."""
    from analysis.ingest.roles import ROLE_KEY, ROLES

    found = {r["file"]: r for r in getattr(loaded, "roles", ())}
    if not found:
        st.write("No file was read far enough to say what it holds.")
        return
    saved = session.saved() is not None
    before = session.overrides()
    chosen = dict(before)
    for i, (file, r) in enumerate(found.items()):
        c1, c2 = st.columns([2, 3])
        options = [ROLE_AUTO, *ROLES]
        current = before.get(ROLE_KEY + file, ROLE_AUTO)
        pick = c1.selectbox(
            f"{file}",
            options,
            index=options.index(current) if current in options else 0,
            key=f"role_{i}_{file}",
            disabled=saved,
            help="What the file holds. Leave it to the import, or choose it when the import got it wrong.",
        )
        c2.caption(show.text(f"Read as {r['role'] or 'nothing (not recognised)'}: {r['why']}."))
        if pick == ROLE_AUTO:
            chosen.pop(ROLE_KEY + file, None)
        else:
            chosen[ROLE_KEY + file] = pick
    if not saved and st.button("Use these roles", disabled=chosen == before, key="roles_apply"):
        session.use_overrides(chosen)
        st.rerun()
