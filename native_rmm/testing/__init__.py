"""Protocol-level test client (a simulated agent) used by the tests and by ``rmmhub bench``."""
