"""What the app keeps for its whole run is set aside from the garbage collector's full passes.

Python's full collection walks every object the process holds. After start-up that is ~120,000
objects (Textual, the tabs, the client libraries), and during a streaming reply such a pass came
about every 30 s, ~70 ms each here: ~0.2 CPU-s per 1,000 tokens, on the cores the model needs.
Those objects live until the app ends, so walking them finds nothing. `gc.freeze()` moves every
object that exists now into a permanent generation that collections skip; objects made later are
collected as before. The app freezes once settled (the first connection state) and after each
tab's first build, and thaws on exit, so an app run inside a longer process (the tests) leaves
nothing uncollectable behind.

No `gc.collect()` before freezing: a full pass is the pause this saves (start-up leaves little
garbage, and what it leaves is bounded: the freezes are a handful per run)."""

from __future__ import annotations

import gc


class SettledHeap:
    """Freezes the heap at settled moments of the app's run; thaws it at the end."""

    def __init__(self) -> None:
        self.freezes = 0

    def settle(self) -> None:
        """Everything alive now stays alive: skip it in later collections."""
        gc.freeze()
        self.freezes += 1

    def thaw(self) -> None:
        """The run is over: hand what was frozen back to the collector."""
        if self.freezes:
            gc.unfreeze()
            self.freezes = 0
