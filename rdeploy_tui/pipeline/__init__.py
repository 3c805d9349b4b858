"""The runs: deploy and rollout, as step lists on one engine, reporting one event stream. No Textual here, no deploy
logic elsewhere.

engine.py          the run engine: state folder check, lock, log (redacted), events, steps side by side, cancel,
                   the one Outcome; a run whose progress could not be saved never succeeds
events.py          what a run reports (the wizard, the CLI, the log and the resume state read the same events)
state.py           the resume state: the fold of a run's events (reduce), saved per target by ResumeStore
plan.py            the deploy's planned steps, titles and dependencies (build image ∥ create endpoint -> ...)
runner.py          the deploy on the engine (run_deploy); autoscale_step.py its autoscale step
rollout.py         the rollout on the engine (run_rollout): staged traffic, judged, rolled back, resumed
rollout_inputs.py  a rollout's thresholds and request bodies, checked before anything is created
stage_metrics.py   Azure Monitor's figures for both deployments beside each rollout stage's
endpoint_lease.py  one rollout per endpoint across machines: a lease in the endpoint's tags
target_lock.py     one deploy per target on this machine
failing_line.py    the log line that names a failure's cause
local_build.py, package_index.py, expiry.py: the build without ACR Tasks, package names, expiry tags and sweep
"""
