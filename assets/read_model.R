# rdeploy-tui's model reader: what a model folder holds, said by R (never guessed), as one JSON object on stdout.
# Usage: Rscript read_model.R RDEPLOY_MODEL_R FOLDER [HOW_TO_SAVE_A_CRATE]
# It loads the model with the generated API's own functions (rdeploy_model.R), so the kind it reports is the
# kind the API serves. Output is bounded: at most MAX_ITEMS columns, levels, packages and files are listed.
#   kind      crate | fitted | vetiver
#   file      the model file as model.file names it: the shortest end of its path under FOLDER that finds it
#   form      how it was saved: serialize (saveRDS(serialize(x, NULL), ...), the how-to's form) or saveRDS
#   inputs    list of {name, type, levels} (NULL: the model does not record them); arguments: a crate's arguments
#   packages  the R packages it needs beyond base R; missing: those of them not installed here
#   error     why the folder could not be read (then the rest is empty)

MAX_ITEMS <- 200L
MAX_FILES <- 20000L
MAX_VISITS <- 50000L
BASE_PACKAGES <- c("base", "compiler", "datasets", "grDevices", "graphics", "grid", "methods", "parallel",
                   "splines", "stats", "stats4", "tcltk", "tools", "utils")

args <- commandArgs(trailingOnly = TRUE)
source(args[[1]])
folder <- args[[2]]
out <- list(kind = NULL, file = NULL, form = NULL, class = NULL, inputs = NULL, inputs_total = NULL,
            arguments = NULL, packages = list(), packages_complete = TRUE, missing = list(), sample_request = NULL,
            pin = NULL, notes = list(), error = NULL, next_step = NULL)
set <- function(key, value) out[key] <<- list(value)  # `out$key <- NULL` would drop the key

clip <- function(x, n = 300L) {
  x <- paste(x, collapse = " ")
  if (nchar(x) > n) paste0(substr(x, 1, n - 3), "...") else x
}
note <- function(...) out$notes[[length(out$notes) + 1]] <<- clip(paste0(...))
emit <- function() {
  cat(jsonlite::toJSON(out, auto_unbox = TRUE, null = "null", na = "null", digits = NA, force = TRUE))
  quit(save = "no", status = 0)
}
fail <- function(error, next_step = NULL) {
  set("error", clip(error))
  set("next_step", if (is.null(next_step)) NULL else clip(next_step, 500L))
  emit()
}
# How to save a crate, as every message of rdeploy-tui says it (deploy_folder/sample_model.py SAVE_CRATE)
SAVE_CRATE <- if (length(args) >= 3) args[[3]] else 'save a crate with saveRDS(serialize(crate, NULL), "crate.bin")'
installed <- function(p) nzchar(system.file(package = p))
r_error <- function(e) clip(gsub("\\s+", " ", conditionMessage(e)))

# --- which file ------------------------------------------------------------------------------------
# crate.bin (the how-to's name) first; else a pins board (a data.txt beside the .rds it names: one pin, its newest
# version); else the one .rds file (model.rds when there are several).
if (!dir.exists(folder)) fail(paste(folder, "is not a folder"))
files <- list.files(folder, recursive = TRUE)
if (length(files) > MAX_FILES) fail(sprintf("%s holds more than %d files", folder, MAX_FILES), "register the folder that holds only the model")
by_depth <- function(paths) paths[order(lengths(regmatches(paths, gregexpr("/", paths, fixed = TRUE))), paths)]

