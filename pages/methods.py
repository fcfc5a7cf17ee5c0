"""Methods: the definitions in force (edit, save, load the definition card), the instruments, the formulas."""
import streamlit as st

import ui
from analysis import instruments
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

CITATIONS = """
- Wilson EB. Probable inference, the law of succession, and statistical inference. *J Am Stat Assoc* 1927;22:209-212.
- Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. *J Am Stat Assoc* 1958;53:457-481.
- Greenwood M. The natural duration of cancer. *Reports on Public Health and Medical Subjects* 1926;33:1-26.
- Mantel N. Evaluation of survival data and two new rank order statistics arising in its consideration. *Cancer Chemother Rep* 1966;50:163-170.
- Cox DR. Regression models and life-tables. *J R Stat Soc B* 1972;34:187-220. Efron B. The efficiency of Cox's likelihood function for censored data. *J Am Stat Assoc* 1977;72:557-565.
- Bates D, Maechler M, Bolker B, Walker S. Fitting linear mixed-effects models using lme4. *J Stat Softw* 2015;67(1):1-48.
- Okabe M, Ito K. Color Universal Design (CUD): how to make figures and presentations that are friendly to colorblind people. 2008.
- Centers for Medicare & Medicaid Services. Cell size suppression policy (counts 1-10 not displayed).
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
left.download_button("Save this card (JSON)", ui.card_bytes(defs), f"definitions_{defs.name}.json",
                     "application/json", icon=":material/download:")
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
st.markdown(CITATIONS + "".join(f"- **{r.code}**: {r.citation}\n" for r in instruments.registry().values()))
