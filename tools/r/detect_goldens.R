# Writes the golden files of `p4dp detect` (tests/golden/detect/): input series taken from
# the datasets of the R package surveillance (and a few made here for the edge cases), and
# what surveillance 1.20.3 (earsC, algo.farrington, farringtonFlexible, algo.cusum) and base
# R (lm + predict for Serfling) give on them. The test (tests/surveil/detect_golden_test.cc)
# reads only the files written here, so CI needs no R.
#
# Usage, from the repository root (Debian: apt-get install r-cran-surveillance):
#   Rscript tools/r/detect_goldens.R [OUT_DIR]     (default tests/golden/detect)
#
# Every series is given to R as sts(observed, start = c(year, first period), frequency =
# 52 or 365): periods counted by index, which is what p4dp does with ISO weeks and days.
suppressMessages(library(surveillance))
stopifnot(packageVersion("surveillance") == "1.20.3")

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) > 0) args[1] else "tests/golden/detect"
dir.create(file.path(out_dir, "inputs"), recursive = TRUE, showWarnings = FALSE)
dir.create(file.path(out_dir, "expected"), recursive = TRUE, showWarnings = FALSE)
unlink(file.path(out_dir, "expected", "*.csv"))

num <- function(v) ifelse(is.na(v), "NA", sprintf("%.15g", v))
alarm_text <- function(v) ifelse(is.na(v), "NA", ifelse(as.logical(v), "1", "0"))

# ---------------------------------------------------------------------------------------
# Series: a named list of list(x, start = c(year, period), freq, labels, population)

iso_week_labels <- function(year, week, n) {
  jan4 <- as.Date(sprintf("%d-01-04", year))
  monday <- jan4 - (as.integer(format(jan4, "%u")) - 1) + 7 * (week - 1)
  format(monday + 7 * (seq_len(n) - 1), "%G-W%V")
}

weekly <- function(x, year, week, population = NULL) {
  list(x = as.numeric(x), start = c(year, week), freq = 52,
       labels = iso_week_labels(year, week, length(x)), population = population)
}

series <- list()
data(salmonella.agona)
series$agona <- weekly(salmonella.agona$observed, 1990, 1)
data(shadar)
series$shadar <- weekly(shadar$observed[, 1], 2001, 1)
data(ha)
series$ha <- weekly(rowSums(ha$observed), 2001, 1)
data(salmNewport)
stopifnot(format(epoch(salmNewport)[1], "%G-W%V") == "2004-W02")
series$newport <- weekly(rowSums(observed(salmNewport)), 2004, 2)

# Edge cases. All-zero baseline: six years of zeros, then a few cases.
series$zeros <- weekly(c(rep(0, 300), 0, 0, 1, 0, 3, 6, 2, 0, 0, 1, 0, 0), 2010, 1)
# Sparse counts (limit54 holds most alarms back), with a small cluster.
set.seed(20240501)
sparse <- rpois(312, 0.25)
sparse[300:303] <- c(2, 3, 1, 2)
series$sparse <- weekly(sparse, 2012, 1)
# Missing weeks: salmonella.agona with NA in baselines and in the evaluated weeks.
missing <- salmonella.agona$observed
missing[c(100, 150, 200, 201, 290, 300)] <- NA
series$missing <- weekly(missing, 1990, 1)
# A daily series: three years from 2019-01-01, weekly and yearly seasonality.
set.seed(7)
days <- seq(as.Date("2019-01-01"), by = "day", length.out = 3 * 365)
day_mean <- exp(1.5 + 0.5 * cos(2 * pi * seq_along(days) / 365) +
                  0.2 * (format(days, "%u") %in% c("1", "2")))
daily <- rpois(length(days), day_mean)
daily[1060:1066] <- daily[1060:1066] + c(4, 7, 9, 12, 8, 6, 3)
series$daily <- list(x = daily, start = c(2019, 1), freq = 365,
                     labels = format(days, "%Y-%m-%d"), population = NULL)
