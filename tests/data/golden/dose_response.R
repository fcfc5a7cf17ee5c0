# Golden numbers for analysis/dose_response.py, computed independently from the raw sessions:
# per patient the dose band (the band of the median dose of the induction sessions: mg/kg where known, lower edge
# included; else mg, upper edge included), the induction density (induction sessions on days 0-13, banded 1-3, 4-5,
# 6+), the first induction session's systolic rise and marked dissociation (CADSS >= 30 or CADSS-6 >= 12); then
# response by band with prop.test (no correction), Kaplan-Meier by band (survfit, log CIs) at days 28/56/84 with
# medians, survdiff, coxph (Efron) of both bands against their largest groups, and
# glm(response ~ sbp_rise_10 + marked_dissociation, binomial) with exp(confint.default).
# Run: Rscript tests/data/golden/dose_response.R   (from the repository root)
suppressMessages(library(survival))
dir <- "tests/data/golden"
t <- read.csv(file.path(dir, "dose_response_treatments.csv"), stringsAsFactors = FALSE, na.strings = c("", "NA"))
o <- read.csv(file.path(dir, "dose_response_outcomes.csv"), stringsAsFactors = FALSE)
ep <- read.csv(file.path(dir, "dose_response_episodes.csv"), stringsAsFactors = FALSE)
t <- t[order(t$patient_id, t$day), ]
ind <- t[t$kind == "induction", ]

kg <- tapply(ind$dose_mg_per_kg, ind$patient_id, median, na.rm = TRUE)
mg <- tapply(ind$dose_mg, ind$patient_id, median, na.rm = TRUE)
band_kg <- as.character(cut(kg, c(-Inf, 0.5, 0.75, 1.0, Inf), right = FALSE,
                            labels = c("<0.5 mg/kg", "0.5-0.74 mg/kg", "0.75-0.99 mg/kg", ">=1 mg/kg")))
band_mg <- as.character(cut(mg, c(-Inf, 56, 84, Inf), right = TRUE, labels = c("<=56 mg", "57-84 mg", ">84 mg")))
band <- ifelse(!is.na(kg), band_kg, ifelse(!is.na(mg), band_mg, "unknown"))
names(band) <- names(kg)
n14 <- tapply(ind$day >= 0 & ind$day < 14, ind$patient_id, sum)
density <- ifelse(n14 >= 6, "6+ in 14 days", ifelse(n14 >= 4, "4-5 in 14 days", ifelse(n14 >= 1, "1-3 in 14 days", "unknown")))
first <- ind[!duplicated(ind$patient_id), ]
rise <- setNames((first$sbp_peak - first$sbp_pre) / 10, first$patient_id)
dis <- ifelse(!is.na(first$cadss) & first$cadss >= 30, 1,
         ifelse(!is.na(first$cadss6) & first$cadss6 >= 12, 1,
           ifelse(is.na(first$cadss) & is.na(first$cadss6), NA, 0)))
names(dis) <- first$patient_id

lab <- function(v, ids) { x <- v[ids]; x[is.na(x)] <- "unknown"; unname(x) }
o$dose_band <- lab(band, o$patient_id)
o$induction_density <- lab(density, o$patient_id)
o$sbp_rise_10 <- unname(rise[o$patient_id])
o$marked_dissociation <- unname(dis[o$patient_id])
ep$dose_band <- lab(band, ep$patient_id)
ep$induction_density <- lab(density, ep$patient_id)
write.csv(o, file.path(dir, "dose_response_r_patients.csv"), row.names = FALSE, na = "")

ev <- o[o$evaluable == 1, ]
rates <- do.call(rbind, lapply(c("dose_band", "induction_density"), function(g) {
  do.call(rbind, lapply(sort(unique(ev[[g]])), function(lv) {
    s <- ev[ev[[g]] == lv, ]
    x <- sum(s$response); n <- nrow(s)
    ci <- prop.test(x, n, correct = FALSE)$conf.int
    data.frame(grouping = g, group = lv, evaluable = n, responders = x, rate = x / n, lower = ci[1], upper = ci[2])
  }))
}))
write.csv(rates, file.path(dir, "dose_response_r_rates.csv"), row.names = FALSE)

km <- do.call(rbind, lapply(c("dose_band", "induction_density"), function(g) {
  f <- survfit(Surv(time, event) ~ strata, data = data.frame(ep, strata = ep[[g]]))
  tab <- summary(f)$table
  med <- data.frame(grouping = g, group = sub("strata=", "", rownames(tab)), n = tab[, "records"],
                    events = tab[, "events"], median = tab[, "median"], median_lower = tab[, "0.95LCL"],
                    median_upper = tab[, "0.95UCL"])
  for (d in c(28, 56, 84)) {
    s <- summary(f, times = d, extend = TRUE)
    st <- sub("strata=", "", as.character(s$strata))
    med[[paste0("s", d)]] <- s$surv[match(med$group, st)]
    med[[paste0("s", d, "_lower")]] <- s$lower[match(med$group, st)]
    med[[paste0("s", d, "_upper")]] <- s$upper[match(med$group, st)]
  }
  lr <- survdiff(Surv(time, event) ~ strata, data = data.frame(ep, strata = ep[[g]]))
  med$logrank_chi2 <- lr$chisq
  med$logrank_df <- length(lr$n) - 1
  med
}))
write.csv(km, file.path(dir, "dose_response_r_km.csv"), row.names = FALSE, na = "")

cx <- ep[ep$dose_band != "unknown" & ep$induction_density != "unknown", ]
largest <- function(v) { tb <- table(v); names(tb)[tb == max(tb)][1] }
cx$dose_band <- relevel(factor(cx$dose_band), ref = largest(cx$dose_band))
cx$induction_density <- relevel(factor(cx$induction_density), ref = largest(cx$induction_density))
fit <- coxph(Surv(time, event) ~ dose_band + induction_density, data = cx, ties = "efron")
s <- summary(fit)
cox <- data.frame(term = rownames(s$coefficients), coef = s$coefficients[, "coef"], se = s$coefficients[, "se(coef)"],
                  hr = s$conf.int[, "exp(coef)"], lower = s$conf.int[, "lower .95"], upper = s$conf.int[, "upper .95"],
                  p = s$coefficients[, "Pr(>|z|)"])
write.csv(cox, file.path(dir, "dose_response_r_cox.csv"), row.names = FALSE)

g <- glm(response ~ sbp_rise_10 + marked_dissociation, family = binomial, data = ev)
ci <- exp(confint.default(g))
sg <- summary(g)$coefficients
lg <- data.frame(term = rownames(sg), coef = sg[, "Estimate"], se = sg[, "Std. Error"], odds_ratio = exp(sg[, "Estimate"]),
                 lower = ci[, 1], upper = ci[, 2], z = sg[, "z value"], p = sg[, "Pr(>|z|)"], n = nobs(g),
                 responders = sum(g$y))
write.csv(lg, file.path(dir, "dose_response_r_glm.csv"), row.names = FALSE)
