"""Settings of the child processes the fault tests start: the project's own, minus one politeness delay.

The quote connector spaces its calls to NSE by 0.35 s (NSE blocks faster clients); the local upstream
of these tests answers as fast as it can, and a run needs a few hundred quotes to span several lake
objects, so the children call it without the delay. Nothing else differs from ``config.settings``.
"""

from config.settings import *  # noqa: F403

NSE_API_MIN_INTERVAL = 0.0
