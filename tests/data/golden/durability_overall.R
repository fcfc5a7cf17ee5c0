# Golden numbers for tests/test_cli_durability.py (`durability --by none`): the ungrouped Kaplan-Meier of the
# default variant's episodes (durability_default.json, made by durability_golden.R from the same clinic), as
# R survfit (log CI): n, events, median with its 95% CI, survival at 28, 56, 84 days with the number at risk.
# Output: tests/data/golden/durability_overall.json (full precision). Tolerance in the test: 1e-6.
# Run from the repository root:  Rscript tests/data/golden/durability_overall.R   (R 4.2.2, survival 3.5-3)
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
ep <- fromJSON("tests/data/golden/durability_default.json")$episodes
fit <- survfit(Surv(time, event) ~ 1, data = ep)
tab <- summary(fit)$table
at <- summary(fit, times = c(28, 56, 84))
out <- list(n = unname(tab["records"]), events = unname(tab["events"]), median = unname(tab["median"]),
            lower = unname(tab["0.95LCL"]), upper = unname(tab["0.95UCL"]),
            survival_at = data.frame(day = at$time, n_risk = at$n.risk, survival = at$surv))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), "tests/data/golden/durability_overall.json")
