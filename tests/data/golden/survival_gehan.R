# Golden numbers: Gehan's 6-MP leukaemia trial (tests/data/gehan_6mp.csv, from ../shared/reference).
source("survival_common.R")
g <- read.csv("../gehan_6mp.csv")
g$arm <- ifelse(g$treated == 1, "6-MP", "control")
golden_km("gehan", g, "weeks", "relapse", "arm", at = c(8, 23, 28, 56))
golden_cox("gehan", g, "weeks", "relapse", "treated")
golden_cox("gehan", g, "weeks", "relapse", "arm", what = "cox_arm")
