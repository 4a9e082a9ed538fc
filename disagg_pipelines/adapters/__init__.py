"""Adapters: the edges where outside systems (Hugging Face Hub, Kubernetes, MLflow, Argo) meet domain types."""
