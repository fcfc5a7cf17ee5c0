# Golden numbers of analysis/boosters.py (tests/test_boosters.py), from R survival and stats.
# Run from the repository root:  Rscript tests/data/golden/boosters.R
# Data: boosters_assessments.csv and boosters_treatments.csv (the sample practice of sample_data/, its columns
# needed here, copied so that the test stands alone). Rules as analysis/boosters.py's docstring:
#   origin = a patient's last induction session; event = the first booster after it; otherwise censored at the
#   patient's last record (a session or a score); patient-years = (last record - origin) / 365.25;
#   intervals = days between a patient's consecutive distinct booster days (all boosters);
#   scores around a booster (PHQ9): the last score from 14 days before to the booster's day, the first from the day
#   after to 14 days after, the patient's first booster (after the origin) with both; same-day scores averaged.
# Writes boosters_km.csv (summary(survfit, censored = TRUE)), boosters_medians.csv, boosters_rates.csv
# (poisson.test), boosters_intervals.csv (quantile type 7), boosters_scores.csv (t.test paired).
suppressMessages(library(survival))
dir <- "tests/data/golden"
a <- read.csv(file.path(dir, "boosters_assessments.csv"), stringsAsFactors = FALSE)
t <- read.csv(file.path(dir, "boosters_treatments.csv"), stringsAsFactors = FALSE)
first_value <- function(x) { x <- x[!is.na(x) & x != ""]; if (length(x)) x[1] else NA }
cond <- tapply(a$condition, a$patient_id, first_value)
origin <- tapply(t$day[t$kind == "induction"], t$patient_id[t$kind == "induction"], max)
all_days <- rbind(t[, c("patient_id", "day")], a[, c("patient_id", "day")])
last <- tapply(all_days$day, all_days$patient_id, max)
b <- unique(t[t$kind == "booster", c("patient_id", "day")])
b$origin <- origin[b$patient_id]
b <- b[!is.na(b$origin) & b$day > b$origin, ]
ids <- names(origin)
first <- tapply(b$day, b$patient_id, min)
p <- data.frame(patient_id = ids, origin = as.numeric(origin), last = as.numeric(last[ids]),
                first = as.numeric(first[ids]), stringsAsFactors = FALSE)
p$event <- as.integer(!is.na(p$first))
p$time <- ifelse(p$event == 1, p$first - p$origin, p$last - p$origin)
p$group <- ifelse(is.na(cond[ids]), "unknown", cond[ids])
nb <- table(factor(b$patient_id, levels = ids))
p$boosters <- as.integer(nb[ids])
p$years <- (p$last - p$origin) / 365.25

fit <- survfit(Surv(time, event) ~ group, data = p)
s <- summary(fit, censored = TRUE)
write.csv(data.frame(group = sub("group=", "", as.character(s$strata)), time = s$time, n_risk = s$n.risk,
                     n_event = s$n.event, survival = s$surv, lower = s$lower, upper = s$upper),
          file.path(dir, "boosters_km.csv"), row.names = FALSE)
tab <- summary(fit)$table
write.csv(data.frame(group = sub("group=", "", rownames(tab)), median = tab[, "median"],
                     lower = tab[, "0.95LCL"], upper = tab[, "0.95UCL"]),
          file.path(dir, "boosters_medians.csv"), row.names = FALSE)
rates <- do.call(rbind, lapply(sort(unique(p$group)), function(g) {
  x <- p[p$group == g, ]
  if (sum(x$years) <= 0) return(NULL)
  pt <- poisson.test(sum(x$boosters), sum(x$years))
  data.frame(group = g, boosters = sum(x$boosters), patient_years = sum(x$years), rate = unname(pt$estimate),
             lower = pt$conf.int[1], upper = pt$conf.int[2])
}))
write.csv(rates, file.path(dir, "boosters_rates.csv"), row.names = FALSE)

allb <- unique(t[t$kind == "booster", c("patient_id", "day")])
allb <- allb[order(allb$patient_id, allb$day), ]
iv <- unlist(lapply(split(allb$day, allb$patient_id), diff))
q <- quantile(iv, c(0.5, 0.25, 0.75), type = 7)
write.csv(data.frame(intervals = length(iv), median = q[1], q1 = q[2], q3 = q[3]),
          file.path(dir, "boosters_intervals.csv"), row.names = FALSE)

s9 <- aggregate(score ~ patient_id + day, data = a[a$instrument == "PHQ9", ], FUN = mean)
pairs <- NULL
for (id in unique(b$patient_id)) {
  for (bd in sort(b$day[b$patient_id == id])) {
    x <- s9[s9$patient_id == id, ]
    pre <- x[x$day >= bd - 14 & x$day <= bd, ]
    post <- x[x$day >= bd + 1 & x$day <= bd + 14, ]
    if (nrow(pre) && nrow(post)) {
      pairs <- rbind(pairs, data.frame(patient_id = id, before = pre$score[which.max(pre$day)],
                                       after = post$score[which.min(post$day)]))
      break
    }
  }
}
tt <- t.test(pairs$after, pairs$before, paired = TRUE)
write.csv(data.frame(pairs = nrow(pairs), before = mean(pairs$before), after = mean(pairs$after),
                     change = unname(tt$estimate), lower = tt$conf.int[1], upper = tt$conf.int[2], p = tt$p.value),
          file.path(dir, "boosters_scores.csv"), row.names = FALSE)
print(tab); print(rates); print(q); print(tt)
cat(R.version.string, "survival", as.character(packageVersion("survival")), "\n")