# A seasonal influenza-like series with its population (Serfling on incidence).
set.seed(11)
n_ili <- 8 * 52 + 20
t_ili <- seq_len(n_ili)
population <- round(60000 + 15 * t_ili + rnorm(n_ili, 0, 200))
ili_rate <- 40 + 0.02 * t_ili + 25 * cos(2 * pi * (t_ili - 2) / 52.1775) +
  10 * sin(4 * pi * t_ili / 52.1775)
starts <- seq(48, n_ili, by = 52)
for (start in starts + sample(-3:3, length(starts), replace = TRUE)) {
  weeks <- start + 0:9
  weeks <- weeks[weeks <= n_ili]
  ili_rate[weeks] <- ili_rate[weeks] + c(40, 120, 260, 380, 330, 220, 120, 60, 25, 10)[
    seq_along(weeks)]
}
ili <- rpois(n_ili, population * ili_rate / 1e5)
series$ili <- weekly(ili, 2015, 1, population)

for (name in names(series)) {
  s <- series[[name]]
  count <- ifelse(is.na(s$x), "NA", format(s$x, scientific = FALSE, trim = TRUE))
  frame <- data.frame(period = s$labels, count = count)
  if (!is.null(s$population)) frame$population <- format(s$population, trim = TRUE)
  write.csv(frame, file.path(out_dir, "inputs", paste0(name, ".csv")), row.names = FALSE,
            quote = FALSE)
}

# ---------------------------------------------------------------------------------------
# Runners: each returns data.frame(index, expected, upper, alarm) for the evaluated periods.

as_sts <- function(s) sts(observed = s$x, start = s$start, frequency = s$freq)

run_ears <- function(s, range, method, baseline = 7, minSigma = 0, alpha = NULL) {
  control <- list(method = method, range = range, baseline = baseline, minSigma = minSigma)
  if (!is.null(alpha)) control$alpha <- alpha
  r <- earsC(as_sts(s), control = control)
  index <- r@control$range
  # earsC reports no expected value; p4dp reports the mean of the reference values.
  lag <- if (method == "C1") 0 else 2
  expected <- sapply(index, function(k) mean(s$x[(k - baseline - lag):(k - 1 - lag)]))
  data.frame(index = index, expected = expected, upper = upperbound(r)[, 1],
             alarm = alarms(r)[, 1])
}

.GlobalEnv$.farrington_fits <- numeric(0)
invisible(suppressMessages(trace("algo.farrington.threshold", print = FALSE,
                       where = asNamespace("surveillance"),
                       tracer = quote(.GlobalEnv$.farrington_fits <-
                                        c(.GlobalEnv$.farrington_fits, unname(pred$fit))))))

run_farrington <- function(s, range, ...) {
  .GlobalEnv$.farrington_fits <- numeric(0)
  control <- c(list(range = range), list(...))
  r <- suppressWarnings(algo.farrington(sts2disProg(as_sts(s)), control = control))
  data.frame(index = r$control$range, expected = .GlobalEnv$.farrington_fits,
             upper = r$upperbound[, 1], alarm = r$alarm[, 1])
}

run_flexible <- function(s, range, ...) {
  control <- c(list(range = range), list(...))
  r <- farringtonFlexible(as_sts(s), control = control)
  # The result does not keep its range: the default is freq * b + w + 1 to the end.
  b <- if (is.null(control$b)) 5 else control$b
  w <- if (is.null(control$w)) 3 else control$w
  index <- if (is.null(range)) (s$freq * b + w + 1):length(s$x) else range
  data.frame(index = index, expected = r@control$expected[, 1],
             upper = upperbound(r)[, 1], alarm = alarms(r)[, 1])
}

run_cusum <- function(s, range, ...) {
  control <- c(list(range = range), list(...))
  r <- algo.cusum(sts2disProg(as_sts(s)), control = control)
  data.frame(index = range, expected = r$cusum, upper = r$upperbound, alarm = r$alarm)
}

