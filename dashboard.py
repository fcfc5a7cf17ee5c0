"""The frame of the dashboard: page config, the data source and filters in the sidebar, and the one list
of pages (st.navigation). Run with `streamlit run dashboard.py`."""

import streamlit as st

from analysis import access, memory
from ui import gate, session

memory.reuse_freed_memory()  # (the server process's malloc keeps freed memory for reuse: see analysis/memory.py)

st.set_page_config(page_title="Ketamine outcomes", page_icon=":material/monitoring:", layout="wide")
role = gate.require()  # sign-in and role; a refused user stops here, before any data or page list

pages = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/trajectories.py", title="Trajectories", icon=":material/show_chart:"),
        st.Page("pages/durability.py", title="Durability", icon=":material/timelapse:"),
        st.Page("pages/compare.py", title="Compare cohorts", icon=":material/compare_arrows:"),
        st.Page("pages/boosters.py", title="Boosters", icon=":material/vaccines:"),
        st.Page("pages/safety.py", title="Safety", icon=":material/health_and_safety:"),
        st.Page("pages/dose.py", title="Dose and frequency", icon=":material/medication:"),
        st.Page("pages/measures.py", title="Quality measures", icon=":material/verified:"),
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
        st.Page("pages/methods.py", title="Methods", icon=":material/menu_book:"),
        *(
            [st.Page("pages/worklist.py", title="Worklist", icon=":material/checklist:")]
            if access.can_view_patient_level(role)
            else []
        ),
        *(
            [st.Page("pages/audit.py", title="Audit log", icon=":material/history:")]
            if access.can_view_audit(role)
            else []
        ),
    ]
)
gate.account()
session.sidebar()
session.card_banner()  # a definition card changed from the default is named on every page
session.frame_ran()
pages.run()
