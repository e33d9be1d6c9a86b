"""The whole OpenAPI fuzzed with schemathesis against a live hub on loopback, as an admin (issue 8, item 12).

Every operation gets a bounded number of generated requests (fixed seed: the same requests every
run). Required: no server error, every response matching its documented schema and status, and
no schema-valid request rejected (400/422). Operations that would dial out are excluded, each
with its reason. The counts are printed in pytest's terminal summary (section ``schemathesis``).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LiveServer, Tenancy

EXAMPLES = int(os.environ.get("RMMHUB_FUZZ_EXAMPLES", "12"))
SEED = 20261201
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    positive_data_acceptance,
]
#: Operations left out, each with why.
EXCLUDED = {
    "POST /api/v1/integrations/connectwise-rmm": "connects to ConnectWise's cloud (internet); covered by respx tests",
    "POST /api/v1/integrations/connectwise-rmm/rediscover": "calls ConnectWise's cloud when connected",
    "POST /api/v1/integrations/checkmk": "dials the Checkmk site named in the body (any host); covered by the "
    "loopback contract tests (tests/connectors/checkmk)",
    "POST /api/v1/rmm/monitors/{monitor_id}/run": "runs a check against the monitor's target host (any address)",
    "POST /api/v1/auth/logout": "would end the admin session the fuzz runs as",
}
#: Operations whose body has rules across fields that a JSON schema does not express: a schema-valid
#: body may break them, and then 422 or 400 (naming the rule) is the answer. Every other check still runs.
CROSS_FIELD_RULES = {
    "POST /api/v1/rmm/monitors": "the target must fit the kind (a URL for http, a host for ping and tls)",
    "PUT /api/v1/rmm/monitors/{monitor_id}": "the target must fit the stored kind; required fields cannot be cleared",
    "POST /api/v1/rmm/scripts": "parameters is itself a JSON schema (rmmhub's subset); cmd scripts only on Windows",
    "PUT /api/v1/rmm/scripts/{script_id}": "as for creating a script; required fields cannot be cleared",
    "PUT /api/v1/rmm/thresholds": "each warning level must lie below its critical level",
    "PUT /api/v1/rmm/thresholds/customers/{customer_id}": "as for the organisation's set: warning below critical",
    "POST /api/v1/notifications/channels": "an email channel needs its SMTP settings and real addresses; a webhook its URL",
    "PUT /api/v1/notifications/channels/{channel_id}": "the settings must fit the stored kind (SMTP or a URL)",
    "POST /api/v1/rmm/installers": "RustDesk cannot go with quick-support; a RustDesk key needs its ID server",
    "PUT /api/v1/rmm/installers/{installer_id}/rustdesk": "a RustDesk key needs the ID server it belongs to",
    "PATCH /api/v1/rmm/customers/{customer_id}": "a change needs a new name and/or archived",
    "PATCH /api/v1/rmm/sites/{site_id}": "a change needs a new name and/or archived",
    "POST /api/v1/rmm/devices/move": "targets name the devices in exactly one way (device_ids, tag, group, site, customer)",
    "POST /api/v1/rmm/devices/tags": "targets in exactly one way, and tags to add and/or remove",
    "POST /api/v1/rmm/groups": "a group's filter needs at least one criterion",
    "POST /api/v1/rmm/patch-policies": "the crontab line must parse, the time zone must exist, the scope must name "
    "a customer, site or group of the organisation (unknown scope: 422)",
    "PUT /api/v1/rmm/patch-policies/{policy_id}": "as for creating a patch policy",
}


@dataclass
class Tally:
    """What the fuzz sent and saw, per operation."""

    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _run_operation(operation: schemathesis.APIOperation, base_url: str, token: str, tally: Tally) -> None:
    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        tally.calls[operation.label] += 1
        tally.statuses[response.status_code] += 1
        checks = CHECKS
        if response.status_code in (400, 422) and operation.label in CROSS_FIELD_RULES:
            checks = [c for c in CHECKS if c is not positive_data_acceptance]
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                tally.failures.append(f"{operation.label} -> {response.status_code}: {failure.title}")

    fuzz()


@pytest.mark.slow
def test_the_api_fuzzes_clean(live_server: LiveServer, tenancy: Tenancy, fuzz_report: list[str]) -> None:
    # The first /openapi.json builds every route's schema: seconds of CPU, more than httpx's default 5 s on a
    # loaded machine. The same 30 s as each fuzzed call.
    openapi = httpx.get(f"{live_server.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(openapi)
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if operation.label not in EXCLUDED:
            _run_operation(operation, live_server.url, tenancy.admin.token, tally)
    failures = sorted(set(tally.failures))
    backend = live_server.settings.database_kind
    fuzz_report.append(
        f"[{backend}] {len(operations) - len(EXCLUDED)} operations fuzzed ({len(EXCLUDED)} excluded), "
        f"{sum(tally.calls.values())} requests (seed {SEED}, up to {EXAMPLES} per operation), "
        f"statuses {dict(sorted(tally.statuses.items()))}, {len(failures)} failures "
        f"(server errors, schema violations, undocumented statuses, rejected valid requests)"
    )
    labels = {op.label for op in operations}
    assert set(EXCLUDED) | set(CROSS_FIELD_RULES) <= labels, "a listed operation no longer exists"
    assert not failures, "\n".join(failures)