# Serfling as ../shared/spec/detection.md defines it, with base R's lm and predict.
run_serfling <- function(s, range, years = 5, trim = 0.15, harmonics = 2) {
  y <- s$x
  if (!is.null(s$population)) y <- y / s$population * 1e5
  terms <- "y ~ t"
  for (h in seq_len(harmonics)) {
    terms <- paste0(terms, sprintf(" + cos(2 * pi * %d * t / 52.1775) + sin(2 * pi * %d * t / 52.1775)", h, h))
  }
  form <- as.formula(terms)
  rows <- lapply(range, function(k) {
    t <- (k - years * 52):(k - 1)
    v <- y[t]
    ok <- !is.na(v)
    cut <- quantile(v[ok], 1 - trim, type = 7, names = FALSE)
    keep <- ok & v <= cut
    fit <- lm(form, data = data.frame(y = v[keep], t = t[keep]))
    p <- predict(fit, newdata = data.frame(t = k), interval = "prediction", level = 0.90)
    c(p[1, "fit"], p[1, "upr"])
  })
  expected <- sapply(rows, `[`, 1)
  upper <- sapply(rows, `[`, 2)
  above <- !is.na(y[range]) & y[range] > upper
  # Epidemic weeks: from the first of two weeks above to the last week above before two
  # weeks not above (or the end of the range).
  n <- length(above)
  epidemic <- rep(FALSE, n)
  i <- 1
  while (i < n) {
    if (above[i] && above[i + 1]) {
      j <- i
      last <- i
      while (j <= n && !(j < n && !above[j] && !above[j + 1])) {
        if (above[j]) last <- j
        j <- j + 1
      }
      epidemic[i:last] <- TRUE
      i <- j
    } else {
      i <- i + 1
    }
  }
  data.frame(index = range, expected = expected, upper = upper, alarm = epidemic)
}

# ---------------------------------------------------------------------------------------
# Cases: name, series, tolerance, p4dp arguments, and the R call.

cases <- list()
add <- function(name, input, tolerance, cli, run) {
  cases[[length(cases) + 1]] <<- list(name = name, input = input, tolerance = tolerance,
                                       cli = cli, run = run)
}
# The last year, or as much of it as farringtonFlexible's default b = 5, w = 3 can evaluate.
last_weeks <- function(s) max(length(s$x) - 51, 5 * 52 + 3 + 1):length(s$x)
range_arg <- function(r) sprintf("--range %d:%d", min(r), max(r))

glm_tol <- "1e-3"   # the reference fits iteratively (glm)
exact_tol <- "1e-6"

for (name in c("agona", "shadar", "ha", "newport")) {
  s <- series[[name]]
  r <- last_weeks(s)
  ra <- range_arg(r)
  local({
    r <- r; ra <- ra
    for (m in c("C1", "C2", "C3")) {
      local({
        m <- m
        add(sprintf("%s_ears_%s", name, tolower(m)), name, exact_tol,
            sprintf("--algorithm ears-%s %s", tolower(m), ra),
            function(s) run_ears(s, r, m))
      })
    }
    add(paste0(name, "_farrington"), name, glm_tol, paste("--algorithm farrington", ra),
        function(s) run_farrington(s, r))
    for (method in c("delta", "nbPlugin", "muan")) {
      local({
        method <- method
        add(sprintf("%s_flexible_%s", name, method), name, glm_tol,
            sprintf("--algorithm farrington-flexible --threshold-method %s %s", method, ra),
            function(s) run_flexible(s, r, thresholdMethod = method))
        add(sprintf("%s_flexible_%s_noufaily", name, method), name, glm_tol,
            sprintf(paste("--algorithm farrington-flexible --threshold-method %s",
                          "--no-periods 10 --past-weeks-not-included 26 %s"), method, ra),
            function(s) run_flexible(s, r, thresholdMethod = method, noPeriods = 10,
                                    pastWeeksNotIncluded = 26))
      })
    }
    for (trans in c("standard", "rossi", "anscombe")) {
      local({
        trans <- trans
        add(sprintf("%s_cusum_%s", name, trans), name, exact_tol,
            sprintf("--algorithm cusum --trans %s %s", trans, ra),
            function(s) run_cusum(s, r, trans = trans))
        add(sprintf("%s_cusum_%s_glm", name, trans), name, glm_tol,
            sprintf("--algorithm cusum --trans %s --m glm %s", trans, ra),
            function(s) run_cusum(s, r, trans = trans, m = "glm"))
      })
    }
  })
}

