"""A bound on how long a role may take to stop once it was asked to.

A role stops gracefully: intake ends, the batch in hand finishes, the Kafka consumer commits and
leaves its group, producers flush. With a server gone those last steps wait on network time-outs
(librdkafka's close waits up to ``socket.timeout.ms``, 60 s, for a final commit), and a supervisor or
test harness waiting on the process waits with them. :func:`arm` starts a timer when the stop
signal arrives; a process still running ``NEWSFLOW_SHUTDOWN_GRACE_S`` later exits at once. Nothing
is lost by that: offsets are committed only after their effects are durable, so what the process
had in hand is replayed by the next owner.
"""

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

EXIT_STATUS = 75  # EX_TEMPFAIL: stopped, but not cleanly
_grace_s = 20.0
_armed = threading.Lock()


def configure(grace_s: float) -> None:
    """Sets the grace of this process (``dispatch`` does, from the service's settings)."""
    global _grace_s
    _grace_s = grace_s


def arm() -> None:
    """Exits the process the configured grace from now unless it has ended by then.

    Idempotent: a second stop signal does not move the deadline.
    """
    if not _armed.acquire(blocking=False):
        return
    seconds = _grace_s

    def expire() -> None:
        log.error("shutdown did not finish within %.0f s (a server unreachable?): exiting now", seconds)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        os._exit(EXIT_STATUS)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
