# R side of bench/bench_models.py: fits the same models on the same files and writes times and estimates.
# Usage: Rscript bench/models.R DIR REPS
# DIR holds episodes.csv and patients.csv (survival data: time, event, covariates) and lmm.csv written by
# bench_models.py; writes r_times.csv and r_estimates.csv there.
suppressMessages({library(survival); library(lme4)})
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; reps <- as.integer(args[2])

best_time <- function(f) {
  f()  # warm-up, as in Python
  t <- Inf
  for (i in seq_len(reps)) t <- min(t, system.time(f())[["elapsed"]])
  t
}
peak_mb <- function(f) {  # largest heap in use during f(), above what was in use before it (R's gc accounting)
  g0 <- gc(reset = TRUE); f(); g <- gc(); sum(g[, 6]) - sum(g0[, 2])
}

times <- NULL; est <- NULL
for (name in c("episodes", "patients")) {
  cx <- read.csv(file.path(dir, paste0(name, ".csv")), stringsAsFactors = TRUE)
  covs <- setdiff(names(cx), c("time", "event"))
  cox_formula <- as.formula(paste("Surv(time, event) ~", paste(covs, collapse = " + ")))
  fit_cox <- function() coxph(cox_formula, data = cx, ties = "efron")
  fit_km <- function() survfit(Surv(time, event) ~ condition, data = cx)
  fit_lr <- function() survdiff(Surv(time, event) ~ condition, data = cx)
  times <- rbind(times, data.frame(
    model = paste0(name, ":", c("cox", "kaplan_meier", "logrank")),
    seconds = c(best_time(fit_cox), best_time(fit_km), best_time(fit_lr)),
    peak_mb = c(peak_mb(fit_cox), peak_mb(fit_km), peak_mb(fit_lr))))
  c1 <- fit_cox(); lr <- fit_lr(); km <- summary(fit_km())$table
  est <- rbind(est,
    data.frame(model = paste0(name, ":cox"), term = names(coef(c1)), estimate = unname(coef(c1)),
               se = sqrt(diag(vcov(c1)))),
    data.frame(model = paste0(name, ":logrank"), term = "chi2", estimate = lr$chisq, se = NA),
    data.frame(model = paste0(name, ":kaplan_meier"), term = paste0("median:", sub("condition=", "", rownames(km))),
               estimate = unname(km[, "median"]), se = NA))
}

lm_data <- read.csv(file.path(dir, "lmm.csv"), stringsAsFactors = TRUE)
lmm_formula <- score ~ condition * (t1 + t2) + (1 + t1 | patient_id)
fit_lmm <- function() lmer(lmm_formula, data = lm_data, REML = TRUE)
times <- rbind(times, data.frame(model = "lmm", seconds = best_time(fit_lmm), peak_mb = peak_mb(fit_lmm)))
m <- fit_lmm()
est <- rbind(est, data.frame(model = "lmm", term = rownames(summary(m)$coefficients),
                             estimate = unname(fixef(m)), se = unname(summary(m)$coefficients[, 2])))
write.csv(times, file.path(dir, "r_times.csv"), row.names = FALSE)
write.csv(est, file.path(dir, "r_estimates.csv"), row.names = FALSE)
cat("lmer converged:", is.null(m@optinfo$conv$lme4$messages), "\n")
