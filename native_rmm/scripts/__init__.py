"""The script library: scripts with typed parameters, runs on devices, and one tool per script."""
