# Golden numbers for tests/test_durability.py: an independent R implementation of DESIGN's outcome
# definitions (baseline, response, durability episodes, boosters) on tests/data/durability_clinic*.csv,
# then survival::survfit (log CI), survdiff (rho = 0) and coxph (Efron ties), by condition, PHQ9.
# Four definition variants: default, confirm (confirm_loss), censor and event (booster handling).
# Output: tests/data/golden/durability_<variant>.json (full precision). Tolerance in the tests: 1e-6.
# Run from the repository root:  Rscript tests/data/golden/durability_golden.R
# (R 4.2.2, survival 3.5-3)
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
A <- read.csv("tests/data/durability_clinic.csv", stringsAsFactors = FALSE)
Tr <- read.csv("tests/data/durability_clinic_treatments.csv", stringsAsFactors = FALSE)
tol <- 1e-9; drop <- 0.5                       # PHQ9 response: a drop of at least 50%
s <- aggregate(score ~ patient_id + day, data = A[A$instrument == "PHQ9", ], FUN = mean)  # same-day mean
s <- s[order(s$patient_id, s$day), ]
attrs <- A[!duplicated(A$patient_id), c("patient_id", "condition", "site", "age_band", "sex")]
band <- function(x) as.character(cut(x, c(-Inf, 5, 10, 15, 20, Inf), right = FALSE,
                                     labels = c("minimal", "mild", "moderate", "moderately severe", "severe")))
lost_at <- function(base, score) (base - score) / base < drop - tol

make_episodes <- function(confirm, boosters) {
  rows <- list()
  for (p in unique(s$patient_id)) {
    x <- s[s$patient_id == p, ]
    b <- x[x$day >= -30 & x$day <= 0, ]
    r <- x[x$day >= 14 & x$day <= 31, ]
    if (nrow(b) == 0 || nrow(r) == 0) next
    base <- b$score[nrow(b)]
    if (base <= 0) next
    origin <- r$day[1]
    if (lost_at(base, r$score[1])) next        # not a responder
    later <- x[x$day > origin, ]
    if (nrow(later) == 0) next                 # responder without follow-up
    lost <- lost_at(base, later$score); k <- length(lost)
    hit <- if (confirm) which(lost & c(lost[-1], FALSE)) else which(lost)
    if (length(hit)) {
      end <- later$day[hit[1]]; ev <- 1; why <- NA
    } else if (confirm && lost[k]) {
      end <- if (k > 1) later$day[k - 1] else origin; ev <- 0; why <- "unconfirmed last score"
    } else {
      end <- later$day[k]; ev <- 0; why <- "last score"
    }
    bd <- sort(unique(Tr$day[Tr$patient_id == p & Tr$kind == "booster"]))
    after <- bd[bd > origin]
    if (boosters == "censor" && length(after) && after[1] < end) { end <- after[1]; ev <- 0; why <- "booster" }
    if (boosters == "event") {
      if (length(after)) { end <- after[1]; ev <- 1; why <- NA } else { end <- later$day[k]; ev <- 0; why <- "last score" }
    }
    rows[[length(rows) + 1]] <- data.frame(patient_id = p, baseline_band = band(base), origin = origin,
                                           time = end - origin, event = ev, censor_reason = why)
  }
  merge(attrs, do.call(rbind, rows), by = "patient_id")
}

most_common_first <- function(x) {          # reference level: the most common (ties: alphabetical)
  t <- table(x); lev <- names(t)[order(-as.integer(t), names(t))]
  factor(x, levels = lev)
}

variants <- list(default = list(FALSE, "ignore"), confirm = list(TRUE, "ignore"),
                 censor = list(FALSE, "censor"), event = list(FALSE, "event"))
for (v in names(variants)) {
  e <- make_episodes(variants[[v]][[1]], variants[[v]][[2]])
  e <- e[order(e$patient_id), ]
  fit <- survfit(Surv(time, event) ~ condition, data = e)
  tab <- summary(fit)$table
  groups <- sub("condition=", "", rownames(tab))
  at <- summary(fit, times = c(28, 56, 84), extend = TRUE)
  sd <- survdiff(Surv(time, event) ~ condition, data = e)
  cd <- e
  for (c in c("condition", "age_band", "sex", "baseline_band", "site")) cd[[c]] <- most_common_first(cd[[c]])
  cx <- coxph(Surv(time, event) ~ condition + age_band + sex + baseline_band + site, data = cd, ties = "efron")
  sm <- summary(cx)
  out <- list(
    variant = v, confirm_loss = variants[[v]][[1]], booster_handling = variants[[v]][[2]],
    episodes = e[, c("patient_id", "origin", "time", "event", "censor_reason")],
    medians = data.frame(group = groups, n = tab[, "records"], events = tab[, "events"], median = tab[, "median"],
                         lower = tab[, "0.95LCL"], upper = tab[, "0.95UCL"]),
    survival_at = data.frame(group = sub("condition=", "", as.character(at$strata)), day = at$time,
                             n_risk = at$n.risk, survival = at$surv, lower = at$lower, upper = at$upper),
    logrank = list(chi2 = sd$chisq, df = length(sd$n) - 1, p = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE)),
    cox = data.frame(term = rownames(sm$coefficients), coef = sm$coefficients[, "coef"],
                     se = sm$coefficients[, "se(coef)"], hr = sm$conf.int[, "exp(coef)"],
                     lower = sm$conf.int[, "lower .95"], upper = sm$conf.int[, "upper .95"],
                     p = sm$coefficients[, "Pr(>|z|)"]),
    cox_reference = lapply(cd[c("condition", "age_band", "sex", "baseline_band", "site")], function(f) levels(f)[1]),
    cox_loglik = cx$loglik
  )
  write_json(out, sprintf("tests/data/golden/durability_%s.json", v), digits = NA, auto_unbox = TRUE,
             na = "null", pretty = TRUE, dataframe = "rows")
  cat(v, ": ", nrow(e), " episodes, ", sum(e$event), " events; log-rank ", format(sd$chisq), "\n", sep = "")
}
