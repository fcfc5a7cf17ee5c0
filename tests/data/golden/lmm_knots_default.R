# Golden numbers of the default card's trajectory knots, [1, 14] (analysis.card.default_knots: the first day's
# acute drop and the end of induction), from lme4::lmer on tests/data/golden/lmm_knots.csv (lmm_knots_data.py).
# Run from the repository root:  Rscript tests/data/golden/lmm_knots_default.R
# Fits   score ~ condition * (t1 + t2 + t3) + (1 + t1 | patient_id)   with t1 = min(max(day, 0), 1),
# t2 = min(max(day - 1, 0), 13), t3 = max(day - 14, 0), by REML, writing lmm_knots_1_14_reml_fixef.csv / _fit.csv
# (columns as lmm_knots.R writes them) and each patient's conditional modes, lmm_knots_1_14_ranef.csv (ranef:
# group, intercept, slope).
suppressMessages(library(lme4))
dir <- "tests/data/golden"
d <- read.csv(file.path(dir, "lmm_knots.csv"))
d$condition <- factor(d$condition, levels = c("depression", "anxiety", "ptsd"))
edges <- c(0, 1, 14)
for (j in seq_along(edges)) {
  upper <- if (j < length(edges)) edges[j + 1] - edges[j] else Inf
  d[[paste0("t", j)]] <- pmin(pmax(d$day - edges[j], 0), upper)
}
m <- lmer(score ~ condition * (t1 + t2 + t3) + (1 + t1 | patient_id), data = d, REML = TRUE)
cf <- summary(m)$coefficients
write.csv(data.frame(term = rownames(cf), estimate = cf[, 1], se = cf[, 2]),
          file.path(dir, "lmm_knots_1_14_reml_fixef.csv"), row.names = FALSE)
write.csv(data.frame(quantity = c("sigma", "loglik", "converged"),
                     value = c(sigma(m), as.numeric(logLik(m)), as.numeric(is.null(m@optinfo$conv$lme4$messages)))),
          file.path(dir, "lmm_knots_1_14_reml_fit.csv"), row.names = FALSE)
re <- ranef(m)$patient_id
write.csv(data.frame(group = rownames(re), intercept = re[, 1], slope = re[, 2]),
          file.path(dir, "lmm_knots_1_14_ranef.csv"), row.names = FALSE)
print(cf, digits = 10)
cat(R.version.string, "lme4", as.character(packageVersion("lme4")), "\n")