# Control variants, one dataset each.
add("agona_ears_c1_controls", "agona", exact_tol,
    "--algorithm ears-c1 --baseline 10 --min-sigma 1 --alpha 0.01 --range 200:260",
    function(s) run_ears(s, 200:260, "C1", baseline = 10, minSigma = 1, alpha = 0.01))
add("agona_ears_c3_controls", "agona", exact_tol,
    "--algorithm ears-c3 --baseline 5 --min-sigma 0.5 --alpha 0.05 --range 200:260",
    function(s) run_ears(s, 200:260, "C3", baseline = 5, minSigma = 0.5, alpha = 0.05))
add("agona_ears_c2_default_range", "agona", exact_tol, "--algorithm ears-c2",
    function(s) run_ears(s, NULL, "C2"))
add("agona_farrington_default_range", "agona", glm_tol, "--algorithm farrington",
    function(s) run_farrington(s, NULL))
add("agona_flexible_default_range", "agona", glm_tol, "--algorithm farrington-flexible",
    function(s) run_flexible(s, NULL))
add("shadar_farrington_powertrans_none", "shadar", glm_tol,
    "--algorithm farrington --powertrans none --range 244:295",
    function(s) run_farrington(s, 244:295, powertrans = "none"))
add("shadar_farrington_powertrans_half", "shadar", glm_tol,
    "--algorithm farrington --powertrans 1/2 --range 244:295",
    function(s) run_farrington(s, 244:295, powertrans = "1/2"))
add("shadar_farrington_b3_w2_alpha", "shadar", glm_tol,
    "--algorithm farrington --b 3 --w 2 --alpha 0.01 --range 244:295",
    function(s) run_farrington(s, 244:295, b = 3, w = 2, alpha = 0.01))
add("shadar_flexible_powertrans_none", "shadar", glm_tol,
    "--algorithm farrington-flexible --powertrans none --range 264:295",
    function(s) run_flexible(s, 264:295, powertrans = "none"))
add("shadar_flexible_powertrans_half", "shadar", glm_tol,
    "--algorithm farrington-flexible --powertrans 1/2 --range 264:295",
    function(s) run_flexible(s, 264:295, powertrans = "1/2"))
add("ha_farrington_no_reweight_no_trend", "ha", glm_tol,
    "--algorithm farrington --reweight false --trend false --range 239:290",
    function(s) run_farrington(s, 239:290, reweight = FALSE, trend = FALSE))
add("ha_farrington_limit54", "ha", glm_tol,
    "--algorithm farrington --limit54 2,3 --range 239:290",
    function(s) run_farrington(s, 239:290, limit54 = c(2, 3)))
add("ha_flexible_controls", "ha", glm_tol,
    paste("--algorithm farrington-flexible --b 3 --w 2 --reweight false --alpha 0.1",
          "--limit54 3,5 --range 239:290"),
    function(s) run_flexible(s, 239:290, b = 3, w = 2, reweight = FALSE, alpha = 0.1,
                            limit54 = c(3, 5)))
add("newport_farrington_trend_b3", "newport", glm_tol,
    "--algorithm farrington --b 3 --w 2 --range 400:470",
    function(s) run_farrington(s, 400:470, b = 3, w = 2))
add("newport_flexible_trend_p1", "newport", glm_tol,
    paste("--algorithm farrington-flexible --p-threshold-trend 1 --weights-threshold 1",
          "--range 400:470"),
    function(s) run_flexible(s, 400:470, pThresholdTrend = 1, weightsThreshold = 1))
