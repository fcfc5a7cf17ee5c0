# Golden numbers: times that differ only by floating-point noise are one time (R aeqSurv, which survfit,
# survdiff and coxph apply by default, timefix = TRUE). Writes the data, tests/data/survival_aeq.csv (times in
# weeks, day / 7, some with a relative error of a few ulp; a chain 2, 2 + 1e-8, 2 + 2e-8 whose neighbours are
# within sqrt(.Machine$double.eps) of each other, so all three are 2; 0.1 + 0.2 beside 0.3), then the
# Kaplan-Meier, log-rank and Cox numbers of the data read back from that file: survival_aeq_*.csv.
# Run from this folder: Rscript survival_aeq.R (R 4.2.2, survival 3.5-3).
source("survival_common.R")
set.seed(19)
n <- 60
base <- sample(1:25, n, replace = TRUE) / 7
noise <- sample(c(0, 0, 1, -1, 2), n, replace = TRUE) * 4 * .Machine$double.eps * base
time <- c(base + noise, 2, 2 + 1e-8, 2 + 2e-8, 0.1 + 0.2, 0.3)
d <- data.frame(weeks = sprintf("%.17g", time), event = rbinom(length(time), 1, 0.7),
                arm = sample(c("a", "b"), length(time), replace = TRUE))
write.csv(d, "../survival_aeq.csv", row.names = FALSE)
d <- read.csv("../survival_aeq.csv")
stopifnot(length(unique(d$weeks)) > length(unique(aeqSurv(Surv(d$weeks, d$event))[, 1])))
golden_km("aeq", d, "weeks", "event", "arm", at = c(1, 2, 3))
golden_cox("aeq", d, "weeks", "event", "arm")
