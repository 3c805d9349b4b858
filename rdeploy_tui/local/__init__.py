"""Running the plumber API on this machine the way the Azure ML container runs it.

plumber.py      start `Rscript start_plumber.R` with the container's variables, wait for /ready, stop it
docker.py       the same with a local Docker engine, when one answers
http_client.py  plain requests to the local API (probes) and latency on new vs. reused connections
checks.py       `rdeploy-tui local` and the wizard's local test: every check, one report
"""
