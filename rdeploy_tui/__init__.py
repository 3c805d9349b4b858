"""rdeploy-tui: deploy R models to Azure Machine Learning managed online endpoints.

The headless core, bottom up: spec/ (the deploy spec and its rules), deploy_folder/ (the how-to's files),
scoring/ (every scoring request), local/ (the plumber API on this machine), azure/ (the only code that talks to
Azure), pipeline/ (deploy and rollout on one run engine). Beside it, sandbox/ (an HTTPS simulation of Azure for the
real SDK clients). The faces: launch.py (connecting; the sandbox composed with the core), commands/ (the CLI),
ui/ (the wizard), cli.py (the entry point) and __main__.py. Shared by all: errors.py (RdeployError), locations.py
(every path written), logfile.py (the crash log), bounded_read.py (every file read back), tls.py (TLS contexts),
connection_options.py (where Azure is), billing.py (what still bills), health_text.py (health figures as text).
docs/architecture.md draws them; pyproject.toml's import-linter contracts keep the layers.
"""

__version__ = "0.1.0"
