"""What a warm Lambda container remembers between invocations, and how to forget all of it.

Module-level state lives in: ``clients`` (boto3 clients and session), ``discovery.CACHE``
(describe results, the campaigns' request metrics their traffic proved), ``alarms.LISTING`` (the
deployment's alarms as last listed), ``costchecks`` (hourly request sums, protection tags),
``commands`` (the command queues' URLs) and ``dashboard_trigger`` (the resources graphed at the
previous run). ``forget()`` puts a process back into the state of a cold start, which tests use
to drive a handler exactly as a fresh container would run it.
"""

from __future__ import annotations


def forget() -> None:
    """Drop every cache a warm container keeps, as a cold start would."""
    from personalize_monitor import alarms, clients, commands, costchecks, dashboard_trigger, discovery

    clients.reset()
    commands.forget()
    discovery.CACHE.clear()
    alarms.LISTING.clear()
    costchecks.reset_caches()
    dashboard_trigger.reset_state()
