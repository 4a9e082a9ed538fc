"""Step 4, roll out: a rendered DeploymentBundle -> applied, gang-ready objects on a cluster (the kubernetes edge)."""
