# Golden numbers for analysis/metrics.py: rate_ci and compare_rates.
# Run from this folder:  Rscript metrics_rates.R   (R 4.2, base stats only)
# Writes metrics_rate_ci.csv and metrics_compare.csv (15 significant digits, write.csv default).
#
# rate_ci(x, n, level) must equal prop.test(x, n, conf.level = level, correct = FALSE)$conf.int
# (the Wilson score interval; 0 and 1 exactly at x = 0 and x = n).
# compare_rates(x1, n1, x2, n2): Pearson chi-square without continuity correction (prop.test, correct =
# FALSE) unless an expected cell count is < 5, then Fisher's exact test (fisher.test); the difference
# x1/n1 - x2/n2 always with prop.test's confidence interval. chisq_* are prop.test's own values, kept for
# reference (NA where R cannot compute them: every expected count of a column is 0).

rate_cases <- data.frame(
  x     = c(0, 0, 10, 3, 1, 54, 29, 1, 17, 250, 0, 7, 1, 999),
  n     = c(1, 10, 10, 10, 2, 100, 100, 1, 45, 600, 500, 7, 1000, 1000),
  level = c(0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.90, 0.99, 0.95)
)
rate_out <- do.call(rbind, lapply(seq_len(nrow(rate_cases)), function(i) {
  r <- rate_cases[i, ]
  ci <- suppressWarnings(prop.test(r$x, r$n, conf.level = r$level, correct = FALSE))$conf.int
  data.frame(x = r$x, n = r$n, level = r$level, rate = r$x / r$n, lower = ci[1], upper = ci[2])
}))
write.csv(rate_out, "metrics_rate_ci.csv", row.names = FALSE)

cmp_cases <- data.frame(
  x1 = c(54, 30, 250, 45, 3, 0, 0, 1, 10, 12, 5, 40, 2),
  n1 = c(100, 60, 600, 80, 10, 5, 10, 20, 10, 15, 9, 41, 30),
  x2 = c(40, 20, 100, 30, 8, 5, 0, 4, 7, 6, 5, 30, 9),
  n2 = c(100, 70, 300, 90, 12, 5, 12, 20, 10, 25, 60, 40, 31)
)
cmp_out <- do.call(rbind, lapply(seq_len(nrow(cmp_cases)), function(i) {
  r <- cmp_cases[i, ]
  x <- c(r$x1, r$x2); n <- c(r$n1, r$n2)
  p0 <- sum(x) / sum(n)
  expected <- c(n * p0, n * (1 - p0))
  pt <- suppressWarnings(prop.test(x, n, correct = FALSE))
  if (any(expected < 5)) {
    ft <- fisher.test(matrix(c(r$x1, r$n1 - r$x1, r$x2, r$n2 - r$x2), nrow = 2, byrow = TRUE))
    test <- "fisher"; statistic <- NA; p <- ft$p.value  # Fisher has no test statistic
  } else {
    test <- "chi-square"; statistic <- unname(pt$statistic); p <- pt$p.value
  }
  data.frame(x1 = r$x1, n1 = r$n1, x2 = r$x2, n2 = r$n2, min_expected = min(expected), test = test,
             statistic = statistic, p = p, difference = r$x1 / r$n1 - r$x2 / r$n2,
             lower = pt$conf.int[1], upper = pt$conf.int[2],
             chisq_statistic = unname(pt$statistic), chisq_p = pt$p.value)
}))
write.csv(cmp_out, "metrics_compare.csv", row.names = FALSE)
cat(R.version.string, "\n")
