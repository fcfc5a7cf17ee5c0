# Golden conditional modes (lme4's ranef) of the mixed-model tests (tests/test_lmm.py); those of the default card's
# trajectory model are written by lmm_knots_default.R.
# Run from the repository root:  Rscript tests/data/golden/lmm_ranef.R
# Writes, one row per group (group, intercept[, slope]):
#   lmm_sleepstudy_ranef.csv            Reaction ~ Days + (Days | Subject), REML, tests/data/sleepstudy.csv
#   lmm_sleepstudy_intercept_ranef.csv  Reaction ~ Days + (1 | Subject), REML
suppressMessages(library(lme4))
dir <- "tests/data/golden"
write_ranef <- function(m, stem) {
  re <- ranef(m)[[1]]
  out <- data.frame(group = rownames(re), intercept = re[, 1])
  if (ncol(re) == 2) out$slope <- re[, 2]
  write.csv(out, file.path(dir, paste0(stem, "_ranef.csv")), row.names = FALSE)
}
s <- read.csv("tests/data/sleepstudy.csv")
write_ranef(lmer(Reaction ~ Days + (Days | Subject), data = s, REML = TRUE), "lmm_sleepstudy")
write_ranef(lmer(Reaction ~ Days + (1 | Subject), data = s, REML = TRUE), "lmm_sleepstudy_intercept")

cat(R.version.string, "lme4", as.character(packageVersion("lme4")), "\n")
