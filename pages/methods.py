"""Methods: the definitions in force (edit, save, load the definition card), the instruments, the formulas."""

import streamlit as st

import ui
from analysis import instruments, methods
from analysis.errors import DataError
from analysis.outcomes import load_card

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

ui.ensure_frame()
st.title("Methods and definitions")
defs = ui.definitions()
st.markdown(f"The **definition card in force** is *{defs.name}*. Every number on every page follows it.")
st.markdown("\n".join(f"- {line}" for line in defs.description()))

with st.form("card"):
    st.subheader("Change the definitions")
    new = ui.card_inputs(defs)
    if st.form_submit_button("Use these definitions", type="primary") and new is not None:
        st.session_state["definitions"] = new
        st.rerun()

left, right = st.columns(2)
left.download_button(
    "Save this card (JSON)",
    ui.card_bytes(defs),
    f"definitions_{defs.name}.json",
    "application/json",
    icon=":material/download:",
)
card = right.file_uploader("Load a card (JSON or YAML)", type=["json", "yaml", "yml"], key="card")
if card is not None and right.button("Use the loaded card"):
    try:
        st.session_state["definitions"] = load_card(card.getvalue().decode("utf-8-sig"))
        st.rerun()
    except (DataError, UnicodeDecodeError) as e:
        right.error(f"This card cannot be used: {e}")

st.subheader("Instrument registry")
st.dataframe(instruments.registry_table(), hide_index=True, width="stretch")
st.subheader("Formulas")
st.markdown(FORMULAS)
st.subheader("Citations")
st.markdown("\n".join(f"- **{what}**: {ref}" if what else f"- {ref}" for what, ref in methods.citations()))
