"""The fault suite's money tally, counted by the fault and restart tests and printed once at the
end of the session by tests/conftest.py, which finds this dict by its name in ``sys.modules`` and
adds up the xdist workers' copies. One dict, mutated in place: never rebind it.
"""

FAULT_SUITE_STATS = {"scenarios": 0, "duplicate_creates": 0, "uncancelled_abandoned": 0, "key_leaks": 0}
