# Shared by the survival_*.R golden scripts: fit with R's survival package and write every number the
# tests compare to CSV (17 significant digits; NA for what R does not give).
# Run each case from this folder: Rscript survival_gehan.R (and so on); R 4.2, survival 3.5.
suppressMessages(library(survival))

fmt <- function(df) {
  for (col in names(df)) if (is.numeric(df[[col]])) df[[col]] <- ifelse(is.na(df[[col]]), NA, sprintf("%.17g", df[[col]]))
  df
}
put <- function(df, case, what) write.csv(fmt(df), sprintf("survival_%s_%s.csv", case, what), row.names = FALSE)
strip <- function(s) sub("^[^=]*=", "", as.character(s))  # "arm=6-MP" -> "6-MP"
surv_formula <- function(time, event, rhs) as.formula(sprintf("Surv(%s, %s) ~ %s", time, event, rhs))

# Kaplan-Meier (full table, medians, survival at days) and the log-rank test of `group`
golden_km <- function(case, d, time, event, group, at = c(28, 56, 84)) {
  f <- survfit(surv_formula(time, event, group), data = d)  # conf.type = "log", the default
  s <- summary(f, censored = TRUE)
  grp <- if (is.null(s$strata)) rep("all", length(s$time)) else strip(s$strata)
  put(data.frame(group = grp, time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
                 survival = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper), case, "km")
  tb <- summary(f)$table
  if (is.null(dim(tb))) tb <- t(as.matrix(tb))
  put(data.frame(group = if (is.null(f$strata)) "all" else strip(rownames(tb)), n = tb[, "records"],
                 events = tb[, "events"], median = tb[, "median"], lower = tb[, "0.95LCL"], upper = tb[, "0.95UCL"]),
      case, "medians")
  a <- summary(f, times = at, extend = FALSE)  # days after a group's last time are dropped
  agrp <- if (is.null(a$strata)) rep("all", length(a$time)) else strip(a$strata)
  put(data.frame(group = agrp, day = a$time, n_risk = a$n.risk, survival = a$surv, lower = a$lower, upper = a$upper),
      case, "at")
  if (!is.null(f$strata)) {
    sd <- survdiff(surv_formula(time, event, group), data = d)  # rho = 0: log-rank
    df <- sum(sd$exp > 0) - 1
    put(data.frame(group = strip(names(sd$n)), n = as.vector(sd$n), observed = sd$obs, expected = sd$exp), case,
        "logrank_table")
    put(data.frame(chi2 = sd$chisq, df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE)), case, "logrank")
  }
  invisible(f)
}

# Cox model, Efron ties (R's default, said explicitly); `what` names the output files
golden_cox <- function(case, d, time, event, rhs, what = "cox") {
  fit <- coxph(surv_formula(time, event, rhs), data = d, ties = "efron")
  cf <- coef(summary(fit))
  ci <- summary(fit)$conf.int
  put(data.frame(term = rownames(cf), coef = cf[, "coef"], se = cf[, "se(coef)"], hr = cf[, "exp(coef)"],
                 lower = ci[, "lower .95"], upper = ci[, "upper .95"], z = cf[, "z"], p = cf[, "Pr(>|z|)"]),
      case, what)
  put(data.frame(null = fit$loglik[1], fitted = fit$loglik[2], n = fit$n, events = fit$nevent, iter = fit$iter),
      case, paste0(what, "_fit"))
  invisible(fit)
}
