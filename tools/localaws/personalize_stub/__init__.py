"""Local stand-in for the Amazon Personalize *control-plane* API (test tooling only).

moto has no Personalize backend, so this module provides one: a standard-library HTTP server
on 127.0.0.1 that unmodified boto3 code reaches through ``endpoint_url=...`` or
``AWS_ENDPOINT_URL_PERSONALIZE=http://127.0.0.1:PORT``. botocore's own service model
(``botocore.session.get_session().get_service_model("personalize")``) is the source of truth
for every operation, member name, constraint and response shape used here.

Wire protocol (awsJson1_1, as the real service)
-----------------------------------------------
* ``POST /`` with ``X-Amz-Target: AmazonPersonalize.<Operation>`` and a JSON body; JSON
  responses with ``Content-Type: application/x-amz-json-1.1`` and an ``x-amzn-RequestId``.
* Timestamps are epoch seconds (JSON numbers).
* Errors: HTTP 400 (403 for authentication problems) with ``{"__type": CODE, "message": ...}``
  and the same code in the ``x-amzn-ErrorType`` header, so botocore raises ``ClientError``
  with ``Error.Code == CODE`` (``ThrottlingException`` is retried by botocore's retry modes).
* Caller: the region comes from the SigV4 credential scope
  (``Credential=AKID/DATE/REGION/personalize/aws4_request``); the account from
  ``account_resolver(access_key_id)`` (default: the key itself when it is 12 digits, else
  ``123456789012``; a resolver raising ``LookupError``/``ValueError`` yields 403
  ``UnrecognizedClientException``). No ``Authorization`` header -> 403
  ``MissingAuthenticationTokenException``; a scope for another service -> 403
  ``InvalidSignatureException``. The signature itself is *not* verified.

Operations
----------
ListCampaigns, DescribeCampaign, UpdateCampaign, DeleteCampaign, ListRecommenders,
DescribeRecommender, UpdateRecommender, StopRecommender, StartRecommender,
DescribeSolutionVersion, DescribeSolution, ListDatasetGroups, DescribeDatasetGroup,
ListTagsForResource, TagResource, UntagResource. Every other target (including real
Personalize operations this stub does not implement) -> 400 ``UnknownOperationException``.

Modelled behaviour
------------------
* Input validation from the model: required members, string length, integer/double ranges
  (e.g. ``maxResults`` 1-100), list/map sizes, enums and patterns -> ``InvalidInputException``
  (AWS "N validation errors detected: ..." message); JSON of the wrong type ->
  ``SerializationException``. Unknown members are ignored. Responses are projected through
  the model's output shapes, so only real member names are ever returned.
* State is partitioned by (account, region): resources of another account or region are
  invisible to List* and give ``ResourceNotFoundException`` to Describe/Update/Delete/Tag
  (as calling a different regional endpoint would). A malformed ARN, or an ARN of the wrong
  resource type (a recommender ARN given to DescribeCampaign), -> ``InvalidInputException``.
* ARNs: ``arn:{partition}:personalize:{region}:{account}:campaign/{name}``, ``recommender/``,
  ``dataset-group/``, ``solution/{name}`` and ``solution/{name}/{versionId}`` (8 hex digits by
  default). Partition ``aws-cn`` for ``cn-*``, ``aws-us-gov`` for ``us-gov-*``, ``aws-iso*``
  for the ISO regions, else ``aws``.
* Pagination: stable ordering by ARN; ``maxResults`` defaults to 100; ``nextToken`` is an
  opaque HMAC-signed token bound to the operation, caller and filter. A forged, garbled or
  foreign token -> ``InvalidNextTokenException`` (the error the model declares for the List
  operations), not InvalidInputException.
* Life cycles (statuses exactly as the model documents them):
  - create (control API only): ``CREATE PENDING > CREATE IN_PROGRESS > ACTIVE``, or created
    directly in any stable status (``ACTIVE`` by default, ``CREATE FAILED``, ...).
  - UpdateCampaign: allowed when the campaign is ``ACTIVE`` or ``CREATE FAILED`` (the
    documented precondition) and nothing is in progress. ``latestCampaignUpdate`` carries the
    target solutionVersionArn/minProvisionedTPS/campaignConfig and goes
    ``<P> PENDING > <P> IN_PROGRESS > ACTIVE``; only then are the values applied to the
    campaign and its ``lastUpdatedDateTime`` bumped (the campaign keeps serving the old
    configuration meanwhile, and its own status stays ``ACTIVE``). ``<P>`` is ``CREATE`` by
    default because the model documents the update-summary states as ``CREATE PENDING >
    CREATE IN_PROGRESS > ACTIVE``; set ``update_status_prefix="UPDATE"`` for ``UPDATE
    PENDING``/``UPDATE IN_PROGRESS``. A ``campaignConfig`` sent replaces the stored one; an
    omitted member keeps the current value.
  - DeleteCampaign: the campaign's status goes ``DELETE PENDING > DELETE IN_PROGRESS`` and
    then it is gone (Describe -> ResourceNotFoundException, List omits it). If the campaign
    has a ``latestCampaignUpdate`` its status mirrors the DELETE states too (the model lists
    them for the update summary as well).
  - UpdateRecommender: requires ``ACTIVE``; ``recommenderConfig`` is *replaced* by what was
    sent (callers must send the full config, as with the real API), via
    ``latestRecommenderUpdate`` with the same life cycle as a campaign update.
  - StopRecommender: ``ACTIVE`` -> ``STOP PENDING > STOP IN_PROGRESS > INACTIVE``;
    StartRecommender: ``INACTIVE`` -> ``START PENDING > START IN_PROGRESS > ACTIVE``.
    Stopping a recommender that is not ACTIVE, starting one that is not INACTIVE, and any
    update/delete/stop/start while a create/update/delete/stop/start is in progress ->
    ``ResourceInUseException`` (the only state error the model declares for them).
* Transition timing: a pending transition advances one step each time
  ``transition_delay_seconds`` of wall-clock (monotonic) time has passed since its previous
  step. With the default 0.0 the transient statuses are skipped: the next read shows the
  final state. ``settle()`` completes every pending transition at once. Timestamps written
  by transitions come from the stub clock: real time unless overridden (``set_clock``).
* Tags on every modelled resource: at most 50 per resource (``TooManyTagsException``); keys
  starting with ``aws:`` are reserved (``InvalidInputException``).
* Faults and measurement (process wide): ``throttle_rate`` in 0..1 (optionally only for
  ``throttle_operations``; seedable via ``throttle_seed``) -> 400 ``ThrottlingException``;
  ``latency_ms`` slept before every API response (errors included); a call counter per
  (account, region, operation), counting throttled attempts too.

Simplifications
---------------
* No Create* API operations: resources are created through the control API below (with an
  arbitrary status and timestamps). DeleteRecommender, datasets, filters, etc. are absent.
* A solution version needs its solution; the control API auto-creates the solution when it
  is referenced by name. ``latestSolutionVersion`` of a solution is derived from its most
  recently created version. ``SolutionArn/$LATEST`` is accepted by UpdateCampaign when the
  solution exists and stored verbatim.
* Signatures, IAM, service quotas and the data plane (GetRecommendations) are not modelled.

Control API (not part of AWS; plain JSON over HTTP on the same port)
--------------------------------------------------------------------
``POST /_stub/dataset-groups | solutions | solution-versions | campaigns | recommenders``
(body: ``account``, ``region``, ``name``, optional ``status``, ``creationDateTime``,
``lastUpdatedDateTime``, ``failureReason``, ``tags`` (dict or Tag list) and any member of the
resource's describe shape, e.g. ``solutionVersionArn``, ``minProvisionedTPS``,
``campaignConfig``; solution versions also take ``solutionName`` / ``solutionArn`` and
``versionId``) -> ``{"arn": ..., "resource": {...}}``; ``POST /_stub/set-status``;
``POST /_stub/settle``; ``GET|POST /_stub/config``; ``GET|POST /_stub/clock``;
``GET /_stub/calls``; ``POST /_stub/calls/reset``; ``POST /_stub/reset`` (wipes resources and
counters and restores the launch config and the real clock; ``{"keep_config": true}`` keeps
them); ``GET /_stub/state``; ``GET /_stub/health``. :class:`PersonalizeStubControl` wraps them.
Control errors are ``{"error": message}`` with 400 (bad input), 404 (unknown reference) or 409
(already exists).

Entry points: :class:`PersonalizeStub` (embed in-process: ``start()`` -> endpoint URL, runs
in a daemon thread) and ``python -m tools.localaws.personalize_stub --port 0 --ready-file
PATH`` (writes ``{"endpoint": URL, "pid": N}`` to PATH once listening).

Modules
-------
``model`` (constants, resource kinds, ARNs, botocore's model), ``validation`` (errors,
model-driven validation and projection), ``state`` (config, clock and resource records),
``core`` (state, wire protocol, look-ups, transitions), ``operations`` (the AWS operations and
their pagination), ``control`` + ``creation`` (the control API), ``backend``
(:class:`PersonalizeBackend`, all of the above), ``httpserver`` (:class:`PersonalizeStub`),
``client`` (:class:`PersonalizeStubControl`), ``cli`` (the command line).
"""

from __future__ import annotations

from tools.localaws.personalize_stub.backend import PersonalizeBackend
from tools.localaws.personalize_stub.cli import main
from tools.localaws.personalize_stub.client import UNSET, CallRecord, PersonalizeStubControl
from tools.localaws.personalize_stub.httpserver import PersonalizeStub
from tools.localaws.personalize_stub.model import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    build_arn,
    default_account_resolver,
    parse_arn,
    partition_for_region,
)
from tools.localaws.personalize_stub.state import ApiResponse, StubConfig
from tools.localaws.personalize_stub.validation import ApiError, StubControlError

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "UNSET",
    "ApiError",
    "ApiResponse",
    "CallRecord",
    "PersonalizeBackend",
    "PersonalizeStub",
    "PersonalizeStubControl",
    "StubConfig",
    "StubControlError",
    "build_arn",
    "default_account_resolver",
    "main",
    "parse_arn",
    "partition_for_region",
]
