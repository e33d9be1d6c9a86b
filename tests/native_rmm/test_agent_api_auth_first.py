"""The agent API authenticates before it parses (issue 8, item 9): a bad credential is 401 whatever the body.

And it keeps its own, larger protocol cap: the hub-wide body limit (item 5) does not apply here.
"""

from __future__ import annotations

import pytest

from agent.protocol import (
    CHECKIN_PATH,
    COMMAND_RESULT_PATH,
    COMMAND_STATUS_PATH,
    DEREGISTER_PATH,
    PROTOCOL_HEADER,
    AgentApiError,
    ErrorCode,
)
from native_rmm.agent_api.schemas import CREDENTIAL_ROTATE_PATH
from native_rmm.testing.agentsim import SimAgent

PATHS = [CHECKIN_PATH, COMMAND_STATUS_PATH, COMMAND_RESULT_PATH, DEREGISTER_PATH, CREDENTIAL_ROTATE_PATH]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("headers", [{}, {PROTOCOL_HEADER: "not-a-number"}], ids=["protocol ok", "bad protocol"])
async def test_bad_credential_with_malformed_body_is_401(agent: SimAgent, path: str, headers: dict[str, str]) -> None:
    wrong = {"Authorization": "Bearer rmd_wrong"} | headers
    response = await agent.post(path, b"{not json", headers=wrong)
    assert response.status_code == 401, response.text
    assert AgentApiError.model_validate_json(response.content).code is ErrorCode.INVALID_CREDENTIAL


@pytest.mark.parametrize("path", [CHECKIN_PATH, COMMAND_STATUS_PATH, COMMAND_RESULT_PATH, DEREGISTER_PATH])
async def test_good_credential_with_malformed_body_is_still_400(agent: SimAgent, path: str) -> None:
    response = await agent.post(path, b"{not json")
    assert response.status_code == 400, response.text
    assert AgentApiError.model_validate_json(response.content).code is ErrorCode.MALFORMED_PAYLOAD


async def test_the_agent_api_keeps_its_own_larger_cap(agent: SimAgent) -> None:
    response = await agent.post(CHECKIN_PATH, b" " * (2 * 1024 * 1024))
    assert response.status_code == 400
    assert AgentApiError.model_validate_json(response.content).code is ErrorCode.MALFORMED_PAYLOAD
