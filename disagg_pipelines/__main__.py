"""`python -m disagg_pipelines` runs the `disagg` CLI."""

from disagg_pipelines.cli import main

if __name__ == "__main__":
    main()
