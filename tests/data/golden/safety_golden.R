# Golden numbers for analysis/safety.py: the session flags computed here from the raw monitoring record (an
# independent computation of DESIGN "Session safety" with the default thresholds), their rates per 100 sessions and
# per patient with R's prop.test(x, n, correct = FALSE) Wilson intervals, overall and by site, route, dose band and
# infusion number 1-6; and the mean systolic / diastolic rise by age band with t.test intervals.
# Run: Rscript tests/data/golden/safety_golden.R   (from the repository root; writes safety_rates.csv, safety_bp_age.csv)
dir <- "tests/data/golden"
t <- read.csv(file.path(dir, "safety_treatments.csv"), stringsAsFactors = FALSE, na.strings = c("", "NA"))
p <- read.csv(file.path(dir, "safety_patients.csv"), stringsAsFactors = FALSE)
t <- t[order(t$patient_id, t$day), ]
t$site <- p$site[match(t$patient_id, p$patient_id)]
t$age_band <- p$age_band[match(t$patient_id, p$patient_id)]

# infusion number: 1, 2, ... of a patient's induction sessions in day order
t$infusion_number <- NA
ind <- t$kind == "induction"
t$infusion_number[ind] <- ave(t$day[ind], t$patient_id[ind], FUN = seq_along)
# dose band: mg/kg where known (lower edge included), else mg (upper edge included)
band_kg <- cut(t$dose_mg_per_kg, c(-Inf, 0.5, 0.75, 1.0, Inf), right = FALSE,
               labels = c("<0.5 mg/kg", "0.5-0.74 mg/kg", "0.75-0.99 mg/kg", ">=1 mg/kg"))
band_mg <- cut(t$dose_mg, c(-Inf, 56, 84, Inf), right = TRUE, labels = c("<=56 mg", "57-84 mg", ">84 mg"))
t$dose_band <- ifelse(!is.na(t$dose_mg_per_kg), as.character(band_kg),
                      ifelse(!is.na(t$dose_mg), as.character(band_mg), "unknown"))

# a flag of two measures: TRUE when either meets its threshold, FALSE when both are measured and neither does
either <- function(a, b) ifelse(!is.na(a) & a, TRUE, ifelse(!is.na(b) & b, TRUE, ifelse(is.na(a) | is.na(b), NA, FALSE)))
rs <- t$sbp_peak - t$sbp_pre
rd <- t$dbp_peak - t$dbp_pre
f <- data.frame(
  surge = either(rs >= 40, rd >= 25),
  severe_hypertension = either(t$sbp_peak >= 180, t$dbp_peak >= 110),
  emergent_hypertension = either(t$sbp_peak >= 165, t$dbp_peak >= 100),
  desaturation = t$spo2_min < 92,
  tachycardia = t$hr_peak > 110,
  deep_sedation = t$moaas_min <= 2,
  # a session keeps one of the two CADSS forms: known when it is measured
  marked_dissociation = ifelse(is.na(t$cadss) & is.na(t$cadss6), NA,
                               (!is.na(t$cadss) & t$cadss >= 30) | (!is.na(t$cadss6) & t$cadss6 >= 12)),
  adverse_event = !is.na(t$adverse_events) & t$adverse_events != "",  # blank = none
  rescue_medication = ifelse(is.na(t$rescue_medication), NA, tolower(t$rescue_medication) != "no"),
  late_discharge = t$minutes_to_discharge > 120
)
known_any <- rowSums(!is.na(f)) > 0
f$any_flag <- ifelse(known_any, rowSums(f == TRUE, na.rm = TRUE) > 0, NA)

rows <- list()
add <- function(dimension, group, keep) {
  for (flag in names(f)) {
    v <- f[[flag]]
    k <- keep & !is.na(v)
    n <- sum(k)
    if (n == 0) next
    x <- sum(v[k])
    ci <- prop.test(x, n, correct = FALSE)$conf.int
    pk <- unique(t$patient_id[k])
    px <- unique(t$patient_id[k & v])
    pci <- prop.test(length(px), length(pk), correct = FALSE)$conf.int
    rows[[length(rows) + 1]] <<- data.frame(
      flag = flag, dimension = dimension, group = group, sessions = n, events = x,
      per_100 = 100 * x / n, lower = 100 * ci[1], upper = 100 * ci[2],
      patients = length(pk), patients_flagged = length(px), patients_per_100 = 100 * length(px) / length(pk),
      patients_lower = 100 * pci[1], patients_upper = 100 * pci[2])
  }
}
add("overall", "overall", rep(TRUE, nrow(t)))
for (dim in c("site", "route", "dose_band")) for (g in sort(unique(t[[dim]]))) add(dim, g, t[[dim]] == g)
for (g in 1:6) add("infusion_number", as.character(g), !is.na(t$infusion_number) & t$infusion_number == g)
out <- do.call(rbind, rows)
write.csv(out, file.path(dir, "safety_rates.csv"), row.names = FALSE)

bp <- list()
for (g in sort(unique(t$age_band))) {
  at <- t$age_band == g
  s <- rs[at & !is.na(rs)]
  d <- rd[at & !is.na(rd)]
  bp[[length(bp) + 1]] <- data.frame(
    group = g, sbp_rise_n = length(s), sbp_rise_mean = mean(s), sbp_rise_lower = t.test(s)$conf.int[1],
    sbp_rise_upper = t.test(s)$conf.int[2], dbp_rise_n = length(d), dbp_rise_mean = mean(d),
    dbp_rise_lower = t.test(d)$conf.int[1], dbp_rise_upper = t.test(d)$conf.int[2])
}
write.csv(do.call(rbind, bp), file.path(dir, "safety_bp_age.csv"), row.names = FALSE)
cat(R.version.string, "\n")
