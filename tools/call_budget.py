"""The monitor's API calls per run, as documented in the README, per operation.

For a region r with C_r monitored campaigns and R_r recommenders (N = sum of both), of which
Ck_r campaigns' request metric the warm container knows (proven by a complete read of their
traffic since their last update, discovery.learn_request_metrics) and Cu_r = C_r - Ck_r not:

    List:          ceil(C_r / 100) + ceil(R_r / 100)          per region (at least 1 each)
    GetMetricData: ceil((2 Cu_r + Ck_r + R_r) / 500)          per region with resources: the window read,
                                                              2 Cu_r + Ck_r + R_r metrics requested (a
                                                              campaign whose metric is not known yet is
                                                              read on both request metrics)
    cost checks:   <= 2 GetMetricData                         per region with resources due this run
    PutMetricData: ceil((3 N + 2) / 1000)                     in the home region
    DescribeAlarms: describe_alarms_calls()                   in the home region (the only place its
                                                              terms are written): the renewal of a
                                                              twelfth of the kept alarms by name, or a
                                                              full listing when the wanted alarms changed
    SendMessageBatch / PutEvents: ceil(messages / 10)         only when a run decides something: the
                                                              commands to each action function's queue,
                                                              and the dashboard rebuild request on the bus

A cold run (a new container) knows no campaign's metric (Ck_r = 0) and adds to these:

    GetMetricData: ceil(2 C_r / 500)                          per region with campaigns: the restore read
                                                              of the campaigns' published minimums (all
                                                              miss a cold cache), in the home region
    DescribeCampaign: C_r                                     only for the campaigns no datapoint proves
                                                              current: all of them in the first-ever run,
                                                              none in a cold run after earlier runs
    DescribeAlarms: the listing (a new container has none)
    ListDashboards 1 + GetDashboard per deployed page         the dashboard step's first comparison

Describes otherwise happen only for campaigns updated since (one each); alarm writes only for
missing or changed alarms; neither occurs in a steady state. No run describes a solution version.
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Tuple

# Terraform-owned alarms under the same name prefix: Errors and Throttles of the 5 functions,
# the monitor's RunErrors, the dead-letter queue's alarm (alarms.tf).
MODULE_ALARMS = 12

PerRegion = Mapping[str, Tuple[int, int]]  # region -> (campaigns, recommenders)
Known = Optional[Mapping[str, int]]  # region -> campaigns whose request metric is known (None: none)

# The kinds of run the alarm step tells apart (alarms.ListingCache.usable).
QUIET, CHANGED, COLD = "quiet", "changed", "cold"


def describe_alarms_calls(alarmed_resources: int, run: str, renewed: int = 0) -> int:
    """DescribeAlarms calls of one monitor run: the ONLY place the formula's alarm-listing terms
    are written (the steady and cold formulas, the budgets and tools.costs call it).

    ``run``: QUIET (a warm container whose wanted alarms did not change: the listing is kept, and
    the ``renewed`` kept alarms of the run's 5-minute renewal slot are read again by name, 100 a
    call - about a twelfth of them, alarms.renewal_slot), CHANGED (the wanted alarms changed),
    COLD (a new container has no listing). A listing is one paginated DescribeAlarms by name
    prefix, 100 a page, that finds the 2 run-time alarms of each of ``alarmed_resources`` and the
    module's 12 own alarms (at least one page).
    """
    if run == QUIET:
        return math.ceil(renewed / 100)
    if run in (CHANGED, COLD):
        return max(1, math.ceil((2 * alarmed_resources + MODULE_ALARMS) / 100))
    raise ValueError(f"unknown run kind {run!r}")


def renewal_bound(alarms: int) -> int:
    """An upper bound of the kept alarms one run renews: a twelfth of them, with room for the
    uneven spread of a hash (3 standard deviations of the binomial count, at least 10)."""
    share = alarms / 12
    return math.ceil(share + max(10.0, 3 * math.sqrt(share)))


def _add(calls: Dict[str, int], operation: str, count: int) -> None:
    if count:
        calls[operation] = calls.get(operation, 0) + count


def window_metrics(per_region: PerRegion, known: Known = None) -> Dict[str, int]:
    """Metrics the 5-minute window read requests per region (GetMetricData is billed per metric
    requested): 2 Cu + Ck + R."""
    out: Dict[str, int] = {}
    for region, (campaigns, recommenders) in per_region.items():
        k = (known or {}).get(region, 0)
        if not 0 <= k <= campaigns:
            raise ValueError(f"{region}: {k} known campaigns of {campaigns}")
        out[region] = 2 * (campaigns - k) + k + recommenders
    return out


def steady_run_calls(per_region: PerRegion, run: str = QUIET, alarm_writes: int = 0, events: int = 0,
                     alarmed_resources: Optional[int] = None, renewed: int = 0,
                     known: Known = None) -> Dict[str, int]:
    """Every call of a warm run, per "service:operation" (operations with no call left out), for a
    run whose hourly checks read nothing and that sends no command. ``alarmed_resources``: the
    resources whose alarms the listing finds (default: all N). ``known``: per region, the
    campaigns whose request metric the container knows (default none: every campaign read twice,
    the upper bound)."""
    calls: Dict[str, int] = {}
    n = 0
    queries = window_metrics(per_region, known)
    for region, (campaigns, recommenders) in per_region.items():
        n += campaigns + recommenders
        _add(calls, "personalize:ListCampaigns", max(1, math.ceil(campaigns / 100)))
        _add(calls, "personalize:ListRecommenders", max(1, math.ceil(recommenders / 100)))
        _add(calls, "monitoring:GetMetricData", math.ceil(queries[region] / 500))
    _add(calls, "monitoring:PutMetricData", math.ceil((3 * n + 2) / 1000))
    _add(calls, "monitoring:DescribeAlarms",
         describe_alarms_calls(n if alarmed_resources is None else alarmed_resources, run, renewed))
    _add(calls, "monitoring:PutMetricAlarm", alarm_writes)
    _add(calls, "events:PutEvents", math.ceil(events / 10))
    return calls


def restore_reads(per_region: PerRegion) -> int:
    """GetMetricData calls of a cold run's restore read: 250 campaigns (2 queries each) a call,
    per region with campaigns."""
    return sum(math.ceil(2 * campaigns / 500) for campaigns, _ in per_region.values())


def cold_run_calls(per_region: PerRegion, first_ever: bool, dashboard_pages: int, alarm_writes: int = 0,
                   events: int = 0) -> Dict[str, int]:
    """Every call of a run in a new container, per "service:operation", with a dashboard named.

    ``first_ever``: nothing was published before (every campaign is described, no alarm exists
    yet); otherwise earlier runs published every campaign's minimum since its last update (every
    campaign is restored, none described). ``dashboard_pages``: pages deployed (GetDashboard each).
    """
    n = sum(c + r for c, r in per_region.values())
    calls = steady_run_calls(per_region, COLD, alarm_writes, events, alarmed_resources=0 if first_ever else n)
    _add(calls, "monitoring:GetMetricData", restore_reads(per_region))
    if first_ever:
        _add(calls, "personalize:DescribeCampaign", sum(c for c, _ in per_region.values()))
    _add(calls, "monitoring:ListDashboards", 1)
    _add(calls, "monitoring:GetDashboard", dashboard_pages)
    return calls


def _cost_checks(per_region: PerRegion) -> int:
    """At most 2 GetMetricData per region with resources for the hourly checks due this run."""
    return sum(2 for c, r in per_region.values() if c + r)


def steady_state_budget(per_region: PerRegion, events: int = 0, listing: bool = False) -> int:
    """Upper bound of calls for ``{region: (campaigns, recommenders)}``: a run that keeps its
    alarm listing and renews at most renewal_bound(2N) of it, or (``listing``) one that lists
    again because the wanted alarms changed."""
    n = sum(c + r for c, r in per_region.values())
    if listing:
        calls = steady_run_calls(per_region, CHANGED, events=events)
    else:
        calls = steady_run_calls(per_region, QUIET, events=events, renewed=renewal_bound(2 * n))
    return sum(calls.values()) + _cost_checks(per_region)


def cold_run_budget(per_region: PerRegion, first_ever: bool, dashboard_pages: int, events: int = 0) -> int:
    """Upper bound of calls of a cold run (alarm writes not counted)."""
    return sum(cold_run_calls(per_region, first_ever, dashboard_pages, events=events).values()) + _cost_checks(
        per_region)
