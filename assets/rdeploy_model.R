# Written by rdeploy-tui beside plumber.R: how the scoring API loads and scores each kind of R model.
# rdeploy-tui's model reader uses these same functions, so what it reported when it read the model's files
# is what this API serves. The kind (model.kind in rdeploy.yaml) was decided then, never guessed here:
#   crate    a function (carrier::crate) saved with saveRDS(serialize(crate, NULL), "crate.bin") as Microsoft's
#            how-to does, or with plain saveRDS(crate, "crate.bin"): called with the body's fields as arguments.
#   fitted   a fitted model saved with saveRDS (lm, glm, ranger, a tidymodels workflow, ...): predict() on the
#            body as a data frame, whose columns are checked against the variables the model was fitted on.
#   vetiver  a vetiver model pinned to a pins board folder (vetiver_pin_write): the same, checked against its
#            prototype; /ping and /metadata answer as vetiver's own API does.

# Deeper JSON is refused before it is parsed: jsonlite's simplification recurses, and a body nested some
# thousands of levels deep overflows R's C stack (measured: plumber then answers 500).
RDEPLOY_MAX_JSON_DEPTH <- 64L

# An error that is the caller's fault: answered 400 with its message, never 500 (which Azure turns into 424).
rdeploy_bad_input <- function(...) {
  stop(structure(class = c("rdeploy_bad_input", "error", "condition"),
                 list(message = paste0(...), call = NULL)))
}

# --- finding and reading the model file -----------------------------------------------------------

# Azure ML mounts the registered folder under AZUREML_MODEL_DIR, inside a folder of its own name (the how-to
# registers one named models): the file is looked for there first, then anywhere below, the shallowest first.
rdeploy_find_file <- function(model_dir, file) {
  if (!nzchar(model_dir)) stop("AZUREML_MODEL_DIR is not set: it must point at the registered model's files")
  for (candidate in c(file.path(model_dir, "models", file), file.path(model_dir, file))) {
    if (file.exists(candidate) && !dir.exists(candidate)) return(candidate)
  }
  found <- list.files(model_dir, recursive = TRUE)
  found <- found[found == file | endsWith(found, paste0("/", file))]
  if (length(found) == 0) stop(file, " not found under AZUREML_MODEL_DIR (", model_dir, ")")
  depth <- lengths(regmatches(found, gregexpr("/", found, fixed = TRUE)))
  file.path(model_dir, found[order(depth, found)][[1]])
}

# saveRDS(serialize(x, NULL), path) -- the how-to's form -- stores the serialized bytes: unserialize them.
rdeploy_read_rds <- function(path) {
  x <- readRDS(path)
  if (is.raw(x)) x <- unserialize(x)
  x
}

rdeploy_what <- function(x) {
  if (is.function(x)) return("an R function")
  if (is.data.frame(x)) return(sprintf("a data frame (%d rows)", nrow(x)))
  sprintf("an R object of class %s", paste(class(x), collapse = "/"))
}

# A pin written by vetiver_pin_write(): <name>.rds holds list(model, prototype) (vetiver before 0.2: ptype and
# required_pkgs), and data.txt beside it is the pin's metadata (pins' YAML), the user's part under `user`.
# A vetiver_model saved with plain saveRDS() carries the same parts itself.
rdeploy_vetiver_parts <- function(x, path) {
  if (inherits(x, "vetiver_model")) {
    return(list(model = x$model, prototype = x$prototype, metadata = x$metadata, name = x$model_name))
  }
  if (!is.list(x) || is.null(x$model)) {
    stop(basename(path), " holds ", rdeploy_what(x), ", not a pinned vetiver model (a list with model and prototype)")
  }
  meta_path <- file.path(dirname(path), "data.txt")
  meta <- if (file.exists(meta_path)) yaml::read_yaml(meta_path, eval.expr = FALSE) else list()
  user <- if (is.list(meta$user)) meta$user else list()
  required <- if (!is.null(user$required_pkgs)) user$required_pkgs else x$required_pkgs
  user$required_pkgs <- NULL
  user$renv_lock <- NULL
  list(
    model = x$model,
    prototype = if (!is.null(x$prototype)) x$prototype else x$ptype,
    # what vetiver's /metadata answers: a folder board's pin version is its folder's name, and it has no URL
    metadata = list(user = user, version = basename(dirname(path)), url = NULL,
                    required_pkgs = if (is.null(required)) NULL else as.character(unlist(required))),
    name = basename(dirname(dirname(path)))
  )
}