crates <- by_depth(files[basename(files) == "crate.bin"])
crates <- c(crates[crates == "models/crate.bin"], crates[crates != "models/crate.bin"])
pins <- NULL
metas <- files[basename(files) == "data.txt"]
if (length(crates) == 0 && length(metas) > 0) {
  if (!installed("yaml")) {
    fail("the pins board's data.txt cannot be read here: the R package yaml is not installed",
         "install it (Debian/Ubuntu: sudo apt-get install r-cran-yaml; or in R: install.packages(\"yaml\"))")
  }
  for (meta_file in metas) {
    meta <- tryCatch(yaml::read_yaml(file.path(folder, meta_file), eval.expr = FALSE), error = function(e) NULL)
    if (!is.list(meta) || !identical(meta$type, "rds") || !is.character(meta$file)) next
    rds <- if (dirname(meta_file) == ".") meta$file[[1]] else file.path(dirname(meta_file), meta$file[[1]])
    if (!rds %in% files) next
    # <board>/<pin>/<version>/data.txt; the folder read may be the board, the pin's folder or a version's folder
    where <- file.path(normalizePath(folder), dirname(meta_file))
    pins <- rbind(pins, data.frame(
      file = rds, pin = basename(dirname(where)), version = basename(where),
      created = if (is.null(meta$created)) "" else as.character(meta$created), stringsAsFactors = FALSE))
  }
}
if (length(crates) > 0) {
  out$file <- crates[[1]]
} else if (!is.null(pins)) {
  names <- unique(pins$pin)
  if (length(names) > 1) {
    fail(sprintf("%s is a pins board with %d pins (%s)", folder, length(names), clip(head(names, 10), 200L)),
         "register the folder of one pin: BOARD/PIN_NAME")
  }
  # pins' newest version: the latest created time (data.txt), then the version folder's name (it starts with it)
  pins <- pins[order(pins$created, pins$version, decreasing = TRUE), ]
  out$file <- pins$file[[1]]
  out$pin <- list(name = pins$pin[[1]], version = pins$version[[1]], versions = nrow(pins))
  if (nrow(pins) > 1) note(sprintf("the pin has %d versions; the newest, %s, was read", nrow(pins), pins$version[[1]]))
} else {
  rds <- by_depth(files[grepl("[.]rds$", files, ignore.case = TRUE)])
  named <- rds[basename(rds) == "model.rds"]
  if (length(named) > 0) rds <- named
  if (length(rds) == 0) {
    other <- unique(unlist(lapply(metas, function(m) tryCatch(yaml::read_yaml(file.path(folder, m))$type, error = function(e) NULL))))
    if (length(other) > 0) {
      fail(sprintf("%s is a pins board whose pins are of type %s, not rds: not an R model (Python's vetiver writes joblib)",
                   folder, paste(other, collapse = ", ")), "pin the model from R: vetiver_pin_write(board_folder(FOLDER), v)")
    }
    fail(sprintf("%s holds no model file: no crate.bin, no .rds file, no pins board", folder),
         paste0("put the model in it: ", SAVE_CRATE, '; or a fitted model with saveRDS(fit, "model.rds"); ',
                "or a vetiver model with vetiver_pin_write(board_folder(FOLDER), v)"))
  }
  if (length(rds) > 1) {
    fail(sprintf("%s holds %d .rds files (%s): which one is the model is not clear", folder, length(rds), clip(head(rds, 5), 200L)),
         'keep one model file in the folder, or name the model\'s file model.rds')
  }
  out$file <- rds[[1]]
}
path <- file.path(folder, out$file)
# model.file as the generated API looks for it (rdeploy_find_file): the shortest end of the path that finds this same
# file, in this folder as in Azure's mount of it (models/crate.bin -> crate.bin; a pin's newest version keeps its folder)
parts <- strsplit(out$file, "/", fixed = TRUE)[[1]]
for (i in rev(seq_along(parts))) {
  suffix <- paste(parts[i:length(parts)], collapse = "/")
  found <- tryCatch(rdeploy_find_file(folder, suffix), error = function(e) "")
  if (nzchar(found) && identical(normalizePath(found), normalizePath(path))) {
    out$file <- suffix
    break
  }
}

# --- what R reads in it --------------------------------------------------------------------------
x <- tryCatch(readRDS(path), error = function(e) {
  how <- if (identical(basename(path), "crate.bin")) SAVE_CRATE else 'save the model with saveRDS(model, "model.rds")'
  start <- readBin(path, "raw", 64L)
  text <- length(start) > 0 && all(start %in% as.raw(c(9, 10, 13, 32:126)))
  fail(sprintf("%s is not an R object saved with saveRDS (R says: %s)%s", out$file, r_error(e),
               if (text) "; it is a text file" else ""), how)
})
out$form <- if (is.raw(x)) "serialize" else "saveRDS"
if (is.raw(x)) {
  x <- tryCatch(unserialize(x), error = function(e) {
    missing <- regmatches(conditionMessage(e), regexpr("(?<=there is no package called .)[A-Za-z0-9.]+", conditionMessage(e), perl = TRUE))
    if (length(missing)) out$missing <<- list(missing)
    fail(sprintf("%s holds serialized bytes that R cannot unserialize: %s", out$file, r_error(e)),
         if (length(missing)) sprintf("install the R package %s here to read it", missing) else SAVE_CRATE)
  })
}

