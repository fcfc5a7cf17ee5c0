# Golden numbers: a simulated ketamine clinic (tests/data/survival_clinic.csv): days to loss of response,
# follow-up at visit days (many ties), condition with 4 levels, 5 missing ages, site D all censored,
# site E falling to exactly 0.5 over an interval (median = midpoint), site F ending exactly at 0.5.
source("survival_common.R")
set.seed(20261121)
n <- 400
condition <- sample(c("depression", "anxiety", "ptsd", "bipolar_depression"), n, TRUE, prob = c(.5, .2, .2, .1))
site <- sample(c("A", "B", "C"), n, TRUE)
age <- round(rnorm(n, 42, 12))
route <- sample(c("IV", "IM", "intranasal"), n, TRUE, prob = c(.6, .2, .2))
lp <- 0.4 * (condition == "ptsd") - 0.3 * (condition == "anxiety") + 0.5 * (condition == "bipolar_depression") +
  0.01 * (age - 42) + 0.2 * (route == "IM")
loss <- 7 * ceiling(rexp(n, rate = exp(lp) / 60) / 7)  # scored weekly: heavy ties
follow <- sample(c(28, 42, 56, 84, 112, 180), n, TRUE)
d <- data.frame(day = pmin(loss, follow), lost = as.integer(loss <= follow), condition = condition, site = site,
                age = age, route = route)
d$age[c(3, 50, 120, 260, 399)] <- NA
d_site <- data.frame(day = c(14, 28, 28, 35, 42, 56, 56, 70, 84, 84, 91, 112, 120, 150, 180),
                     lost = 0, condition = rep(c("depression", "anxiety", "ptsd"), 5), site = "D",
                     age = 30 + 1:15, route = "IV")
e_site <- data.frame(day = c(3, 5, 8, 10, 12, 15, 20, 25, 30, 30), lost = c(1, 1, 1, 1, 1, 0, 1, 0, 0, 0),
                     condition = "ptsd", site = "E", age = 50 + 1:10, route = "IM")
f_site <- data.frame(day = c(2, 4, 6, 9), lost = c(1, 1, 0, 0), condition = "depression", site = "F",
                     age = c(25, 35, 45, 55), route = "intranasal")
d <- rbind(d, d_site, e_site, f_site)
write.csv(d, "../survival_clinic.csv", row.names = FALSE, na = "")
d <- read.csv("../survival_clinic.csv", na.strings = "")
golden_km("clinic", d, "day", "lost", "site", at = c(7, 16, 28, 56, 84, 200))
golden_km("clinic_condition", d, "day", "lost", "condition")
golden_cox("clinic", d, "day", "lost", "condition + age + route")
golden_cox("clinic", d, "day", "lost", "condition + site", what = "cox_site")  # site D: no events
# out of iterations (iter.max = 3): R keeps the last accepted point of its step-halving path
fit3 <- suppressWarnings(coxph(Surv(day, lost) ~ condition + site, data = d, ties = "efron",
                               control = coxph.control(iter.max = 3)))
put(data.frame(term = names(coef(fit3)), coef = coef(fit3)), "clinic", "cox_site_iter3")
put(data.frame(null = fit3$loglik[1], fitted = fit3$loglik[2], iter = fit3$iter), "clinic", "cox_site_iter3_fit")
