"""disagg-pipelines: profile, plan, render and roll out disaggregated LLM serving on Kubernetes."""

__version__ = "0.1.0"
