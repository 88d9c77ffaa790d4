"""Estimated monthly savings of a cost action (an estimate, never a billing figure).

Billing model (Amazon Personalize price list, https://aws.amazon.com/personalize/pricing/):
* a campaign is billed per TPS-hour on the higher of its minProvisionedTPS and the actual TPS
  (average requests per second in each 5-minute window);
* a recommender is billed on the higher of its minimum requests per hour (from
  minRecommendationRequestsPerSecond) and the actual requests in the hour. Here that is counted
  in RPS-hours: one request per second for one hour = 3,600 requests.

So each hour costs ``price x max(minimum, actual rate)``. Lowering the minimum from ``old`` to
``new`` saves ``price x (max(old, a) - max(new, a))`` in an hour with actual rate ``a``; the
estimate averages that over the hourly request rates of the look-back (the last 14 days) and
scales it to a month of 730 hours. Without a history it assumes traffic never exceeds the new
minimum: ``(old - new) x 730 x price``. Deleting an idle campaign or stopping an idle
recommender saves ``minimum x 730 x price`` (idle: billed at its minimum every hour).
Hourly averages hide peaks inside an hour, so a campaign's real saving can be lower.
"""

from __future__ import annotations

from typing import Optional, Sequence

from . import arns
from .config import Settings

HOURS_PER_MONTH = 730.0


def unit_price(settings: Settings, kind: str) -> float:
    """USD per TPS-hour (campaign) or per RPS-hour (recommender)."""
    return settings.price_per_tps_hour if kind == arns.KIND_CAMPAIGN else settings.price_per_rps_hour


def unit(kind: str) -> str:
    return "TPS" if kind == arns.KIND_CAMPAIGN else "RPS"


def capacity_change(
    old_min: int, new_min: int, price: float, hourly_rates: Optional[Sequence[float]] = None
) -> float:
    """Estimated monthly saving (USD, negative for a raise) of moving the minimum old -> new."""
    rates = list(hourly_rates or ())
    # Without a history: traffic assumed never above the new minimum.
    per_hour = sum(max(old_min, a) - max(new_min, a) for a in rates) / len(rates) if rates else float(old_min - new_min)
    return round(per_hour * HOURS_PER_MONTH * price, 2)


def removal(min_capacity: int, price: float) -> float:
    """Estimated monthly saving (USD) of deleting/stopping an idle resource billed at its minimum."""
    return round(min_capacity * HOURS_PER_MONTH * price, 2)


def describe(amount: float, kind: str, price: float) -> str:
    """The sentence notifications carry (always says 'estimate')."""
    verb = "saving" if amount >= 0 else "additional cost"
    return (
        f"Estimated monthly {verb}: USD {abs(amount):,.2f} (an estimate at USD {price:g} per "
        f"{unit(kind)}-hour over {HOURS_PER_MONTH:g} hours; not a billing figure, see your AWS bill)."
    )
