"""How long Azure takes: the one place for the sandbox's simulated durations, in seconds at time_scale=1.

Every number here is multiplied by the sandbox's time scale (`Sandbox(time_scale=...)`, `rdeploy-tui sandbox
--time-scale X`, RDEPLOY_SANDBOX_TIME_SCALE for `--sandbox`). At 1 the sandbox keeps Azure's own pace: a first
deploy of the default spec takes about 11 minutes (build ~3.3 min while the endpoint is created in ~1.5 min,
then ~7 min of deployment and ~20 s of traffic update). DEMO_TIME_SCALE (1/20) makes that ~40 s; the test
suite runs at TEST_TIME_SCALE (a deploy in ~2 s plus R's own start-up, which is never scaled).

Sources and assumptions. These are typical values, not guarantees: Azure varies by region, load, VM size
and image size, and the sandbox only needs the proportions right (the build outlasts the endpoint; the
deployment dominates; a traffic update is short).
- ACR quick build (`az acr build`, ACR Tasks) of an rstudio/plumber image that installs CRAN packages:
  3-10 minutes, as users report. A run waits 10-30 s for an agent, pulls the base image (rstudio/plumber,
  ~0.5 GB compressed in 5 layers: ~1-1.5 min inside Azure), installs packages (a source package with
  compiled code takes 30-120 s with its dependencies; a pure-R one ~10 s), then pushes the new image to a
  fresh repository (~0.5 GB, ~30-60 s). The default spec (carrier only) lands at ~3.3 min; each further
  package adds BUILD_TIMES["package"].
- Managed online endpoint creation: 1-2 minutes (Microsoft Learn's deploy how-to and user reports).
- Managed online deployment: 5-15 minutes (VM allocation, image pull from ACR, storage-initializer
  downloading model and code, then the container starting and passing its readiness probe; the probe
  defaults alone allow 10 s initial delay + 10 s periods). Split here into provisioning (until the
  container starts) and start-up (until the scoring route is live): ~7 minutes in all.
- Endpoint update that only changes traffic (`--all-traffic`, `az ml online-endpoint update --traffic`):
  well under a minute; 20 s here.
- Deletes: ~2 minutes for an endpoint with its deployments or a single deployment (VMs are released).
- Poll hint: Azure ML answers long-running operations without Retry-After (the SDK then waits 30 s, or
  MLClient(polling_interval=...)); the sandbox hints 5 s through retry-after-ms so scaled runs stay crisp.
"""

from __future__ import annotations

# ----- the ACR build (sandbox/build.py lays a build out as log chunks; sandbox/acr.py waits these) -----
# Seconds of a real build each phase stands for; the log chunks keep their look, only their pace follows these.
BUILD_TIMES = {
    "queue": 15.0,  # scheduled -> Running: an ACR Tasks agent picks the run up
    "source": 3.0,  # downloading the uploaded context (kilobytes)
    "setup": 5.0,  # home volume, docker configuration, registry login
    "step": 1.0,  # a Dockerfile instruction that only writes metadata / a layer commit / a container start
    "layer": 15.0,  # one of the base image's layers downloaded and extracted (rstudio/plumber has 5)
    "package": 45.0,  # one CRAN package installed, with compilation and its own dependencies
    "push": 20.0,  # each of the push's two phases (preparing + uploading ~0.5 GB of new layers)
    "final": 2.0,  # digests, step bookkeeping, the run's final status
}

# ----- online endpoints and deployments (sandbox/online.py) -----
ENDPOINT_CREATE_S = 90.0
ENDPOINT_UPDATE_S = 20.0  # traffic (or tags/description) changes on an existing endpoint
ENDPOINT_DELETE_S = 120.0
DEPLOYMENT_PROVISION_S = 330.0  # VM allocated, image pulled, storage-initializer downloads model and code
DEPLOYMENT_START_S = 90.0  # container started (the real plumber process is up by then), probes pass, route live
DEPLOYMENT_DELETE_S = 120.0
POLL_HINT_S = 5.0  # retry-after-ms the sandbox sends with long-running operations (only when time is scaled)
# x-ms-async-operation-timeout: Azure ML answers every online endpoint/deployment create, update and delete with
# PT30M (azure-sdk-for-python recordings, test_online_deployment*). Scaled like every duration: clients (rdeploy-tui's
# azure/deadlines) take their deadline from it, so at time scale 0.003 it says PT5.4S.
LRO_TIMEOUT_S = 30 * 60.0

# ----- Azure Monitor autoscale (sandbox/autoscale.py) -----
# "The autoscale job runs every 30 to 60 seconds, depending on the resource type" (Understand autoscale settings,
# learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-understanding-settings): the sandbox runs it every 30.
AUTOSCALE_RUN_S = 30.0
# How long adding or removing an instance of a managed online deployment takes is not published. Assumed: a new
# instance is a VM allocated, the image pulled and the container started (like a deployment's provisioning and
# start, without the model and code upload): 5 minutes; removing one: a minute.
SCALE_OUT_S = 300.0
SCALE_IN_S = 60.0

# ----- time scales -----
DEMO_TIME_SCALE = (
    0.05  # `rdeploy-tui --sandbox` and `rdeploy-tui sandbox`: 1 minute of Azure in 3 s; a first deploy ~40 s
)
TEST_TIME_SCALE = 0.003  # the test suite: a first deploy in ~2 s (plus R's start-up)


def iso_duration(seconds: float) -> str:
    """An ISO 8601 duration as Azure writes it in headers: PT30M, PT1H, PT5.4S."""
    seconds = max(0.0, seconds)
    if seconds >= 60 and seconds == int(seconds):
        hours, rest = divmod(int(seconds), 3600)
        minutes, secs = divmod(rest, 60)
        return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return f"PT{round(seconds, 3):g}S"
