"""The monitor's API-call budget per steady-state run, as documented in the README.

For a region r with C_r monitored campaigns and R_r recommenders (N = sum of both):

    List:          ceil(C_r / 100) + ceil(R_r / 100)          per region (at least 1 each)
    GetMetricData: ceil((C_r + R_r) / 500)                    per region with resources
    cost checks:   <= 2 GetMetricData                         per region with resources due this run
    PutMetricData: ceil((3 N + 2) / 1000)                     in the home region
    DescribeAlarms: ceil((2 N + 12) / 100)                    in the home region (one listing by the name
                                                              prefix, which also finds the module's 12
                                                              Terraform-owned alarms), only in a
                                                              run whose container's listing is an hour
                                                              old or when the wanted alarms changed
    SendMessageBatch / PutEvents: ceil(messages / 10)         only when a run decides something: the
                                                              commands to each action function's queue,
                                                              and the dashboard rebuild request on the bus

Describes happen only for new or changed campaigns; alarm writes only for missing or changed
alarms; neither occurs in a steady state.
"""

from __future__ import annotations

import math
from typing import Mapping, Tuple

# Terraform-owned alarms under the same name prefix: Errors and Throttles of the 5 functions,
# the monitor's RunErrors, the dead-letter queue's alarm (alarms.tf).
MODULE_ALARMS = 12


def steady_state_budget(per_region: Mapping[str, Tuple[int, int]], events: int = 0, listing: bool = True) -> int:
    """Upper bound of calls for ``{region: (campaigns, recommenders)}`` (``listing``: the run
    lists the alarms, as one run an hour does)."""
    total = 0
    n = 0
    for campaigns, recommenders in per_region.values():
        n += campaigns + recommenders
        total += max(1, math.ceil(campaigns / 100)) + max(1, math.ceil(recommenders / 100))
        if campaigns + recommenders:
            total += math.ceil((campaigns + recommenders) / 500) + 2
    total += math.ceil((3 * n + 2) / 1000)
    if listing:
        total += math.ceil((2 * n + MODULE_ALARMS) / 100)
    total += math.ceil(events / 10)  # (per destination; the unit test's runs decide nothing)
    return total