# Packages the object refers to: pkg::fn calls and library()/requireNamespace() in its functions' code (codetools),
# functions and environments that live in a package namespace, and the package of S4 objects. Bounded walk.
found <- character()
add <- function(p) if (is.character(p) && length(p) == 1 && !is.na(p) && nzchar(p)) found <<- c(found, p)
visits <- 0L
seen_envs <- list()
walker <- if (installed("codetools")) codetools::makeCodeWalker(
  call = function(e, w) {
    fn <- e[[1]]
    if (is.symbol(fn)) {
      name <- as.character(fn)
      if (name %in% c("::", ":::") && length(e) >= 2) add(as.character(e[[2]]))
      if (name %in% c("library", "require", "requireNamespace", "loadNamespace") && length(e) >= 2) {
        arg <- e[[2]]
        if (is.symbol(arg) || is.character(arg)) add(as.character(arg))
      }
    }
    for (part in as.list(e)) if (!missing(part) && !is.null(part)) codetools::walkCode(part, w)
  },
  leaf = function(e, w) NULL
) else NULL
visit <- function(v, depth = 0L) {
  visits <<- visits + 1L
  if (depth > 12L || visits > MAX_VISITS) return(invisible())
  if (is.environment(v)) {
    if (isNamespace(v)) return(add(getNamespaceName(v)[[1]]))
    if (identical(v, globalenv()) || identical(v, baseenv()) || identical(v, emptyenv())) return(invisible())
    for (s in seen_envs) if (identical(s, v)) return(invisible())
    seen_envs[[length(seen_envs) + 1L]] <<- v
    for (name in head(ls(v, all.names = TRUE), 1000L)) visit(get(name, envir = v), depth + 1L)
    return(invisible())
  }
  if (is.function(v)) {
    env <- environment(v)
    if (!is.null(env) && isNamespace(env)) return(add(getNamespaceName(env)[[1]]))
    if (!is.primitive(v) && !is.null(walker)) codetools::walkCode(body(v), walker)
    if (!is.null(env)) visit(env, depth + 1L)
    return(invisible())
  }
  if (isS4(v)) add(attr(class(v), "package"))
  if (is.list(v)) for (item in head(v, 5000L)) visit(item, depth + 1L)
  for (a in attributes(v)) if (!is.null(a) && !is.atomic(a)) visit(a, depth + 1L)
  invisible()
}

# The package whose predict() method a model dispatches to: among loaded namespaces, else the installed package
# that registers predict.<class> in its NAMESPACE (read from its Meta/nsInfo.rds), which is then loaded.
predict_provider <- function(object) {
  method <- rdeploy_predict_method(object)
  if (!is.null(method)) return(method$package)
  for (lib in .libPaths()) for (pkg in list.files(lib)) {
    info <- file.path(lib, pkg, "Meta", "nsInfo.rds")
    if (!file.exists(info)) next
    s3 <- tryCatch(readRDS(info)$S3methods, error = function(e) NULL)
    if (is.matrix(s3) && any(s3[, 1] == "predict" & s3[, 2] %in% class(object))) {
      loaded <- tryCatch({ loadNamespace(pkg); TRUE }, error = function(e) FALSE)
      if (loaded) return(rdeploy_predict_method(object)$package)
    }
  }
  NULL
}

finish_packages <- function(extra = character()) {
  pkgs <- sort(unique(c(found, extra)))
  pkgs <- pkgs[!pkgs %in% BASE_PACKAGES]
  out$packages <<- as.list(head(pkgs, MAX_ITEMS))
  out$missing <<- as.list(head(pkgs[!vapply(pkgs, installed, logical(1))], MAX_ITEMS))
}

describe_inputs <- function(columns) {
  if (is.null(columns)) return(invisible())
  out$inputs_total <<- length(columns)
  out$inputs <<- lapply(head(columns, MAX_ITEMS), function(col) {
    list(name = clip(col$name, 200L), type = clip(col$type, 60L),
         levels = if (length(col$levels)) as.list(unname(vapply(head(col$levels, 50L), clip, "", 100L))) else NULL)
  })
}

