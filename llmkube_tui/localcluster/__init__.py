"""A real Kubernetes cluster on this machine, built from source, for the
tests and the demo. Not used when the tool talks to a real cluster."""
