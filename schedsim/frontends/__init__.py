"""Other ways to write a scenario: each turns its file into the `Scenario` that YAML gives.

`python` reads a real `.py` module that uses `threading` (with `ast`, never
importing or running it); `pyrun` runs such a file itself on real threads,
in child processes, for `crosscheck`.
"""