add("newport_flexible_no_trend_nb", "newport", glm_tol,
    paste("--algorithm farrington-flexible --trend false --threshold-method nbPlugin",
          "--alpha 0.01 --range 400:470"),
    function(s) run_flexible(s, 400:470, trend = FALSE, thresholdMethod = "nbPlugin",
                            alpha = 0.01))
add("newport_cusum_k_h_m", "newport", exact_tol,
    "--algorithm cusum --k 0.5 --h 4 --m 2.5 --range 400:470",
    function(s) run_cusum(s, 400:470, k = 0.5, h = 4, m = 2.5))

# Edge cases.
add("zeros_ears_c1", "zeros", exact_tol, "--algorithm ears-c1 --range 290:312",
    function(s) run_ears(s, 290:312, "C1"))
add("zeros_ears_c3", "zeros", exact_tol, "--algorithm ears-c3 --range 290:312",
    function(s) run_ears(s, 290:312, "C3"))
add("zeros_farrington", "zeros", glm_tol, "--algorithm farrington --range 290:312",
    function(s) run_farrington(s, 290:312))
add("zeros_farrington_limit54_off", "zeros", glm_tol,
    "--algorithm farrington --limit54 0,4 --range 290:312",
    function(s) run_farrington(s, 290:312, limit54 = c(0, 4)))
for (method in c("delta", "nbPlugin", "muan")) {
  local({
    method <- method
    add(paste0("zeros_flexible_", method), "zeros", glm_tol,
        sprintf("--algorithm farrington-flexible --threshold-method %s --limit54 0,4 --range 290:312", method),
        function(s) run_flexible(s, 290:312, thresholdMethod = method, limit54 = c(0, 4)))
  })
}
add("zeros_cusum_glm", "zeros", glm_tol, "--algorithm cusum --m glm --range 300:312",
    function(s) run_cusum(s, 300:312, m = "glm"))
add("zeros_cusum_standard", "zeros", exact_tol, "--algorithm cusum --range 300:312",
    function(s) run_cusum(s, 300:312))
add("sparse_farrington", "sparse", glm_tol, "--algorithm farrington --range 261:312",
    function(s) run_farrington(s, 261:312))
add("sparse_flexible_nbplugin", "sparse", glm_tol,
    "--algorithm farrington-flexible --threshold-method nbPlugin --range 265:312",
    function(s) run_flexible(s, 265:312, thresholdMethod = "nbPlugin"))
add("sparse_flexible_delta_noufaily", "sparse", glm_tol,
    "--algorithm farrington-flexible --no-periods 10 --past-weeks-not-included 26 --range 265:312",
    function(s) run_flexible(s, 265:312, noPeriods = 10, pastWeeksNotIncluded = 26))
# Too few baseline weeks: algo.farrington drops the reference weeks before the series.
add("agona_farrington_short_baseline", "agona", glm_tol,
    "--algorithm farrington --range 100:160",
    function(s) run_farrington(s, 100:160))
add("agona_farrington_short_baseline_b1", "agona", glm_tol,
    "--algorithm farrington --b 1 --w 2 --range 53:62",
    function(s) run_farrington(s, 53:62, b = 1, w = 2))
add("missing_ears_c1", "missing", exact_tol, "--algorithm ears-c1 --range 280:312",
    function(s) run_ears(s, 280:312, "C1"))
add("missing_ears_c3", "missing", exact_tol, "--algorithm ears-c3 --range 280:312",
    function(s) run_ears(s, 280:312, "C3"))
add("missing_farrington_recent", "missing", glm_tol, "--algorithm farrington --range 285:299",
    function(s) run_farrington(s, 285:299))
add("missing_farrington_in_baseline", "missing", glm_tol,
    "--algorithm farrington --range 280:312", function(s) run_farrington(s, 280:312))
