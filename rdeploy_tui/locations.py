"""Every place rdeploy-tui writes on this machine, in one module: where to look, and what each file is.

    RDEPLOY_HOME (else the platform's user state dir, platformdirs)   state_dir()
      deployments/<hash>.json (+ .lock, .holder)   resume state of a deploy, one per target    deployments_dir()
      rollouts/<endpoint key>.json                 resume state of a rollout                    rollouts_dir()
      locks/rollout-<endpoint key>.lock            one rollout per endpoint on this machine     locks_dir()
      logs/deploy-*.jsonl, logs/rollout-*.jsonl    every event of a run, keys redacted          run_log()
      logs/rollout-*-report.json                   a rollout's verdict                          run_log()
      logs/azure-sdk.log                           the Azure SDKs' own logging                  sdk_log()
      logs/crash.log                               the last unexpected error's traceback        crash_log()
      last-run.yaml                                the wizard's last spec, offered next time    last_run_spec()
      last-update.yaml                             the spec of the wizard's last rollout        last_update_spec()
      keymap.yaml (RDEPLOY_HOME set)               the user's key overrides                     keymap_file()
      sandbox/                                     the built-in sandbox's state, CA and secret  sandbox_dir()
      tls/ca-bundle-*.pem                          public roots + a private CA, for every client tls_dir()
    RDEPLOY_CACHE_DIR (else RDEPLOY_HOME/cache, else the platform's user cache dir)             cache_dir()
      prices.json                                  Retail Prices API answers, a day             prices_cache()
      models/<sub>/<group>/<workspace>/<model>/<version>/   a registered model's files         model_cache()
    the platform's user config dir (RDEPLOY_HOME instead when set)                              keymap_file()

Cheap to import (platformdirs only on first use): the wizard reads the keymap before its first paint.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

APP = "rdeploy-tui"
HOME_ENV = "RDEPLOY_HOME"
CACHE_ENV = "RDEPLOY_CACHE_DIR"


def state_dir() -> Path:
    """RDEPLOY_HOME overrides the platform default (tests and side-by-side installs use it)."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir(APP))


def cache_dir() -> Path:
    """Re-fetchable data: RDEPLOY_CACHE_DIR, else inside RDEPLOY_HOME when that is set (tests), else the platform's
    user cache dir."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home) / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP))


def config_dir() -> Path:
    """The user's settings (keymap.yaml): RDEPLOY_HOME when set, as for state and logs; else the platform's."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP))


def log_dir() -> Path:
    return state_dir() / "logs"


def crash_log() -> Path:
    return log_dir() / "crash.log"


def sdk_log() -> Path:
    return log_dir() / "azure-sdk.log"


def run_log(kind: str, endpoint: str, suffix: str = ".jsonl") -> Path:
    """A new log of one run: `deploy-20260101-120000-ENDPOINT.jsonl`, `rollout-...-report.json` (suffix)."""
    return log_dir() / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{endpoint}{suffix}"


def deployments_dir() -> Path:
    return state_dir() / "deployments"


def rollouts_dir() -> Path:
    return state_dir() / "rollouts"


def locks_dir() -> Path:
    return state_dir() / "locks"


def tls_dir() -> Path:
    return state_dir() / "tls"


def sandbox_dir() -> Path:
    """Where `rdeploy-tui sandbox` and `--sandbox` both keep the sandbox, so each sees the other's endpoints."""
    return state_dir() / "sandbox"


def last_run_spec() -> Path:
    return state_dir() / "last-run.yaml"


def last_update_spec() -> Path:
    """The spec the wizard's last update (a rollout) ran with: an interrupted rollout is offered again with it."""
    return state_dir() / "last-update.yaml"


def keymap_file() -> Path:
    return config_dir() / "keymap.yaml"


def prices_cache() -> Path:
    return cache_dir() / "prices.json"


def model_cache(subscription_id: str, resource_group: str, workspace: str, model: str, version: str) -> Path:
    """The folder a registered model version's files are downloaded to (each part made safe as a folder name)."""
    parts = (subscription_id, resource_group, workspace, model, version)
    return cache_dir().joinpath("models", *(_safe(p) for p in parts))


def _safe(part: str) -> str:
    """A name as one folder name (Azure's names are already safe; this keeps a stray / or .. out of the path)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", part).lstrip(".") or "_"
