# Golden numbers for the checks beside every Cox model (Efron ties): the proportional-hazards test, R cox.zph
# (transform = "km", the default; one row per term, i.e. per covariate, and GLOBAL), and Harrell's concordance
# with its standard error, R concordance(coxph) (timewt = "n"; se = sqrt(var), the infinitesimal jackknife).
# The models are those of the survival_*.R scripts (same data files). Run from this folder:
# Rscript survival_checks.R (R 4.2, survival 3.5).
source("survival_common.R")

golden_checks <- function(case, d, time, event, rhs, what = "cox") {
  fit <- coxph(surv_formula(time, event, rhs), data = d, ties = "efron", model = TRUE, x = TRUE)
  z <- cox.zph(fit)$table
  put(data.frame(term = rownames(z), chisq = z[, "chisq"], df = z[, "df"], p = z[, "p"]), case, paste0(what, "_zph"))
  cc <- concordance(fit)
  put(data.frame(c = cc$concordance, se = sqrt(cc$var), concordant = cc$count[["concordant"]],
                 discordant = cc$count[["discordant"]], tied_x = cc$count[["tied.x"]],
                 tied_y = cc$count[["tied.y"]]), case, paste0(what, "_concordance"))
}

g <- read.csv("../gehan_6mp.csv")
g$arm <- ifelse(g$treated == 1, "6-MP", "control")
golden_checks("gehan", g, "weeks", "relapse", "treated")
golden_checks("gehan", g, "weeks", "relapse", "arm", what = "cox_arm")
r <- read.csv("../rossi.csv")
golden_checks("rossi", r, "week", "arrest", "fin + age + race + wexp + mar + paro + prio")
l <- read.csv("../lung.csv", na.strings = "")
golden_checks("lung", l, "days", "died", "age + sex + ecog + wt_loss")
v <- read.csv("../veteran.csv")
golden_checks("veteran", v, "days", "died", "trt + celltype + karno + diagtime + age + prior")
v$celltype <- relevel(factor(v$celltype), ref = "squamous")
golden_checks("veteran", v, "days", "died", "trt + celltype + karno", what = "cox_squamous")
cl <- read.csv("../survival_clinic.csv", na.strings = "")
golden_checks("clinic", cl, "day", "lost", "condition + age + route")
# site D has no events (its coefficient diverges): R still tests it, and so do we
suppressWarnings(golden_checks("clinic", cl, "day", "lost", "condition + site", what = "cox_site"))
