"""Running the plumber API on this machine the way the Azure ML container runs it.

plumber.py      start `Rscript start_plumber.R` with the container's variables, wait for /ready, stop it
docker.py       the same with a local Docker engine, when one answers
http_client.py  plain requests to the local API (probes) and latency on new vs. reused connections
checks.py       `rdeploy-tui local` and the wizard's local test: every check, one report
model_reader.py what a model folder holds, read with R: kind (crate, fitted, vetiver), file, input, packages
model_folder.py a first look at a model folder without R (as a field is typed)
package_advice.py  how to install a missing R package here, naming only packages that exist
sample_crate.py the sample crate rebuilt with this machine's R (the shipped one is deploy_folder/sample_model.py's)
"""
