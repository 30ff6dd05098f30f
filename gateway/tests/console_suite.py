"""The running suite the console's browser tests drive (each module starts its own, once): every service as its own
process, the gateway in front, the demo loaded and the demo accounts made — as `./dev up --demo` runs it — on
ports, databases and topics of its own; and the steps every browser test takes (sign in, visit, submit, check
that a page fits a 1366-pixel screen)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.browser import VIEWPORT
from devtools.demo import GatewayAccess, load_demo
from devtools.demo_accounts import DEMO_PASSWORD, create_demo_accounts
from devtools.demo_clients import start_gateway
from devtools.embedded import database_url, drop_database, free_port
from devtools.runner import Infrastructure, ServiceProcess, start_services
from kernel.service import discover_services

PEOPLE = 100  # the smallest demo with leads in Hohhot's districts


@dataclass
class Suite:
    url: str
    files: Path  # the demo's CSV files


@pytest.fixture(scope="module")
def suite(infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """The suite as `./dev up --demo` runs it, on ports, databases and topics of its own, with the demo accounts."""
    specs = discover_services()
    front = specs.pop("gateway")
    home = tmp_path_factory.mktemp("console")
    data = home / ".data"
    (data / "logs").mkdir(parents=True)
    run = uuid.uuid4().hex[:8]
    prefix = f"test_console_{run}_"
    options: dict[str, Any] = {
        "database_prefix": prefix,
        "log_dir": data / "logs",
        "extra_env": {"KAFKA_TOPIC_PREFIX": f"console{run}.", "OUTBOX_POLL_SECONDS": "0.2"},
        "ports": {name: free_port() for name in [*specs, front.name]},
        "say": lambda _: None,
    }
    processes: list[ServiceProcess] = []
    try:
        started = time.monotonic()
        processes += start_services(infra, specs.values(), **options)
        gateway, secrets = start_gateway(infra, front, processes, clients_path=data / "demo-clients.json", **options)
        processes.append(gateway)
        with open(data / "demo.log", "w") as said, contextlib.redirect_stdout(said):
            load_demo(processes, people=PEOPLE, files=data / "demo",
                      gateway=GatewayAccess.of_demo_clients(gateway.url, secrets))  # fmt: skip
        create_demo_accounts(database_url(infra.server_url, prefix + "gateway"), data / "demo-accounts.json")
        print(f"console suite ready in {time.monotonic() - started:.1f}s")
        yield Suite(gateway.url, data / "demo")
    finally:
        for process in reversed(processes):
            process.stop()
        for name in [*specs, front.name]:
            asyncio.run(drop_database(infra.server_url, prefix + name))


async def sign_in(page, username: str) -> None:
    page.set_default_timeout(10_000)
    await page.goto("/console/login")
    await page.fill("#username", username)
    await page.fill("#password", DEMO_PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert page.url.endswith("/console/"), page.url


async def fits(page) -> None:
    """The page as loaded fits a 1366-pixel-wide screen: no horizontal scroll."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"{page.url} is {width}px wide"


async def visit(page, path: str) -> None:
    await page.goto(path)
    await fits(page)
    assert "Traceback" not in await page.content()


async def submit(page, selector: str) -> None:
    async with page.expect_navigation():
        await page.click(selector)
    await fits(page)