# --- what a fitted model takes ---------------------------------------------------------------------

rdeploy_type_of <- function(col) {
  if (is.ordered(col)) return("ordered")
  if (is.factor(col)) return("factor")
  if (inherits(col, "Date")) return("Date")
  if (inherits(col, "POSIXct")) return("POSIXct")
  if (is.integer(col)) return("integer")
  if (is.double(col)) return("numeric")
  if (is.character(col)) return("character")
  if (is.logical(col)) return("logical")
  class(col)[[1]]
}

rdeploy_frame_columns <- function(df) {
  lapply(names(df), function(v) {
    col <- df[[v]]
    list(name = v, type = rdeploy_type_of(col), levels = if (is.factor(col)) levels(col) else NULL)
  })
}

# The input columns of a model, as list(name, type, levels) each; NULL when R cannot say. Only what the model
# itself records: a vetiver prototype, a workflow's hardhat prototype, ranger's variable names (it records
# levels only for factors it orders itself), or the right-hand side of a model's terms with the model frame's
# classes (lm, glm and most formula models).
rdeploy_columns <- function(model, prototype = NULL) {
  if (is.data.frame(prototype)) return(rdeploy_frame_columns(prototype))
  ptype <- tryCatch(model$pre$mold$blueprint$ptypes$predictors, error = function(e) NULL)
  if (is.data.frame(ptype)) return(rdeploy_frame_columns(ptype))
  if (inherits(model, "ranger") && !is.null(model$forest$independent.variable.names)) {
    forest <- model$forest
    return(lapply(forest$independent.variable.names, function(v) {
      levels <- forest$covariate.levels[[v]]
      list(name = v, type = if (is.null(levels)) "unknown" else "factor", levels = levels)
    }))
  }
  tt <- tryCatch(stats::terms(model), error = function(e) NULL)
  if (inherits(tt, "terms")) {
    classes <- attr(tt, "dataClasses")
    xlevels <- tryCatch(model$xlevels, error = function(e) NULL)
    return(lapply(all.vars(stats::delete.response(tt)), function(v) {
      type <- if (!is.null(classes) && v %in% names(classes)) classes[[v]] else "unknown"
      list(name = v, type = type, levels = xlevels[[v]])
    }))
  }
  NULL
}

rdeploy_describe_columns <- function(columns, limit = 20L) {
  shown <- vapply(head(columns, limit), function(col) {
    levels <- if (length(col$levels)) paste0(": ", paste(head(col$levels, 10), collapse = ", "),
                                             if (length(col$levels) > 10) ", ..." else "") else ""
    if (col$type == "unknown") col$name else sprintf("%s (%s%s)", col$name, col$type, levels)
  }, "")
  paste0(paste(shown, collapse = ", "), if (length(columns) > limit) sprintf(" and %d more", length(columns) - limit) else "")
}

# The predict() method a model dispatches to (from the packages loaded now) and the name of its data argument:
# newdata for stats' models, new_data for tidymodels, data for ranger.
rdeploy_predict_method <- function(object) {
  for (cls in class(object)) {
    method <- utils::getS3method("predict", cls, optional = TRUE)
    if (!is.null(method)) {
      arg <- intersect(c("newdata", "new_data", "data"), names(formals(method)))
      env <- environment(method)
      return(list(class = cls, arg = if (length(arg)) arg[[1]] else "newdata",
                  package = if (!is.null(env) && isNamespace(env)) getNamespaceName(env)[[1]] else NULL))
    }
  }
  NULL
}

# --- loading ---------------------------------------------------------------------------------------

