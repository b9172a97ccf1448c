"""Several machines (core, no Textual): the named hosts of the config (`named.py`), one compact
row per host for the fleet view (`fleet.py`) and the same bench on each host (`bench.py`)."""