# A one-row sample request: the first row the model was fitted on where it kept them (lm, glm), else typed
# placeholders (0, "", the first level) when every column's type is known; NULL otherwise.
sample_row <- function(object, columns) {
  if (is.null(columns) || length(columns) == 0 || length(columns) > MAX_ITEMS) return(NULL)
  vars <- vapply(columns, function(col) col$name, "")
  frame <- tryCatch(object$model, error = function(e) NULL)
  if (is.data.frame(frame) && nrow(frame) > 0 && all(vars %in% names(frame))) {
    row <- frame[1, vars, drop = FALSE]
    rownames(row) <- NULL  # else jsonlite writes the row's name as a "_row" column
    if (all(vapply(row, is.atomic, logical(1)))) return(row)
  }
  placeholder <- function(col) switch(col$type,
    numeric = 0, double = 0, integer = 0L, character = "", logical = FALSE, Date = "1970-01-01",
    POSIXct = "1970-01-01T00:00:00",
    factor = , ordered = if (length(col$levels)) col$levels[[1]] else NULL, NULL)
  values <- lapply(columns, placeholder)
  if (any(vapply(values, is.null, logical(1)))) return(NULL)
  names(values) <- vars
  note("the sample request is made of placeholder values of the input's types: edit it to a real row")
  as.data.frame(values, stringsAsFactors = FALSE, check.names = FALSE, optional = TRUE)
}

if (is.function(x)) {
  out$kind <- "crate"
  out$class <- "function"
  out$arguments <- as.list(head(names(formals(x)), MAX_ITEMS))
  if (is.null(walker)) {
    out$packages_complete <- FALSE
    note("the packages the crate calls cannot be read here: the R package codetools is not installed ",
         "(Debian/Ubuntu: sudo apt-get install r-cran-codetools)")
  }
  visit(x)
  finish_packages()
  emit()
}

# vetiver_pin_write() pins list(model, prototype) (before vetiver 0.2: ptype, required_pkgs); a vetiver_model may also
# have been saved whole with saveRDS().
vetiver <- inherits(x, "vetiver_model") ||
  (is.list(x) && !is.object(x) && !is.null(x$model) && (!is.null(out$pin) || any(c("prototype", "ptype") %in% names(x))))
object <- x
extra <- character()
if (vetiver) {
  parts <- tryCatch(rdeploy_vetiver_parts(x, path), error = function(e) fail(r_error(e)))
  object <- parts$model
  out$pin <- c(out$pin, list(required_pkgs = as.list(parts$metadata$required_pkgs)))
  if (is.null(out$pin$name)) out$pin$name <- parts$name
  extra <- as.character(parts$metadata$required_pkgs)
  prototype <- parts$prototype
} else {
  prototype <- NULL
  if (!is.object(x) || is.data.frame(x)) {
    fail(sprintf("%s holds %s, not a model", out$file, rdeploy_what(x)),
         paste0("save the fitted model itself with saveRDS(fit, \"model.rds\"); or ", SAVE_CRATE))
  }
}
if (inherits(object, "bundle")) {
  extra <- c(extra, "bundle")
  if (!installed("bundle")) {
    out$packages_complete <- FALSE
    note("the model is a bundle (vetiver bundles tidymodels, xgboost and keras models); the R package bundle ",
         "is not installed here, so what is inside it could not be read")
  } else {
    object <- tryCatch(bundle::unbundle(object), error = function(e) fail(paste("bundle::unbundle failed:", r_error(e))))
  }
}
out$kind <- if (vetiver) "vetiver" else "fitted"
out$class <- as.list(head(class(object), 10L))
provider <- predict_provider(object)
if (is.null(provider)) {
  out$packages_complete <- FALSE
  call <- tryCatch(object$call, error = function(e) NULL)
  made <- if (is.call(call)) sprintf(" (it was made by %s)", clip(deparse(call[[1]]), 60L)) else ""
  note(sprintf("no R package installed here provides predict() for class %s%s: add the package that made it",
               paste(class(object), collapse = "/"), made))
}
visit(object)
finish_packages(c(extra, provider))
columns <- rdeploy_columns(object, prototype)
describe_inputs(columns)
if (is.null(columns)) note("the model does not record the columns it takes: the API passes the body's columns as sent")
set("sample_request", sample_row(object, columns))
emit()