rdeploy_load_model <- function(model_dir, kind, file) {
  path <- rdeploy_find_file(model_dir, file)
  x <- rdeploy_read_rds(path)
  if (kind == "crate") {
    if (!is.function(x)) {
      stop(file, " holds ", rdeploy_what(x), ", not a crate (an R function); ",
           "read the model's folder again (rdeploy-tui init --model-dir) so model.kind says what it holds")
    }
    return(list(kind = kind, path = path, fn = x))
  }
  parts <- if (kind == "vetiver") rdeploy_vetiver_parts(x, path) else list(model = x)
  object <- parts$model
  if (is.function(object)) {
    stop(file, " holds a crate (an R function), not a fitted model; ",
         "read the model's folder again (rdeploy-tui init --model-dir) so model.kind says what it holds")
  }
  # vetiver bundles models whose native parts do not survive saveRDS (tidymodels workflows, xgboost, keras)
  if (inherits(object, "bundle")) object <- bundle::unbundle(object)
  method <- rdeploy_predict_method(object)
  if (is.null(method)) {
    stop("no predict() method for a model of class ", paste(class(object), collapse = "/"), " is loaded: ",
         "list the R package that made the model in image.r_packages")
  }
  list(kind = kind, path = path, object = object, arg = method$arg,
       columns = rdeploy_columns(object, parts$prototype), metadata = parts$metadata, name = parts$name)
}

# --- the request body ------------------------------------------------------------------------------

# How deep brackets nest outside JSON strings, counted on the bytes without parsing (vectorised: a few ms a MB).
rdeploy_json_depth <- function(bytes) {
  if (length(bytes) == 0) return(0L)
  idx <- seq_along(bytes)
  backslash <- bytes == as.raw(0x5c)
  run <- idx - cummax(ifelse(backslash, 0L, idx))  # backslashes ending at each byte
  quote <- bytes == as.raw(0x22) & c(0L, run[-length(run)]) %% 2L == 0L  # quotes not escaped
  outside <- cumsum(quote) %% 2L == 0L
  step <- integer(length(bytes))
  step[outside & (bytes == as.raw(0x5b) | bytes == as.raw(0x7b))] <- 1L
  step[outside & (bytes == as.raw(0x5d) | bytes == as.raw(0x7d))] <- -1L
  max(0L, cumsum(step))
}

# The body, parsed as plumber's JSON parser would (simplifyVector = TRUE), or a 400 saying what is wrong with it.
# An empty body is an empty list (a crate without arguments); JSON's null is NULL.
rdeploy_parse_body <- function(bytes) {
  if (length(bytes) == 0) return(list())
  if (any(bytes == as.raw(0))) rdeploy_bad_input("the request body is not valid JSON: it contains a NUL byte")
  text <- rawToChar(bytes)
  Encoding(text) <- "UTF-8"
  if (!validUTF8(text)) rdeploy_bad_input("the request body is not valid JSON: it is not UTF-8 text")
  depth <- rdeploy_json_depth(bytes)
  if (depth > RDEPLOY_MAX_JSON_DEPTH) {
    rdeploy_bad_input(sprintf("the request body is JSON nested %d levels deep; at most %d are accepted",
                              depth, RDEPLOY_MAX_JSON_DEPTH))
  }
  tryCatch(jsonlite::parse_json(text, simplifyVector = TRUE), error = function(e) {
    rdeploy_bad_input("the request body is not valid JSON: ", trimws(gsub("\\s+", " ", conditionMessage(e))))
  })
}

rdeploy_show <- function(value) {
  text <- if (is.na(value)) "null" else if (is.character(value)) paste0('"', value, '"')
          else if (is.logical(value)) tolower(value) else format(value, digits = 15)
  if (nchar(text) > 40) paste0(substr(text, 1, 37), "...") else text
}

