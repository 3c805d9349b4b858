"""What a registered model's folder may hold, as the spec names it: the kinds rdeploy-tui serves, and the one recipe
every message gives for saving a crate."""

from __future__ import annotations

# model.kind: read with R from the model's files (local/model_reader.py), never guessed when the API starts.
#   crate    a carrier crate, saved either way (below)
#   fitted   a fitted model saved with saveRDS (lm, glm, ranger, a tidymodels workflow, ...), scored with predict()
#   vetiver  a vetiver model pinned to a pins board folder (vetiver_pin_write)
MODEL_KINDS = ("crate", "fitted", "vetiver")

CRATE_FILENAME = "crate.bin"  # Microsoft's how-to's name, and model.file's default

# The how-to's form first; the generated API and `local` load a crate saved with plain saveRDS as well.
SAVE_CRATE = (
    f'save a crate with saveRDS(serialize(crate, NULL), "{CRATE_FILENAME}") '
    f'(plain saveRDS(crate, "{CRATE_FILENAME}") works too)'
)
SAVE_FITTED = 'save a fitted model with saveRDS(fit, "model.rds")'
