# Golden numbers for analysis.metrics.summary on a clinic-shaped practice, by an independent R
# implementation of DESIGN's definitions and of the metrics' definitions (analysis/metrics.py METHODS).
# Input: metrics_practice_assessments.csv, metrics_practice_treatments.csv (made by metrics_practice_make.py).
# Run from this folder:  Rscript metrics_practice.R   (R 4.2, base stats only)
# Output: metrics_practice_totals.csv, metrics_practice_by_month.csv, metrics_practice_rates.csv
#
# Definitions: a treatment session is one (patient, day, kind); patients started = patients with a session;
# series completion = patients with >= 6 induction sessions / patients with >= 1; assessment completion =
# sessions with a day on whose day +-1 the patient has a score / sessions with a day; by month = by the
# patient's start month. Per instrument: same-day scores averaged; baseline = last score in day [-30, 0];
# response assessment = first score in [14, 31]; evaluable = baseline > 0 and a response assessment;
# response = (baseline - score) / baseline >= drop; remission = score <= max (tolerance 1e-9 both);
# with follow-up = responders with a later score; rates with prop.test(correct = FALSE) CIs.

a <- read.csv("metrics_practice_assessments.csv", stringsAsFactors = FALSE, na.strings = c("", "NA"))
tr <- read.csv("metrics_practice_treatments.csv", stringsAsFactors = FALSE, na.strings = c("", "NA"))
L <- 6
rules <- list(PHQ9 = c(0.5, 4), GAD7 = c(0.5, 4), PCL5 = c(0.3, 32), PAIN_NRS = c(0.3, NA), YMRS = c(0.5, 12))

s <- unique(tr[, c("patient_id", "day", "kind")])
keys <- unique(paste(a$patient_id, a$day))
has_day <- !is.na(s$day)
s$assessed <- NA
s$assessed[has_day] <- paste(s$patient_id, s$day - 1)[has_day] %in% keys |
  paste(s$patient_id, s$day)[has_day] %in% keys | paste(s$patient_id, s$day + 1)[has_day] %in% keys

first_value <- function(x) { x <- x[!is.na(x)]; if (length(x)) x[1] else NA }
patients <- unique(c(a$patient_id, s$patient_id))
month <- tapply(a$start_month, a$patient_id, first_value)[patients]
per <- data.frame(
  patient_id = patients,
  start_month = unname(month),
  sessions = sapply(patients, function(p) sum(s$patient_id == p)),
  induction = sapply(patients, function(p) sum(s$patient_id == p & s$kind == "induction")),
  boosters = sapply(patients, function(p) sum(s$patient_id == p & s$kind == "booster")),
  dated = sapply(patients, function(p) sum(s$patient_id == p & !is.na(s$assessed))),
  with_score = sapply(patients, function(p) sum(s$patient_id == p & s$assessed %in% TRUE)),
  stringsAsFactors = FALSE
)
started <- per[per$sessions > 0, ]
ind <- started[started$induction > 0, ]
totals <- data.frame(
  key = c("patients", "patients_with_scores", "infusions", "boosters", "induction_started", "series_completed",
          "series_completion", "infusions_dated", "infusions_with_score", "assessment_completion",
          "median_infusions"),
  value = c(nrow(started), length(unique(a$patient_id)), nrow(s), sum(s$kind == "booster"), nrow(ind),
            sum(ind$induction >= L), mean(ind$induction >= L), sum(!is.na(s$assessed)),
            sum(s$assessed %in% TRUE), sum(s$assessed %in% TRUE) / sum(!is.na(s$assessed)),
            median(ind$induction))
)
write.csv(totals, "metrics_practice_totals.csv", row.names = FALSE)

sm <- started[!is.na(started$start_month), ]
months <- sort(unique(sm$start_month))
by_month <- do.call(rbind, lapply(months, function(m) {
  x <- sm[sm$start_month == m, ]
  data.frame(start_month = m, patients_started = nrow(x), infusions = sum(x$sessions),
             induction_started = sum(x$induction > 0), series_completed = sum(x$induction >= L),
             boosters = sum(x$boosters), infusions_dated = sum(x$dated), infusions_with_score = sum(x$with_score))
}))
write.csv(by_month, "metrics_practice_by_month.csv", row.names = FALSE)

ci <- function(x, n) {
  if (is.na(x) || n == 0) return(c(NA, NA, NA))
  c(x / n, suppressWarnings(prop.test(x, n, correct = FALSE))$conf.int)
}
attr_of <- function(col) tapply(a[[col]], a$patient_id, first_value)
rates <- list()
for (code in names(rules)) {
  x <- a[a$instrument == code & !is.na(a$score) & !is.na(a$day), ]
  if (!nrow(x)) next
  m <- aggregate(score ~ patient_id + day, data = x, FUN = mean)
  m <- m[order(m$patient_id, m$day), ]
  o <- do.call(rbind, lapply(split(m, m$patient_id), function(p) {
    b <- p[p$day >= -30 & p$day <= 0, ]; r <- p[p$day >= 14 & p$day <= 31, ]
    data.frame(patient_id = p$patient_id[1],
               baseline = if (nrow(b)) b$score[nrow(b)] else NA,
               response_score = if (nrow(r)) r$score[1] else NA,
               response_day = if (nrow(r)) r$day[1] else NA,
               last_day = max(p$day), stringsAsFactors = FALSE)
  }))
  drop <- rules[[code]][1]; rmax <- rules[[code]][2]
  o$evaluable <- !is.na(o$baseline) & o$baseline > 0 & !is.na(o$response_score)
  o$response <- o$evaluable & (o$baseline - o$response_score) / o$baseline >= drop - 1e-9
  o$remission <- if (is.na(rmax)) NA else o$evaluable & o$response_score <= rmax + 1e-9
  o$follow_up <- o$response & o$last_day > o$response_day
  for (dim in c("overall", "condition", "site", "start_month")) {
    g <- if (dim == "overall") rep("all", nrow(o)) else unname(attr_of(dim)[o$patient_id])
    g[is.na(g)] <- "unknown"
    for (grp in sort(unique(g))) {
      y <- o[g == grp, ]
      n <- sum(y$evaluable); resp <- sum(y$response); rem <- if (is.na(rmax)) NA else sum(y$remission)
      rc <- ci(resp, n); mc <- ci(rem, n)
      rates[[length(rates) + 1]] <- data.frame(
        instrument = code, dimension = dim, group = grp, patients = nrow(y),
        with_baseline = sum(!is.na(y$baseline)),
        with_response_assessment = sum(!is.na(y$baseline) & !is.na(y$response_score)),
        evaluable = n, responders = resp, remitters = rem, with_follow_up = sum(y$follow_up),
        response_rate = rc[1], response_lower = rc[2], response_upper = rc[3],
        remission_rate = mc[1], remission_lower = mc[2], remission_upper = mc[3])
    }
  }
}
write.csv(do.call(rbind, rates), "metrics_practice_rates.csv", row.names = FALSE)
cat(R.version.string, "\n")
