"""``warmstate.forget()`` is a cold start: after it, every module-level value of the layer and of
the handler modules is what a freshly started interpreter has (a cache it missed fails here)."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import threading
from types import ModuleType
from typing import Any

import personalize_monitor
from personalize_monitor import discovery, warmstate

from tests.support.functions import load_function
from tools.fleet import Fleet
from tools.localaws import ROOT, LocalAWS

HOME = "us-east-1"
ROLES = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / f"{p.name}.py").is_file())
_LOCKS = (type(threading.Lock()), type(threading.RLock()))


def layer_modules() -> list[ModuleType]:
    names = sorted(m.name for m in pkgutil.iter_modules(personalize_monitor.__path__))
    return [importlib.import_module(f"personalize_monitor.{name}") for name in names]


def shape(value: Any, depth: int = 0) -> Any:
    """A comparable picture of a value (containers and plain objects by content, the rest by type)."""
    if depth > 6:
        return "..."
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [shape(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(json.dumps(shape(v, depth + 1), sort_keys=True, default=str) for v in value)
    if isinstance(value, dict):
        return {str(k): shape(v, depth + 1) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, _LOCKS):
        return "<lock>"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "__dict__") and type(value).__module__.startswith(("personalize_monitor", "pm_function_")):
        return {"<type>": type(value).__name__, **{k: shape(v, depth + 1) for k, v in sorted(vars(value).items())}}
    return f"<{type(value).__name__}>"


def module_state(module: ModuleType) -> dict[str, Any]:
    """The module's global values, without what never changes at run time (code, loggers, types)."""
    out: dict[str, Any] = {}
    for name, value in sorted(vars(module).items()):
        if name.startswith("__") or isinstance(value, ModuleType) or callable(value):
            continue
        if type(value).__name__ in ("Logger", "_SpecialForm", "_GenericAlias", "TypeVar"):
            continue
        out[name] = shape(value)
    return out


def snapshot(handlers: dict[str, ModuleType]) -> dict[str, Any]:
    state = {m.__name__: module_state(m) for m in layer_modules()}
    state.update({f"functions/{role}": module_state(module) for role, module in handlers.items()})
    return state


FRESH = """
import json, sys
sys.path[:0] = [{root!r}]
from tests.unit.test_warmstate import ROLES, snapshot
from tests.support.functions import load_function
print(json.dumps(snapshot({{role: load_function(role) for role in ROLES}})))
"""


def fresh_snapshot() -> dict[str, Any]:
    """The same picture from a new interpreter that only imported the modules."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "functions/layer/python"), str(ROOT)]))
    done = subprocess.run([sys.executable, "-c", FRESH.format(root=str(ROOT))], env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


class Context:
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:PersonalizeMonitor-monitor"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def test_forget_leaves_what_a_cold_start_has(aws: LocalAWS, monkeypatch: Any) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    fleet = Fleet(aws, now)
    group = fleet.dataset_group(HOME, "retail")
    shop = fleet.campaign(HOME, group, "shop", min_tps=3, created_hours_ago=48)
    fleet.recommender(HOME, group, "vod", min_rps=2, created_hours_ago=48)
    # Traffic in the windows the monitor reads: its warm cache learns the campaign's request metric.
    epoch = int(now.timestamp())
    fleet.traffic(shop, {dt.datetime.fromtimestamp(epoch - epoch % 300 - 300 * back, dt.timezone.utc): 300
                         for back in range(1, 4)})
    for key, value in {"AWS_REGION": HOME, "PM_DASHBOARD_NAME": "Dash", "PM_AUTO_ADJUST_MIN_TPS": "true"}.items():
        monkeypatch.setenv(key, value)
    handlers = {role: load_function(role) for role in ROLES}
    # Warm every cache the way containers do: the monitor twice, a dashboard build, an action.
    for _ in range(2):
        assert handlers["monitor"].lambda_handler({}, Context())["monitored"] == 2
    assert handlers["dashboard"].lambda_handler({}, Context())["status"] == "built"
    handlers["update_tps"].lambda_handler({"ARN": shop.arn, "NewMinTPS": 2}, Context())
    warm = snapshot(handlers)
    assert discovery.CACHE.request_metrics, "the warm-up proved no campaign's request metric"

    warmstate.forget()
    cold = snapshot(handlers)
    fresh = fresh_snapshot()
    assert warm != fresh  # the warm-up did fill caches (else this test proves nothing)
    differing = {module: sorted(k for k in fresh[module] if cold[module].get(k) != fresh[module][k])
                 for module in fresh if cold.get(module) != fresh[module]}
    assert differing == {}, f"forget() left warm state in: {differing}"