# One column of the body converted to the type the model was fitted with, or a 400 naming the column and row.
rdeploy_convert <- function(x, col) {
  refuse <- function(what, i) {
    rdeploy_bad_input(sprintf("column %s %s (row %d: %s)", col$name, what, i, rdeploy_show(x[[i]])))
  }
  first <- function(bad) which(bad)[[1]]
  type <- col$type
  if (type %in% c("numeric", "integer", "double")) {
    if (is.logical(x) && !all(is.na(x))) refuse("must hold numbers, not true/false", first(!is.na(x)))
    if (is.character(x)) {
      y <- suppressWarnings(as.numeric(x))
      if (any(is.na(y) & !is.na(x))) refuse("must hold numbers", first(is.na(y) & !is.na(x)))
      x <- y
    }
    x <- as.numeric(x)
    if (type == "integer") {
      if (any(!is.na(x) & x != round(x))) refuse("must hold whole numbers", first(!is.na(x) & x != round(x)))
      x <- as.integer(x)
    }
    return(x)
  }
  if (type %in% c("factor", "ordered")) {
    if (is.logical(x) && !all(is.na(x))) refuse("must hold text, not true/false", first(!is.na(x)))
    y <- as.character(x)
    if (length(col$levels) && any(!is.na(y) & !(y %in% col$levels))) {
      refuse(paste("must be one of", paste(head(col$levels, 20), collapse = ", ")), first(!is.na(y) & !(y %in% col$levels)))
    }
    return(factor(y, levels = if (length(col$levels)) col$levels else unique(y[!is.na(y)]), ordered = type == "ordered"))
  }
  if (type == "character") return(as.character(x))
  if (type == "logical") {
    if (!is.logical(x)) refuse("must hold true or false", first(!is.na(x)))
    return(x)
  }
  if (type == "Date") {
    y <- as.Date(as.character(x), format = "%Y-%m-%d")
    if (any(is.na(y) & !is.na(x))) refuse("must hold dates such as \"2024-01-31\"", first(is.na(y) & !is.na(x)))
    return(y)
  }
  if (type == "POSIXct") {
    y <- as.POSIXct(as.character(x), tz = "UTC", optional = TRUE,
                    tryFormats = c("%Y-%m-%dT%H:%M:%OS", "%Y-%m-%d %H:%M:%OS", "%Y-%m-%d"))
    if (any(is.na(y) & !is.na(x))) refuse("must hold times such as \"2024-01-31T12:00:00\"", first(is.na(y) & !is.na(x)))
    return(y)
  }
  x  # a type R did not record: as sent
}

RDEPLOY_SHAPE <- paste0('an array of rows, [{"column": value, ...}, ...], ',
                        'or an object of columns, {"column": [values], ...}')

# The body as the data frame predict() gets: rows or columns, every column the model takes, converted to its type;
# columns the model does not take are left out. Anything else is a 400 naming the column.
rdeploy_body_frame <- function(body, columns) {
  if (is.null(body) || is.atomic(body)) rdeploy_bad_input("the request body must be ", RDEPLOY_SHAPE)
  if (length(body) == 0) rdeploy_bad_input("the request body is empty: send ", RDEPLOY_SHAPE)
  if (is.data.frame(body)) {
    df <- body
  } else if (is.list(body) && !is.null(names(body)) && all(nzchar(names(body)))) {
    nested <- names(body)[!vapply(body, function(v) is.null(v) || is.atomic(v), logical(1))]
    if (length(nested)) rdeploy_bad_input("column ", nested[[1]], " must hold plain values (numbers, text, true/false), not objects or lists")
    body <- lapply(body, function(v) if (is.null(v)) NA else v)
    sizes <- lengths(body)
    if (length(unique(sizes)) > 1) {
      rdeploy_bad_input("every column must have the same number of values: ",
                        paste(sprintf("%s has %d", names(sizes), sizes)[seq_len(min(5, length(sizes)))], collapse = ", "))
    }
    df <- as.data.frame(body, stringsAsFactors = FALSE, check.names = FALSE, optional = TRUE)
  } else {
    rdeploy_bad_input("the request body must be ", RDEPLOY_SHAPE)
  }
  if (anyDuplicated(names(df))) rdeploy_bad_input("column ", names(df)[anyDuplicated(names(df))], " appears twice")
  nested <- names(df)[!vapply(df, is.atomic, logical(1))]
  if (length(nested)) rdeploy_bad_input("column ", nested[[1]], " must hold plain values (numbers, text, true/false), not objects or lists")
  if (is.null(columns)) return(df)
  wanted <- vapply(columns, function(col) col$name, "")
  missing <- setdiff(wanted, names(df))
  if (length(missing)) {
    rdeploy_bad_input(if (length(missing) > 1) "missing columns " else "missing column ",
                      paste(head(missing, 10), collapse = ", "), ": the model takes ", rdeploy_describe_columns(columns))
  }
  out <- lapply(columns, function(col) rdeploy_convert(df[[col$name]], col))
  names(out) <- wanted
  as.data.frame(out, stringsAsFactors = FALSE, check.names = FALSE, optional = TRUE)
}

# --- the answer ------------------------------------------------------------------------------------

