# Golden numbers of the two-knot trajectory test (tests/test_trajectory_knots.py), from lme4::lmer.
# Run from the repository root:  Rscript tests/data/golden/lmm_knots.R
# Reads tests/data/golden/lmm_knots.csv (made by lmm_knots_data.py), puts in the piecewise-linear time of
# DESIGN "Statistics" with knots at days 14 and 56 (and, for the comparison, at day 14 only) and fits
#   score ~ condition * (t1 + t2 + t3) + (1 + t1 | patient_id)      (knots 14, 56)
#   score ~ condition * (t1 + t2) + (1 + t1 | patient_id)           (knot 14)
# by REML, writing
#   lmm_knots_14_56_reml_fixef.csv / _fit.csv   lme4's default optimiser (as lmm_clinic.R)
#   lmm_knots_14_56_reml_tight_fixef.csv        lme4's optimiser run to much tighter tolerances
#   lmm_knots_14_reml_fixef.csv / _fit.csv      the one-knot model of the same data
# Scores before day 0 count as day 0 (t1 = 0); the dashboard models the scores from day -30 to day 182, and
# this data set has none outside that range. condition's levels are set in the order the dashboard uses
# (depression, the largest group, is the reference).
suppressMessages(library(lme4))
dir <- "tests/data/golden"
d <- read.csv(file.path(dir, "lmm_knots.csv"))
d$condition <- factor(d$condition, levels = c("depression", "anxiety", "ptsd"))
stopifnot(all(d$day >= -30 & d$day <= 182))

pieces <- function(day, knots) {
  edges <- c(0, knots)
  out <- list()
  for (j in seq_along(edges)) {
    upper <- if (j < length(edges)) edges[j + 1] - edges[j] else Inf
    out[[paste0("t", j)]] <- pmin(pmax(day - edges[j], 0), upper)
  }
  as.data.frame(out)
}

tight_control <- lmerControl(optimizer = "nloptwrap",
                             optCtrl = list(ftol_abs = 1e-14, xtol_abs = 1e-12, ftol_rel = 1e-15, xtol_rel = 1e-12))

write_fit <- function(m, stem) {
  cf <- summary(m)$coefficients
  write.csv(data.frame(term = rownames(cf), estimate = cf[, 1], se = cf[, 2]),
            file.path(dir, paste0(stem, "_fixef.csv")), row.names = FALSE)
  vc <- as.data.frame(VarCorr(m))
  th <- getME(m, "theta")
  vc_names <- ifelse(is.na(vc$var2), paste0("var_", ifelse(is.na(vc$var1), "residual", vc$var1)),
                     paste0("cov_", vc$var1, "_", vc$var2))
  fit <- data.frame(
    quantity = c(paste0("theta", seq_along(th)), vc_names, "sigma", "loglik", "criterion", "singular", "converged"),
    value = c(th, vc$vcov, sigma(m), as.numeric(logLik(m)), REMLcrit(m),
              as.numeric(isSingular(m)), as.numeric(is.null(m@optinfo$conv$lme4$messages))))
  write.csv(fit, file.path(dir, paste0(stem, "_fit.csv")), row.names = FALSE)
  cat(stem, "\n")
  print(cf, digits = 10)
  print(fit, digits = 10)
}

two <- cbind(d, pieces(d$day, c(14, 56)))
f2 <- score ~ condition * (t1 + t2 + t3) + (1 + t1 | patient_id)
write_fit(lmer(f2, data = two, REML = TRUE), "lmm_knots_14_56_reml")
mt <- lmer(f2, data = two, REML = TRUE, control = tight_control)
ct <- summary(mt)$coefficients
write.csv(data.frame(term = rownames(ct), estimate = ct[, 1], se = ct[, 2]),
          file.path(dir, "lmm_knots_14_56_reml_tight_fixef.csv"), row.names = FALSE)

one <- cbind(d, pieces(d$day, 14))
write_fit(lmer(score ~ condition * (t1 + t2) + (1 + t1 | patient_id), data = one, REML = TRUE), "lmm_knots_14_reml")
cat(R.version.string, "lme4", as.character(packageVersion("lme4")), "\n")
