# Golden numbers: Rossi's recidivism data (tests/data/rossi.csv, from ../shared/reference).
source("survival_common.R")
r <- read.csv("../rossi.csv")
r$aid <- ifelse(r$fin == 1, "yes", "no")
golden_km("rossi", r, "week", "arrest", "aid", at = c(10, 26, 52, 60))
golden_cox("rossi", r, "week", "arrest", "fin + age + race + wexp + mar + paro + prio")
