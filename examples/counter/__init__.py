"""A toy system of two agents (an intake and a counter) for testing the
simulator and the runners apart from any real system. See README.md."""