# Classed results (time series, forecasts) become plain vectors or data frames, which plumber encodes as real JSON.
# Returning jsonlite::toJSON() from a handler would be encoded a second time: JSON inside a string. A fable forecast
# (fbl_ts) keeps its tidy columns (keys, index, .mean, ...); its distribution column would come out as nested
# objects, so it is left out, and classed index values (yearmonth ...) are written as text.
rdeploy_plain <- function(x) {
  if (inherits(x, "forecast")) return(as.data.frame(x))
  if (inherits(x, "ts")) return(as.numeric(x))
  if (is.data.frame(x) && inherits(x, c("fbl_ts", "tbl_ts"))) {
    keep <- !vapply(x, function(col) inherits(col, "distribution"), logical(1))
    x <- lapply(unclass(x)[keep], function(col) if (inherits(col, "vctrs_vctr")) format(col) else col)
    return(as.data.frame(x, check.names = FALSE, stringsAsFactors = FALSE))
  }
  x
}

# predict()'s answer as rows of a data frame: one .pred column for a vector (as vetiver answers), .pred_<column>
# for a matrix (class probabilities), a data frame as it is (tidymodels answers a tibble already).
rdeploy_predictions <- function(p) {
  if (inherits(p, "ranger.prediction")) p <- p$predictions  # ranger's predict() wraps them in a list
  if (is.data.frame(p)) return(p)
  if (is.matrix(p)) {
    out <- as.data.frame(p, stringsAsFactors = FALSE)
    names(out) <- paste0(".pred_", if (is.null(colnames(p))) seq_len(ncol(p)) else colnames(p))
    return(out)
  }
  if (is.atomic(p)) return(data.frame(.pred = unname(p), check.names = FALSE))
  rdeploy_plain(p)
}

rdeploy_score <- function(model, body) {
  if (model$kind == "crate") {
    if (!is.list(body) || (length(body) > 0 && is.null(names(body)))) {
      example <- c(names(formals(model$fn)), "x")[[1]]
      rdeploy_bad_input('the request body must be a JSON object of named arguments, such as {"', example, '": [1]}')
    }
    return(rdeploy_plain(do.call(model$fn, body)))
  }
  data <- rdeploy_body_frame(body, model$columns)
  args <- list(model$object)
  args[[model$arg]] <- data
  rdeploy_predictions(do.call(stats::predict, args))
}

# The score route's answer: the model's result, or a 400 with {"error": ...} when the body or the model refuses
# (vetiver's clients read "message"). A model's own stop() is the caller's input being refused, as before; a package
# missing from the image is the deployment's fault, a 500.
rdeploy_answer <- function(model, bytes, res) {
  tryCatch(rdeploy_score(model, rdeploy_parse_body(bytes)), error = function(e) {
    res$status <- 400
    text <- conditionMessage(e)
    if (grepl("there is no package called", text, fixed = TRUE)) {
      res$status <- 500
      text <- paste("the model needs an R package this image lacks:", text)
    } else if (!inherits(e, "rdeploy_bad_input") && model$kind != "crate") {
      text <- paste("the model could not score this input:", text)
    }
    answer <- list(error = jsonlite::unbox(text))
    if (model$kind == "vetiver") answer$message <- jsonlite::unbox(text)
    answer
  })
}

# --- vetiver's own routes --------------------------------------------------------------------------

rdeploy_ping <- function() list(status = "online", time = format(Sys.time(), "%Y-%m-%d %H:%M:%S"))

# A probe route's answer; vetiver's /ping body when the spec routes a probe to /ping.
rdeploy_probe_answer <- function(model, route, answer) {
  if (model$kind == "vetiver" && route == "/ping") rdeploy_ping() else answer
}

# vetiver's GET /ping and /metadata, as vetiver_api() serves them, unless a probe route already took the path.
rdeploy_vetiver_routes <- function(pr, model, taken) {
  if (model$kind != "vetiver") return(pr)
  serializer <- plumber::serializer_unboxed_json(null = "null")
  if (!"/ping" %in% taken) pr <- plumber::pr_get(pr, "/ping", rdeploy_ping, serializer = serializer)
  if (!"/metadata" %in% taken) pr <- plumber::pr_get(pr, "/metadata", function() model$metadata, serializer = serializer)
  pr
}
