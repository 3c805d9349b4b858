# The sample model of rdeploy-tui: a linear-trend forecast of the Nile's annual flow (datasets::Nile).
# Built and saved exactly as a carrier crate is -- a function whose environment carries its fitted
# values, serialized, then saved with saveRDS -- but with base R only, so it builds and loads in an R
# without carrier (Debian has no r-cran-carrier). The generated plumber.R loads it with
# unserialize(readRDS(path)) and calls it with the request's fields: {"forecast_horizon": [2]}.
#
# Usage: Rscript make_crate.R [OUTPUT_DIR]   (writes OUTPUT_DIR/crate.bin; default: this folder)

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[[1]] else "."

year <- as.numeric(time(Nile))
flow <- as.numeric(Nile)
fit <- lm(flow ~ year)

# Like carrier::crate, the function sees only base R and the values put into its environment; the
# lm fit itself stays behind (its formula would drag this script's environment along).
crate_env <- new.env(parent = baseenv())
crate_env$intercept <- unname(coef(fit)[["(Intercept)"]])
crate_env$slope <- unname(coef(fit)[["year"]])
crate_env$sigma <- summary(fit)$sigma
crate_env$last_year <- max(year)

forecast_nile <- function(forecast_horizon) {
  h <- forecast_horizon
  if (length(h) != 1 || !is.numeric(h) || is.na(h) || h < 1 || h > 100 || h != round(h)) {
    stop("forecast_horizon must be one whole number from 1 to 100, e.g. {\"forecast_horizon\": [2]}")
  }
  years <- last_year + seq_len(h)
  point <- intercept + slope * years
  # 95% band from the residual spread (1.959964 = qnorm(0.975); base R has no qnorm without stats).
  data.frame(
    year = years,
    forecast = point,
    lower_95 = point - 1.959963984540054 * sigma,
    upper_95 = point + 1.959963984540054 * sigma
  )
}
environment(forecast_nile) <- crate_env

dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
path <- file.path(out_dir, "crate.bin")
# version = 2 and an explicit compress keep the bytes the same from one build to the next.
saveRDS(serialize(forecast_nile, NULL, version = 2), path, version = 2, compress = "xz")
cat("wrote", normalizePath(path), "\n")
