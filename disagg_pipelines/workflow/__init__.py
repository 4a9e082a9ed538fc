"""The pipeline as an Argo WorkflowTemplate (hera): every step runs the `disagg` CLI with files in and out."""
