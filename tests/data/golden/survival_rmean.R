# Golden numbers: restricted mean survival time up to tau, as R print(survfit, rmean = tau)
# (survival:::survmean: the "rmean" and "se(rmean)" columns of summary(fit, rmean = tau)$table; R refuses a
# tau below the smallest time), per group, and each group's difference from the largest group (ties: the
# first level): SE sqrt(se1^2 + se2^2), 95% CI difference -/+ qnorm(0.975) SE, two-sided z-test p.
# Writes survival_rmean_<case>.csv and survival_rmean_<case>_difference.csv.
# Run from this folder: Rscript survival_rmean.R (R 4.2.2, survival 3.5-3).
source("survival_common.R")

golden_rmean <- function(case, d, time, event, group, taus) {
  f <- survfit(surv_formula(time, event, group), data = d)
  est <- list(); dif <- list()
  for (tau in taus) {
    tb <- summary(f, rmean = tau)$table
    if (is.null(dim(tb))) tb <- t(as.matrix(tb))
    grp <- if (is.null(f$strata)) "all" else strip(rownames(tb))
    rm <- tb[, "rmean"]; se <- tb[, "se(rmean)"]
    est[[length(est) + 1]] <- data.frame(group = grp, tau = tau, rmean = rm, se = se)
    if (length(grp) > 1) {
      ref <- which.max(tb[, "records"])  # the largest group, the first on ties
      o <- setdiff(seq_along(grp), ref)
      diff <- rm[o] - rm[ref]; dse <- sqrt(se[o]^2 + se[ref]^2)
      dif[[length(dif) + 1]] <- data.frame(group = grp[o], reference = grp[ref], tau = tau, difference = diff,
                                           se = dse, lower = diff - qnorm(0.975) * dse,
                                           upper = diff + qnorm(0.975) * dse, p = 2 * pnorm(-abs(diff / dse)))
    }
  }
  put(do.call(rbind, est), "rmean", case)
  if (length(dif)) put(do.call(rbind, dif), "rmean", paste0(case, "_difference"))
}
put <- function(df, case, what) write.csv(fmt(df), sprintf("survival_%s_%s.csv", case, what), row.names = FALSE)

g <- read.csv("../gehan_6mp.csv")
g$arm <- ifelse(g$treated == 1, "6-MP", "control")
# at the first time, at an event time, between times, at the last time of one arm, after both
golden_rmean("gehan", g, "weeks", "relapse", "arm", c(1, 10, 17.5, 23, 35, 50))
lung <- read.csv("../lung.csv")
golden_rmean("lung", lung, "days", "died", "sex", c(84, 365, 1000))
golden_rmean("lung_all", lung, "days", "died", "1", c(84, 365))
golden_rmean("veteran", read.csv("../veteran.csv"), "days", "died", "celltype", c(84, 365))
golden_rmean("clinic", read.csv("../survival_clinic.csv"), "day", "lost", "condition", c(28, 84, 200))
