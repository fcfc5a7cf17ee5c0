"""Methods: the definitions in force (edit, save, load the definition card), the instruments, the formulas."""

import streamlit as st

from analysis import card, methods
from analysis.outcomes import Definitions
from ui import methods_view, session, show

session.ensure_frame()
st.title("Methods and definitions")
session.show_flash()  # (a card's threshold held at 11 says so here)
defs = session.definitions()
st.markdown(f"The **definition card in force** is *{show.text(defs.name)}*. Every number on every page follows it.")
if card.differences(defs) and st.button("Back to the default definitions", icon=":material/undo:"):
    session.use_definitions(Definitions())
    st.rerun()
st.markdown("\n".join(f"- {show.text(line)}" for line in defs.description()))

with st.form("card"):
    st.subheader("Change the definitions")
    new = methods_view.card_inputs(defs)
    if st.form_submit_button("Use these definitions", type="primary") and new is not None:
        session.use_definitions(new)
        st.rerun()

left, right = st.columns(2)
methods_view.card_download(defs, where=left)
loaded_card = methods_view.card_upload(where=right)
if loaded_card is not None:
    session.use_definitions(loaded_card)
    st.rerun()

st.subheader("Instrument registry")
st.dataframe(methods_view.registry_view(), hide_index=True, width="stretch")
st.subheader("Formulas")
st.markdown(methods_view.FORMULAS)
st.subheader("Citations")
st.markdown("\n".join(f"- **{what}**: {ref}" if what else f"- {ref}" for what, ref in methods.citations()))
