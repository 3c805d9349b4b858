"""The deploy spec: every setting of one deployment, and the rules its values must follow.

deploy_spec.py    DeploySpec and its parts; load_spec / save_spec (rdeploy.yaml), Problems instead of exceptions
rules.py          pure, fast checks of each value (names, packages, images, SKUs, routes, autoscale), validate(spec)
traffic.py        the one rule for the traffic splits Azure accepts, and the split a deploy leaves behind
autoscale.py      deployment.autoscale as Azure Monitor's profiles and rules
durations.py      "8h", "2d": the expiry durations of the spec and the CLI
model_files.py    the model kinds (model.kind) and the one recipe for saving a crate
requests_file.py  a rollout's requests file: the request bodies both deployments answer, read and checked
Fact tables with their sources, shared with the sandbox: vm_sizes.py (the VM sizes online endpoints take),
base_images.py (what public base images hold), azure_metrics.py (Azure Monitor's metrics of endpoints and
deployments), package_names.py + cran_names.txt (a dated list of CRAN names, checked offline).
"""

# Here rather than in deploy_spec.py: commands look for the file before deciding to load it (and its YAML parser).
SPEC_FILENAME = "rdeploy.yaml"
