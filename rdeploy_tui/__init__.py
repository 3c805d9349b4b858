"""rdeploy-tui: deploy R models to Azure Machine Learning managed online endpoints."""

__version__ = "0.1.0"
