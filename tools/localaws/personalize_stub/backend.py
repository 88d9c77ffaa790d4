"""The whole backend without HTTP: the AWS operations and the control API on one shared core."""

from __future__ import annotations

from tools.localaws.personalize_stub.control import ControlApi
from tools.localaws.personalize_stub.operations import ApiOperations


class PersonalizeBackend(ApiOperations, ControlApi):
    """State, life cycles, faults and both APIs (AWS wire protocol + control), without HTTP.

    Thread safe: every public method takes one re-entrant lock. The parts, each in its module:
    :class:`~tools.localaws.personalize_stub.core.BackendCore` (state, wire protocol, look-ups,
    transitions), :class:`~tools.localaws.personalize_stub.operations.ApiOperations` (the AWS
    operations), :class:`~tools.localaws.personalize_stub.control.ControlApi` and
    :class:`~tools.localaws.personalize_stub.creation.ResourceCreation` (the control API).
    """
