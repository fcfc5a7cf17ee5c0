# Golden numbers: survival::veteran (VA lung cancer trial), written to tests/data/veteran.csv with the
# treatment and the cell type as labels.
source("survival_common.R")
v <- survival::veteran
out <- data.frame(days = v$time, died = v$status, trt = ifelse(v$trt == 1, "standard", "test"),
                  celltype = as.character(v$celltype), karno = v$karno, diagtime = v$diagtime, age = v$age,
                  prior = v$prior)
write.csv(out, "../veteran.csv", row.names = FALSE)
d <- read.csv("../veteran.csv")
golden_km("veteran", d, "days", "died", "celltype", at = c(28, 56, 84, 365))
golden_cox("veteran", d, "days", "died", "trt + celltype + karno + diagtime + age + prior")
d$celltype <- relevel(factor(d$celltype), ref = "squamous")
golden_cox("veteran", d, "days", "died", "trt + celltype + karno", what = "cox_squamous")