for (method in c("delta", "nbPlugin", "muan")) {
  local({
    method <- method
    add(paste0("missing_flexible_", method), "missing", glm_tol,
        sprintf("--algorithm farrington-flexible --threshold-method %s --range 270:312", method),
        function(s) run_flexible(s, 270:312, thresholdMethod = method))
  })
}
add("missing_flexible_noufaily", "missing", glm_tol,
    "--algorithm farrington-flexible --no-periods 10 --past-weeks-not-included 26 --range 270:312",
    function(s) run_flexible(s, 270:312, noPeriods = 10, pastWeeksNotIncluded = 26))
add("missing_cusum_in_range", "missing", exact_tol, "--algorithm cusum --range 285:312",
    function(s) run_cusum(s, 285:312))
add("missing_cusum_glm", "missing", glm_tol, "--algorithm cusum --m glm --range 285:312",
    function(s) run_cusum(s, 285:312, m = "glm"))
add("missing_cusum_in_baseline", "missing", exact_tol, "--algorithm cusum --range 250:260",
    function(s) run_cusum(s, 250:260))
# Ranges the reference refuses.
add("agona_flexible_too_early", "agona", glm_tol,
    "--algorithm farrington-flexible --range 200:210", function(s) run_flexible(s, 200:210))
add("agona_ears_c3_too_early", "agona", exact_tol, "--algorithm ears-c3 --range 5:20",
    function(s) run_ears(s, 5:20, "C3"))

# The daily series.
dr <- 1036:1095
for (m in c("C1", "C2", "C3")) {
  local({
    m <- m
    add(sprintf("daily_ears_%s", tolower(m)), "daily", exact_tol,
        sprintf("--algorithm ears-%s --range 1036:1095", tolower(m)),
        function(s) run_ears(s, dr, m))
  })
}
add("daily_farrington", "daily", glm_tol, "--algorithm farrington --b 2 --range 1036:1095",
    function(s) run_farrington(s, dr, b = 2))
add("daily_flexible", "daily", glm_tol,
    "--algorithm farrington-flexible --b 2 --threshold-method muan --range 1036:1095",
    function(s) run_flexible(s, dr, b = 2, thresholdMethod = "muan"))
add("daily_cusum_glm", "daily", glm_tol, "--algorithm cusum --m glm --range 1036:1095",
    function(s) run_cusum(s, dr, m = "glm"))

# Serfling against lm + predict.
serfling_tol <- "1e-9"
add("ili_serfling", "ili", serfling_tol, "--algorithm serfling",
    function(s) run_serfling(s, (5 * 52 + 1):length(s$x)))
add("ili_serfling_controls", "ili", serfling_tol,
    "--algorithm serfling --years 3 --trim 0.2 --harmonics 1 --range 200:436",
    function(s) run_serfling(s, 200:436, years = 3, trim = 0.2, harmonics = 1))
add("newport_serfling", "newport", serfling_tol, "--algorithm serfling --range 300:528",
    function(s) run_serfling(s, 300:528))
add("missing_serfling", "missing", serfling_tol, "--algorithm serfling --range 270:312",
    function(s) run_serfling(s, 270:312))

# ---------------------------------------------------------------------------------------
# Writing: expected/NAME.csv as p4dp writes it, or "error: MESSAGE" where R fails; cases.tsv.

lines <- "name\tinput\ttolerance\targs"
for (case in cases) {
  path <- file.path(out_dir, "expected", paste0(case$name, ".csv"))
  result <- tryCatch(case$run(series[[case$input]]), error = function(e) e)
  if (inherits(result, "error")) {
    writeLines(paste("error:", gsub("\n", " ", conditionMessage(result))), path)
  } else {
    s <- series[[case$input]]
    text <- c("period,count,expected,upper,alarm",
              paste(s$labels[result$index], num(s$x[result$index]), num(result$expected),
                    num(result$upper), alarm_text(result$alarm), sep = ","))
    writeLines(text, path)
  }
  lines <- c(lines, paste(case$name, case$input, case$tolerance, case$cli, sep = "\t"))
}
writeLines(lines, file.path(out_dir, "cases.tsv"))
cat(sprintf("wrote %d cases and %d inputs into %s\n", length(cases), length(series), out_dir))
