"""A replaced socket's disconnect, landing in the middle of its replacement's connect, loses nothing.

The old socket's disconnect is ``ws_connected=False`` where the connection id is still its own. It is
made to commit, on a connection of its own, just before the replacement's connect writes the device:
the replacement must still end connected. (Its connect once set loaded ORM attributes; the ORM left
``ws_connected``, read as True, out of the UPDATE, and the device stayed disconnected.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update

from agent.protocol import PROTOCOL_VERSION
from hub.core.db import Database
from native_rmm.agent_api.ws import AgentSocket
from native_rmm.commands.push import AgentConnection
from native_rmm.models.devices import Device
from native_rmm.plane import DevicePlane
from native_rmm.testing.agentsim import SimAgent
from tests.conftest import Tenancy

OLD, NEW = "old-connection", "new-connection"


async def _nothing(*_: Any) -> None:
    return None


async def test_old_disconnect_committed_mid_connect_leaves_the_new_socket_connected(
    plane: DevicePlane, agent: SimAgent, db: Database, tenancy: Tenancy
) -> None:
    device_id = agent.device_id or 0
    async with db.transaction() as session:
        await session.execute(
            update(Device).where(Device.id == device_id).values(ws_connected=True, ws_connection_id=OLD)
        )
    engine = plane.db.engine.sync_engine  # the hub's own engine (the db fixture is another handle on the database)
    interleaved: list[str] = []

    def old_socket_disconnects(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if interleaved or not statement.lstrip().upper().startswith("UPDATE RMM_DEVICES"):
            return
        interleaved.append(statement)
        with engine.begin() as other:  # its own connection, committed before the connect's write
            other.execute(
                update(Device).where(Device.id == device_id, Device.ws_connection_id == OLD).values(ws_connected=False)
            )

    conn = AgentConnection(device_id=device_id, org_id=tenancy.org_id, connection_id=NEW, send=_nothing, close=_nothing)
    event.listen(engine, "before_cursor_execute", old_socket_disconnects)
    try:
        await AgentSocket(plane, websocket=None)._connected(conn, PROTOCOL_VERSION)  # type: ignore[arg-type]
    finally:
        event.remove(engine, "before_cursor_execute", old_socket_disconnects)

    assert interleaved, "the connect wrote no device row"
    async with db.transaction() as session:
        row = (
            await session.execute(select(Device.ws_connected, Device.ws_connection_id).where(Device.id == device_id))
        ).one()
    assert tuple(row) == (True, NEW)
