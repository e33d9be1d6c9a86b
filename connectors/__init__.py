"""External RMM/PSA connectors. Each sub-package is one vendor; siblings never import each other."""
