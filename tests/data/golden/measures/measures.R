# An independent implementation of DESIGN.md "Quality measures" in base R, for the golden tests of
# analysis/measures.py. Written from DESIGN's words, not from the Python module.
#
# Usage: Rscript measures.R ASSESSMENTS.csv TREATMENTS.csv|- HALF_WIDTH RULE FROM|- TO|- OUT_PREFIX
#   HALF_WIDTH: 60 or 30 (windows 180 +/- w and 365 +/- w days after the index event, both ends included)
#   RULE: most_recent (the most recent PHQ-9 in the window decides) or any (any PHQ-9 in the window)
#   FROM, TO: the reporting period as index months YYYY-MM ("-": open)
# Writes OUT_PREFIX_measures.csv (one row per measure: counts, rate, Wilson 95% CI from prop.test without
# continuity correction) and OUT_PREFIX_patients.csv (one row per patient and measure: the disposition).
#
# Rules (DESIGN): same-day PHQ-9 scores of a patient are averaged. A patient's calendar day is the first day
# of the start month plus the day offset. Index event: the first PHQ-9 above 9, in an index month of the
# period, of a patient with depression or bipolar depression (bipolar: excluded). Data end: the latest
# calendar day of any score (any instrument) or treatment. Not reached: data end before the window's last day.
# No score in the window: in the denominator, not met. Remission: score < 5; response: score <= index / 2;
# follow-up: any PHQ-9 in the window.

args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 7)
a <- read.csv(args[1], stringsAsFactors = FALSE, colClasses = c(patient_id = "character", start_month = "character"))
tr <- if (args[2] == "-") NULL else read.csv(args[2], stringsAsFactors = FALSE, colClasses = c(patient_id = "character"))
w <- as.integer(args[3])
rule <- args[4]
from <- if (args[5] == "-") NA else args[5]
to <- if (args[6] == "-") NA else args[6]
out <- args[7]
eps <- 1e-9

# one row per patient: condition, site, calendar origin
pat <- a[!duplicated(a$patient_id), c("patient_id", "condition", "site", "start_month")]
pat$origin <- ifelse(grepl("^[0-9]{4}-(0[1-9]|1[0-2])$", pat$start_month),
                     as.numeric(as.Date(paste0(pat$start_month, "-01"))), NA)
origin_of <- function(ids) pat$origin[match(ids, pat$patient_id)]

cal <- c(origin_of(a$patient_id) + a$day)
if (!is.null(tr)) cal <- c(cal, origin_of(tr$patient_id) + tr$day)
data_end <- max(cal, na.rm = TRUE)

phq <- a[a$instrument == "PHQ9", ]
phq <- aggregate(score ~ patient_id + day, data = phq, FUN = mean)
phq <- phq[order(phq$patient_id, phq$day), ]
phq$origin <- origin_of(phq$patient_id)
phq$condition <- pat$condition[match(phq$patient_id, pat$patient_id)]
phq$month <- format(as.Date(phq$origin + phq$day, origin = "1970-01-01"), "%Y-%m")

cand <- phq[!is.na(phq$origin) & phq$score > 9 & phq$condition %in% c("depression", "bipolar_depression"), ]
if (!is.na(from)) cand <- cand[cand$month >= from, ]
if (!is.na(to)) cand <- cand[cand$month <= to, ]
idx <- cand[!duplicated(cand$patient_id), ]  # sorted by patient and day: the first per patient

measures <- data.frame(
  measure = c("MIPS 370", "MIPS 411", "NQF 1884", "NQF 1885", "DRR-E follow-up", "DRR-E remission", "DRR-E response"),
  centre = c(365, 180, 180, 365, 180, 180, 180),
  kind = c("remission", "remission", "response", "response", "follow_up", "remission", "response"),
  stringsAsFactors = FALSE
)

prows <- list()
for (m in seq_len(nrow(measures))) {
  lo <- measures$centre[m] - w
  hi <- measures$centre[m] + w
  kind <- measures$kind[m]
  for (i in seq_len(nrow(idx))) {
    p <- idx[i, ]
    s <- phq[phq$patient_id == p$patient_id & phq$day - p$day >= lo & phq$day - p$day <= hi, ]
    meets <- if (kind == "follow_up") rep(TRUE, nrow(s)) else if (kind == "remission") s$score < 5 else s$score <= p$score / 2 + eps
    start <- p$origin + p$day
    if (p$condition == "bipolar_depression") {
      disp <- "excluded"
    } else if (data_end < start + hi) {
      disp <- "not reached"
    } else if (nrow(s) == 0) {
      disp <- "no score in window"
    } else if (rule == "most_recent") {
      disp <- if (meets[nrow(s)]) "met" else "not met"
    } else {
      disp <- if (any(meets)) "met" else "not met"
    }
    dday <- NA
    dscore <- NA
    if (disp %in% c("met", "not met")) {
      k <- if (rule == "any" && disp == "met") which(meets)[1] else nrow(s)
      dday <- s$day[k]
      dscore <- s$score[k]
    }
    state <- if (disp == "excluded") "" else if (data_end >= start + hi) "closed" else if (data_end >= start + lo) "open" else "not yet open"
    prows[[length(prows) + 1]] <- data.frame(
      patient_id = p$patient_id, measure = measures$measure[m], index_month = p$month, index_day = p$day,
      index_score = p$score, window_from_day = p$day + lo, window_to_day = p$day + hi, disposition = disp,
      deciding_day = dday, deciding_score = dscore, window_state = state,
      due = state == "open" && nrow(s) == 0, stringsAsFactors = FALSE
    )
  }
}
patients <- if (length(prows)) do.call(rbind, prows) else data.frame()

mrows <- list()
for (m in seq_len(nrow(measures))) {
  d <- if (nrow(patients)) patients$disposition[patients$measure == measures$measure[m]] else character(0)
  n <- function(x) sum(d == x)
  den <- n("met") + n("not met") + n("no score in window")
  if (den > 0) {
    ci <- suppressWarnings(prop.test(n("met"), den, correct = FALSE)$conf.int)
    rate <- n("met") / den
  } else {
    ci <- c(NA, NA)
    rate <- NA
  }
  mrows[[m]] <- data.frame(
    measure = measures$measure[m], eligible = length(d), excluded = n("excluded"), not_reached = n("not reached"),
    denominator = den, numerator = n("met"), not_met = n("not met"), no_score = n("no score in window"),
    rate = rate, lower = ci[1], upper = ci[2], stringsAsFactors = FALSE
  )
}
write.csv(do.call(rbind, mrows), paste0(out, "_measures.csv"), row.names = FALSE)
write.csv(patients, paste0(out, "_patients.csv"), row.names = FALSE)
cat("data end", format(as.Date(data_end, origin = "1970-01-01"), "%Y-%m"), "\n")
