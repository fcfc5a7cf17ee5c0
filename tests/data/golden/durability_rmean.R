# Golden numbers for tests/test_durability.py and tests/test_cli_durability.py: the restricted mean durability up
# to the card's horizon (tau = 84 days, the last survival day of the default card) of the default variant's
# episodes (durability_default.json, made by durability_golden.R from tests/data/durability_clinic*.csv), by
# condition and overall, as R print(survfit, rmean = 84): rmean and se(rmean), with the number still at risk on
# day 84; and each condition minus the largest (depression): SE sqrt(se1^2 + se2^2), 95% CI, two-sided z p.
# Output: tests/data/golden/durability_rmean.json (full precision). Tolerance in the tests: 1e-6.
# Run from the repository root:  Rscript tests/data/golden/durability_rmean.R   (R 4.2.2, survival 3.5-3)
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
tau <- 84
ep <- fromJSON("tests/data/golden/durability_default.json")$episodes
A <- read.csv("tests/data/durability_clinic.csv", stringsAsFactors = FALSE)
ep <- merge(ep, A[!duplicated(A$patient_id), c("patient_id", "condition")], by = "patient_id")
fit <- survfit(Surv(time, event) ~ condition, data = ep)
tab <- summary(fit, rmean = tau)$table
at <- summary(fit, times = tau, extend = TRUE)
groups <- data.frame(group = sub("condition=", "", rownames(tab)), n = tab[, "records"], rmean = tab[, "rmean"],
                     se = tab[, "se(rmean)"], n_risk_tau = at$n.risk)
ref <- which.max(groups$n)
o <- setdiff(seq_len(nrow(groups)), ref)
diff <- groups$rmean[o] - groups$rmean[ref]
dse <- sqrt(groups$se[o]^2 + groups$se[ref]^2)
differences <- data.frame(group = groups$group[o], reference = groups$group[ref], difference = diff, se = dse,
                          lower = diff - qnorm(0.975) * dse, upper = diff + qnorm(0.975) * dse,
                          p = 2 * pnorm(-abs(diff / dse)))
all <- summary(survfit(Surv(time, event) ~ 1, data = ep), rmean = tau)$table
out <- list(tau = tau, groups = groups, differences = differences,
            overall = list(rmean = unname(all["rmean"]), se = unname(all["se(rmean)"])))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), "tests/data/golden/durability_rmean.json")
