# Golden numbers of the Oxboys mixed-model tests (tests/test_lmm.py), from lme4::lmer.
# Run from the repository root:  Rscript tests/data/golden/lmm_oxboys.R
# Writes tests/data/golden/lmm_oxboys.csv (nlme::Oxboys: Subject, age, height, Occasion; 26 boys, 9 heights
# each) and, for height ~ age + (age | Subject) by REML and by ML:
#   lmm_oxboys_<method>_fixef.csv        term, estimate, se (summary(m)$coefficients), lme4's default optimiser
#   lmm_oxboys_<method>_fit.csv          theta, variance components, sigma, log-likelihood, criterion, singular,
#                                        converged (as lmm_clinic.R)
#   lmm_oxboys_<method>_tight_fixef.csv  and _tight_fit.csv: the same with lme4's optimiser run to much
#                                        tighter tolerances (the exact optimum, to ~1e-8)
# Oxboys is the case where an optimiser that stops early leaves the variance components ~4e-4 (relative) from
# the optimum; the tests check ours against the tight fit to 1e-5 (theta, variance components) and 1e-6
# (fixed effects and standard errors).
suppressMessages({
  library(lme4)
  library(nlme)
})
dir <- "tests/data/golden"
d <- as.data.frame(nlme::Oxboys)
d$Subject <- as.integer(as.character(d$Subject))
d <- d[order(d$Subject, d$Occasion), c("Subject", "age", "height", "Occasion")]
d$Occasion <- as.integer(as.character(d$Occasion))
write.csv(d, file.path(dir, "lmm_oxboys.csv"), row.names = FALSE)
d <- read.csv(file.path(dir, "lmm_oxboys.csv"))  # the numbers the Python side reads

tight_control <- lmerControl(optimizer = "nloptwrap",
                             optCtrl = list(ftol_abs = 1e-14, xtol_abs = 1e-12, ftol_rel = 1e-15, xtol_rel = 1e-12))

write_fit <- function(m, reml, stem) {
  cf <- summary(m)$coefficients
  write.csv(data.frame(term = rownames(cf), estimate = cf[, 1], se = cf[, 2]),
            file.path(dir, paste0(stem, "_fixef.csv")), row.names = FALSE)
  vc <- as.data.frame(VarCorr(m))
  th <- getME(m, "theta")
  vc_names <- ifelse(is.na(vc$var2), paste0("var_", ifelse(is.na(vc$var1), "residual", vc$var1)),
                     paste0("cov_", vc$var1, "_", vc$var2))
  fit <- data.frame(
    quantity = c(paste0("theta", seq_along(th)), vc_names, "sigma", "loglik", "criterion", "singular", "converged"),
    value = c(th, vc$vcov, sigma(m), as.numeric(logLik(m)), if (reml) REMLcrit(m) else deviance(m),
              as.numeric(isSingular(m)), as.numeric(is.null(m@optinfo$conv$lme4$messages))))
  write.csv(fit, file.path(dir, paste0(stem, "_fit.csv")), row.names = FALSE)
  cat(stem, "\n")
  print(cf, digits = 10)
  print(fit, digits = 10)
}

for (reml in c(TRUE, FALSE)) {
  method <- if (reml) "reml" else "ml"
  m <- lmer(height ~ age + (age | Subject), data = d, REML = reml)
  write_fit(m, reml, sprintf("lmm_oxboys_%s", method))
  mt <- lmer(height ~ age + (age | Subject), data = d, REML = reml, control = tight_control)
  write_fit(mt, reml, sprintf("lmm_oxboys_%s_tight", method))
}
cat(R.version.string, "lme4", as.character(packageVersion("lme4")), "nlme", as.character(packageVersion("nlme")), "\n")
