# Writes the small clinic-shaped data set of the durability golden tests (seeded; never hand-edited):
#   tests/data/durability_clinic.csv             canonical assessments (PHQ9 for all, GAD7 for anxiety)
#   tests/data/durability_clinic_treatments.csv  canonical treatments (induction, booster)
# It contains the awkward cases on purpose: no baseline, baseline 0, no score in the response window,
# two scores on one day, responders without follow-up, drops undone by the next score, drops on the
# last score, boosters before and after the response assessment, a second instrument.
# Run from the repository root:  Rscript tests/data/golden/durability_make_data.R
set.seed(20261121)
n <- 220
pick <- function(x, p) sample(x, 1, prob = p)
A <- list(); Tr <- list()
for (i in seq_len(n)) {
  id <- sprintf("K%03d", i)
  cond <- pick(c("depression", "anxiety", "ptsd"), c(.5, .25, .25))
  site <- pick(c("North", "South"), c(.6, .4))
  age <- pick(c("25-34", "35-44", "45-54"), c(.45, .35, .20))
  sex <- pick(c("F", "M"), c(.6, .4))
  attrs <- data.frame(condition = cond, site = site, age_band = age, sex = sex, route = "IV")
  rows <- list()
  add <- function(day, score, instrument = "PHQ9") rows[[length(rows) + 1]] <<- data.frame(
    patient_id = id, instrument = instrument, score = score, day = day)
  base <- sample(10:26, 1)
  u <- runif(1)
  if (u < 0.05) {                      # no baseline in the window
    add(-40, base)
  } else if (u < 0.07) {               # baseline 0: not evaluable
    base <- 0; add(-5, 3); add(0, 0)
  } else {
    add(-sample(3:10, 1), min(27, base + sample(0:3, 1)))
    if (runif(1) < 0.5) add(0, base) else base <- rows[[1]]$score
  }
  # induction: 6 infusions, or fewer for about 40%
  n_inf <- if (runif(1) < 0.4) sample(2:5, 1) else 6
  for (d in c(0, 2, 4, 7, 9, 11)[seq_len(n_inf)]) Tr[[length(Tr) + 1]] <- data.frame(
    patient_id = id, day = d, kind = "induction", route = "IV", dose_mg_per_kg = 0.5)
  add(sample(3:12, 1), max(0, round(base * runif(1, .4, .9))))
  # response assessment (or none in the window for about 8%)
  hr <- c(depression = 1, anxiety = 1.6, ptsd = 0.6)[[cond]] * c(F = 1, M = 1.4)[[sex]]
  responder <- runif(1) < 0.65
  if (runif(1) < 0.08) {
    add(35, round(base * 0.4))
    A[[i]] <- cbind(do.call(rbind, rows), attrs); next
  }
  origin <- sample(14:31, 1)
  resp <- if (responder) round(base * runif(1, .1, .5)) else round(base * runif(1, .55, 1))
  add(origin, resp)
  if (runif(1) < 0.12) add(origin, resp + sample(c(-1, 1), 1) * sample(0:3, 1))  # same-day second score
  if (responder && runif(1) < 0.08) {  # responder without follow-up
    A[[i]] <- cbind(do.call(rbind, rows), attrs); next
  }
  loss_at <- origin + rexp(1, hr / 100)
  day <- origin
  last <- origin + sample(60:200, 1)
  while (TRUE) {
    day <- day + sample(c(7, 10, 14, 21, 28), 1)
    if (day > last) break
    lost <- day >= loss_at && runif(1) < 0.85   # 15%: a good score after the loss
    sc <- if (lost) round(base * runif(1, .55, 1)) else round(base * runif(1, .05, .5))
    if (runif(1) < 0.06) sc <- round(base * runif(1, .55, .8))  # an isolated drop
    add(day, max(0, min(27, sc)))
    if (runif(1) < 0.04) add(day, max(0, min(27, sc + sample(-2:2, 1))))
  }
  # boosters: before the origin for some, after it for about half
  if (runif(1) < 0.15) Tr[[length(Tr) + 1]] <- data.frame(patient_id = id, day = origin - sample(0:3, 1),
                                                        kind = "booster", route = "IV", dose_mg_per_kg = 0.5)
  if (runif(1) < 0.5) {
    b <- origin + cumsum(sample(c(14, 21, 28, 42, 56), sample(1:4, 1), replace = TRUE))
    for (d in b) Tr[[length(Tr) + 1]] <- data.frame(patient_id = id, day = d, kind = "booster",
                                                    route = "IV", dose_mg_per_kg = 0.5)
  }
  out <- do.call(rbind, rows)
  if (cond == "anxiety") {             # a second instrument
    g <- out[out$instrument == "PHQ9", ]
    g$instrument <- "GAD7"; g$score <- pmin(21, round(g$score * 0.7))
    out <- rbind(out, g)
  }
  A[[i]] <- cbind(out, attrs)
}
A <- do.call(rbind, A); Tr <- do.call(rbind, Tr)
A <- A[sample(nrow(A)), ]                # files have no reliable row order
write.csv(A, "tests/data/durability_clinic.csv", row.names = FALSE, quote = FALSE)
write.csv(Tr, "tests/data/durability_clinic_treatments.csv", row.names = FALSE, quote = FALSE)
cat(nrow(A), "assessment rows,", length(unique(A$patient_id)), "patients,", nrow(Tr), "treatment rows\n")
