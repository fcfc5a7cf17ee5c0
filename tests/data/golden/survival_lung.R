# Golden numbers: survival::lung (NCCTG advanced lung cancer), written to tests/data/lung.csv with
# event 0/1, sex and ECOG score as labels, and its missing values kept (rows are dropped as R's na.omit).
source("survival_common.R")
l <- survival::lung
out <- data.frame(days = l$time, died = l$status - 1, age = l$age, sex = ifelse(l$sex == 1, "male", "female"),
                  ecog = ifelse(is.na(l$ph.ecog), NA, paste0("ecog", l$ph.ecog)), wt_loss = l$wt.loss)
write.csv(out, "../lung.csv", row.names = FALSE, na = "")
d <- read.csv("../lung.csv", na.strings = "")
golden_km("lung", d, "days", "died", "sex", at = c(28, 56, 84, 365, 1000, 2000))
golden_km("lung_ecog", d, "days", "died", "ecog", at = c(28, 56, 90))
golden_km("lung_all", d, "days", "died", "1", at = c(180, 365, 1100))
golden_cox("lung", d, "days", "died", "age + sex + ecog + wt_loss")
