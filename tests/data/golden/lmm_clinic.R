# Golden numbers of the mixed-model tests (tests/test_lmm.py, tests/test_trajectory.py), from lme4::lmer.
# Run from the repository root:  Rscript tests/data/golden/lmm_clinic.R
# Reads tests/data/sleepstudy.csv, lmm_clinic.csv and lmm_singular.csv (the last two made by
# lmm_clinic_data.py) and writes, for each data set and for REML and ML:
#   <name>_<method>_fixef.csv  term, estimate, se (summary(m)$coefficients)
#   <name>_<method>_fit.csv    theta, variance components (var_<term>, cov_<term>_<term>, var_residual), sigma,
#                              log-likelihood, REML criterion (REML) or deviance (ML), singular, converged
# Printed by R 4.2 with lme4 1.1-31; the tests compare with tolerances 1e-4 (fixed effects, relative),
# 1e-3 (standard errors and variance components, relative), 1e-4 (log-likelihood, absolute).
suppressMessages(library(lme4))
dir <- "tests/data/golden"

# tight = TRUE: also fit with lme4's optimiser run to much tighter tolerances (<name>_<method>_tight_fixef.csv):
# lme4's default stopping rule leaves errors of up to ~1e-4 in small coefficients; the tight fit is the exact
# optimum, which the tests check to 1e-6.
tight_control <- lmerControl(optimizer = "nloptwrap",
                             optCtrl = list(ftol_abs = 1e-14, xtol_abs = 1e-12, ftol_rel = 1e-15, xtol_rel = 1e-12))

golden <- function(name, formula = score ~ condition * (t1 + t2) + (1 + t1 | patient_id), path = NULL, tight = FALSE) {
  d <- read.csv(if (is.null(path)) file.path(dir, paste0(name, ".csv")) else path, stringsAsFactors = TRUE)
  # character columns become factors with alphabetical levels, as on the Python side
  for (reml in c(TRUE, FALSE)) {
    m <- lmer(formula, data = d, REML = reml, control = lmerControl(optCtrl = list(maxfun = 1e5)))
    method <- if (reml) "reml" else "ml"
    cf <- summary(m)$coefficients
    write.csv(data.frame(term = rownames(cf), estimate = cf[, 1], se = cf[, 2]),
              file.path(dir, sprintf("%s_%s_fixef.csv", name, method)), row.names = FALSE)
    vc <- as.data.frame(VarCorr(m))
    th <- getME(m, "theta")
    vc_names <- ifelse(is.na(vc$var2), paste0("var_", ifelse(is.na(vc$var1), "residual", vc$var1)),
                       paste0("cov_", vc$var1, "_", vc$var2))
    fit <- data.frame(
      quantity = c(paste0("theta", seq_along(th)), vc_names, "sigma", "loglik", "criterion", "singular", "converged"),
      value = c(th, vc$vcov, sigma(m), as.numeric(logLik(m)), if (reml) REMLcrit(m) else deviance(m),
                as.numeric(isSingular(m)), as.numeric(is.null(m@optinfo$conv$lme4$messages))))
    write.csv(fit, file.path(dir, sprintf("%s_%s_fit.csv", name, method)), row.names = FALSE)
    if (tight) {
      mt <- lmer(formula, data = d, REML = reml, control = tight_control)
      ct <- summary(mt)$coefficients
      write.csv(data.frame(term = rownames(ct), estimate = ct[, 1], se = ct[, 2]),
                file.path(dir, sprintf("%s_%s_tight_fixef.csv", name, method)), row.names = FALSE)
    }
    cat(name, method, "singular:", isSingular(m), "\n")
    print(cf)
    print(vc)
  }
}

golden("lmm_sleepstudy", Reaction ~ Days + (Days | Subject), path = "tests/data/sleepstudy.csv")
golden("lmm_sleepstudy_intercept", Reaction ~ Days + (1 | Subject), path = "tests/data/sleepstudy.csv")
golden("lmm_clinic", tight = TRUE)
golden("lmm_singular", tight = TRUE)
