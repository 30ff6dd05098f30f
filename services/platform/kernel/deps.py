"""What a route names to get what it needs: the runtime, the verified caller and its regions, a database
connection.

A route takes `DbConnection` (reads) or `DbTransaction` (writes, committed before the response is
sent: a client never sees a success that did not commit) and passes it to the service's query or
use-case functions; it never opens a connection itself. Both are asyncpg connections drawn from
the service's pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Query, Request

from kernel.credentials import Caller
from kernel.db import driver_connection
from kernel.errors import DomainError
from kernel.scope import RegionScope
from kernel.service import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def _connection(runtime: RuntimeDep) -> AsyncIterator[asyncpg.Connection]:
    async with runtime.db.engine.connect() as conn:
        yield await driver_connection(conn)


async def _transaction(runtime: RuntimeDep) -> AsyncIterator[asyncpg.Connection]:
    async with runtime.db.engine.begin() as conn:
        yield await driver_connection(conn)


# scope="function": the connection goes back (and the transaction commits) before the response is sent.
DbConnection = Annotated[asyncpg.Connection, Depends(_connection, scope="function")]
DbTransaction = Annotated[asyncpg.Connection, Depends(_transaction, scope="function")]


def get_caller(request: Request) -> Caller:
    """The verified caller (kernel.credentials.CredentialsMiddleware put it there)."""
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):  # a route outside the middleware's reach: refuse, never guess
        raise DomainError("no verified caller", loc=["header", "authorization"], error_type="unauthorized")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def region_scope(caller: CallerDep) -> RegionScope:
    return RegionScope.of(caller.regions)


RegionScopeDep = Annotated[RegionScope, Depends(region_scope)]

# A `region_code` query filter: the region and everything under it (000000: every region).
RegionCode = Annotated[str, Query(pattern=r"^\d{6}$", description="region and everything under it")]
