"""Checks docker-compose.yml, deploy/Dockerfile and their companions by reading them.

No Docker engine runs on the build machines, so these tests stand in for `docker compose up`:
they parse the compose file, resolve its `${VAR}` references the way compose does, and compare
what it sets with the settings the services actually read.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from kernel.credentials import public_key_of
from kernel.service import discover_services
from kernel.settings import Environment, ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
INIT_DATABASES = ROOT / "deploy" / "postgres" / "init-databases.sh"

SECRETS = (
    "PSEUDONYM_PEPPER",
    "ENCRYPTION_KEYS",
    "ENCRYPTION_ACTIVE_KEY_ID",
    "POSTGRES_PASSWORD",
    "TOKEN_SIGNING_KEY",
    "GATEWAY_CLIENTS_PATH",
    "CALLER_SIGNING_KEY",
    "CALLER_VERIFY_KEY",
    "SERVICE_CREDENTIAL_SECRET",
)
# Of those, the ones whose value is secret (or deployment-specific): the example must leave them blank.
SECRET_VALUES = (
    "PSEUDONYM_PEPPER", "ENCRYPTION_KEYS", "POSTGRES_PASSWORD", "TOKEN_SIGNING_KEY", "CALLER_SIGNING_KEY",
    "CALLER_VERIFY_KEY", "SERVICE_CREDENTIAL_SECRET",
)  # fmt: skip
# The one container reachable from outside the compose network.
PUBLIC_SERVER = "gateway"
# Names the app may read that are not settings fields (the CLI reads PORT itself).
NON_SETTINGS_VARIABLES = {"PORT"}
# A service's database is named after it, except where the name is an SQL keyword.
DATABASE_OF_SERVICE = {"case": "cases"}


# ---- compose's variable interpolation, the subset this file may use --------------------------
#
# Compose parses the YAML first (anchors and merges included), then interpolates the string
# values, so a `${...}` in a comment is not a reference. These helpers do the same.

# `$$` is a literal dollar; `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`,
# `${NAME?message}` and bare `$NAME` are references. Anything else that starts with `${` is left
# in place, so the "no unresolved ${" check below catches forms this code does not understand.
_REFERENCE = re.compile(
    r"\$\$"
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class MissingVariable(Exception):
    """Compose would refuse the file: a required variable is unset (or blank, for `:?`)."""


def strings_in(node: object) -> list[str]:
    """Every string value in a parsed compose document (mapping keys are not interpolated)."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings_in(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings_in(item)]
    return [node] if isinstance(node, str) else []


def references(document: object) -> list[tuple[str, str | None, str]]:
    """Every (name, operator, argument) reference in a parsed compose document."""
    return [
        (m["name"] or m["bare"], m["op"], m["arg"] or "")
        for text in strings_in(document)
        for m in _REFERENCE.finditer(text)
        if m[0] != "$$"
    ]


def interpolate_string(text: str, env: dict[str, str]) -> str:
    def substitute(m: re.Match[str]) -> str:
        if m[0] == "$$":
            return "$"
        name, op, arg = m["name"] or m["bare"], m["op"], m["arg"]
        value = env.get(name)
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        if (op == ":?" and not value) or (op == "?" and value is None):
            raise MissingVariable(f"{name}: {arg}")
        if value is None:
            # Compose would substitute "" with a warning; here it is a mistake to catch.
            raise MissingVariable(f"{name} is used without a default and is not in the environment")
        return value

    return _REFERENCE.sub(substitute, text)


def interpolate(node: object, env: dict[str, str]) -> object:
    """The parsed document with every string value interpolated from env."""
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    return interpolate_string(node, env) if isinstance(node, str) else node


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: not NAME=value: {line!r}"
            env[name.strip()] = value.strip()
    return env


def command_of(service: dict) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def database_of(service_name: str) -> str:
    return DATABASE_OF_SERVICE.get(service_name, service_name)


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    """The compose file before interpolation, to see how a value is written."""
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def filled_env(env_example: dict[str, str]) -> dict[str, str]:
    """The example with its blank secrets filled in as an operator would."""
    env = dict(env_example)
    active = env.get("ENCRYPTION_ACTIVE_KEY_ID") or "k1"
    caller_seed = base64.b64encode(bytes(range(32, 64))).decode()  # one pair, as `suite credential-keys` prints
    stand_ins = {
        "POSTGRES_PASSWORD": "test-password",
        "PSEUDONYM_PEPPER": "test-pepper",
        "ENCRYPTION_KEYS": f"{active}:" + base64.b64encode(bytes(range(32))).decode(),
        "ENCRYPTION_ACTIVE_KEY_ID": active,
        "TOKEN_SIGNING_KEY": "test-signing-key-of-at-least-32-bytes",
        "CALLER_SIGNING_KEY": caller_seed,
        "CALLER_VERIFY_KEY": public_key_of(caller_seed),
        "SERVICE_CREDENTIAL_SECRET": "test-service-credential-secret",
    }
    for name, value in stand_ins.items():
        env[name] = env.get(name) or value
    return env


@pytest.fixture(scope="module")
def compose(raw_compose: dict, filled_env: dict[str, str]) -> dict:
    """The compose file as compose sees it once .env is filled in."""
    document = interpolate(raw_compose, filled_env)
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def app_services(compose: dict) -> dict[str, dict]:
    """The containers built from deploy/Dockerfile: migration jobs and servers."""
    apps = {
        name: service
        for name, service in compose["services"].items()
        if isinstance(service.get("build"), dict) and service["build"].get("dockerfile") == "deploy/Dockerfile"
    }
    assert apps, "no service is built from deploy/Dockerfile"
    return apps


def _by_verb(app_services: dict[str, dict], verb: str) -> dict[str, tuple[str, dict]]:
    """{suite service name: (compose service name, compose service)} for `suite <verb> X`."""
    found = {}
    for compose_name, service in app_services.items():
        command = command_of(service)
        if command[:2] == ["suite", verb]:
            assert len(command) == 3, f"{compose_name}: expected `suite {verb} <service>`, got {command}"
            assert command[2] not in found, f"two containers run `suite {verb} {command[2]}`"
            found[command[2]] = (compose_name, service)
    return found


@pytest.fixture(scope="module")
def servers(app_services: dict[str, dict]) -> dict[str, tuple[str, dict]]:
    found = _by_verb(app_services, "serve")
    assert found, "no container runs `suite serve`"
    return found


@pytest.fixture(scope="module")
def migrate_jobs(app_services: dict[str, dict]) -> dict[str, tuple[str, dict]]:
    return _by_verb(app_services, "migrate")


@pytest.fixture(scope="module")
def init_databases() -> set[str]:
    match = re.search(r'^SERVICE_DATABASES="([^"]*)"', INIT_DATABASES.read_text(), re.MULTILINE)
    assert match, 'init-databases.sh no longer declares SERVICE_DATABASES="..."'
    return set(match[1].split())


# ---- the file and its variables ------------------------------------------------------------


def test_compose_file_parses_before_interpolation(raw_compose: dict) -> None:
    assert isinstance(raw_compose.get("services"), dict) and raw_compose["services"]


def test_example_environment_resolves_every_reference(compose: dict) -> None:
    unresolved = [s for s in strings_in(compose) if "${" in s]
    assert not unresolved, f"${{...}} forms this interpolation (and maybe compose) cannot resolve: {unresolved}"
    # What compose would hand to the engine is still a YAML document of the same services.
    assert yaml.safe_load(yaml.safe_dump(compose))["services"].keys() == compose["services"].keys()


def test_env_example_lists_every_variable_the_compose_file_uses(raw_compose: dict, env_example: dict[str, str]) -> None:
    used = {name for name, _, _ in references(raw_compose)}
    assert used, "no ${VAR} references found: is the interpolation regex still right?"
    assert used - env_example.keys() == set()


def test_env_example_ships_no_secret_so_compose_refuses_it_unfilled(
    raw_compose: dict, env_example: dict[str, str]
) -> None:
    for name in SECRET_VALUES:
        assert env_example.get(name) == "", f"{name} must be blank in env.example"
    with pytest.raises(MissingVariable):
        interpolate(raw_compose, env_example)


def test_secrets_are_required_with_a_message_wherever_they_are_used(
    raw_compose: dict, app_services: dict[str, dict]
) -> None:
    refs = references(raw_compose)
    for secret in SECRETS:
        uses = [(op, arg) for name, op, arg in refs if name == secret]
        assert uses, f"{secret} is never taken from the environment"
        for op, arg in uses:
            assert op == ":?" and arg.strip(), f"{secret} must be written ${{{secret}:?message}}"
    # ...and never written into a service as a literal.
    for compose_name in app_services:
        environment = raw_compose["services"][compose_name]["environment"]
        for secret in set(SECRETS) & environment.keys():
            assert str(environment[secret]).startswith(f"${{{secret}:?"), (compose_name, secret)


# ---- the app containers --------------------------------------------------------------------


def settings_class_of(service: dict) -> type[ServiceSettings]:
    """The settings class of the suite service a container runs (`suite serve|migrate NAME`)."""
    return discover_services()[command_of(service)[2]].settings


def settings_of(service: dict) -> ServiceSettings:
    """The settings a container's environment makes (what the service would start with)."""
    environment = service["environment"]
    return settings_class_of(service).model_validate(
        {k.lower(): str(v) for k, v in environment.items() if k not in NON_SETTINGS_VARIABLES}
    )


def test_every_environment_name_is_a_settings_field(app_services: dict[str, dict]) -> None:
    for compose_name, service in app_services.items():
        fields = set(settings_class_of(service).model_fields)
        names = set(service.get("environment", {}))
        assert names, f"{compose_name} has no environment"
        unknown = {n for n in names if n.lower() not in fields and n not in NON_SETTINGS_VARIABLES}
        assert not unknown, f"{compose_name} sets {sorted(unknown)}, which ServiceSettings does not read"


def test_app_environment_makes_valid_production_settings(app_services: dict[str, dict], compose: dict) -> None:
    for compose_name, service in app_services.items():
        settings = settings_of(service)
        assert settings.environment is Environment.production, compose_name
        broker_partitions = int(compose["services"]["kafka"]["environment"]["KAFKA_NUM_PARTITIONS"])
        assert settings.kafka_topic_partitions == broker_partitions, compose_name
        assert (
            settings.kafka_bootstrap_servers
            in compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
        ), f"{compose_name} does not bootstrap from the broker's advertised listener"


def test_producers_are_idempotent(app_services: dict[str, dict]) -> None:
    # acks=all is the producers' own setting (kernel.kafka.make_producer); idempotence is the deployment's.
    for compose_name, service in app_services.items():
        assert settings_of(service).kafka_enable_idempotence, f"{compose_name}: KAFKA_ENABLE_IDEMPOTENCE"


def test_only_the_gateway_holds_the_caller_signing_key(app_services: dict[str, dict]) -> None:
    holders = {command_of(s)[2] for s in app_services.values() if "CALLER_SIGNING_KEY" in s["environment"]}
    assert holders == {PUBLIC_SERVER}, f"the caller credential's signing key reaches {sorted(holders)}"
    verifiers = {command_of(s)[2] for s in app_services.values() if "CALLER_VERIFY_KEY" in s["environment"]}
    assert verifiers == {command_of(s)[2] for s in app_services.values()}, "every service verifies callers"


def test_every_server_is_health_checked_on_readyz(servers: dict[str, tuple[str, dict]]) -> None:
    for compose_name, service in servers.values():
        check = service.get("healthcheck", {})
        assert not check.get("disable"), compose_name
        test = check.get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{compose_name} has no healthcheck"
        assert "/readyz" in " ".join(test), f"{compose_name} should be healthy only when ready"
        assert service.get("restart") == "unless-stopped", compose_name


def test_every_server_waits_for_healthy_infrastructure_and_its_migrations(
    servers: dict[str, tuple[str, dict]], migrate_jobs: dict[str, tuple[str, dict]]
) -> None:
    for name, (compose_name, service) in servers.items():
        depends_on = service.get("depends_on")
        assert isinstance(depends_on, dict), f"{compose_name}: depends_on needs conditions, not a list"
        assert all("condition" in d for d in depends_on.values()), compose_name
        assert depends_on.get("postgres", {}).get("condition") == "service_healthy", compose_name
        assert depends_on.get("kafka", {}).get("condition") == "service_healthy", compose_name
        assert name in migrate_jobs, f"no `suite migrate {name}` job for {compose_name}"
        job_name = migrate_jobs[name][0]
        assert depends_on.get(job_name, {}).get("condition") == "service_completed_successfully", (
            f"{compose_name} must wait for {job_name} to finish"
        )


def test_migration_jobs_run_once_after_postgres_is_healthy(
    migrate_jobs: dict[str, tuple[str, dict]],
) -> None:
    for compose_name, job in migrate_jobs.values():
        assert job.get("restart") == "no", f"{compose_name} would re-run forever"
        assert job["depends_on"]["postgres"]["condition"] == "service_healthy", compose_name
        assert "ports" not in job and "healthcheck" not in job, compose_name


def test_each_service_uses_its_own_database_created_by_the_init_script(
    servers: dict[str, tuple[str, dict]],
    migrate_jobs: dict[str, tuple[str, dict]],
    init_databases: set[str],
) -> None:
    for name, (compose_name, service) in [*servers.items(), *migrate_jobs.items()]:
        assert database_of(name) in init_databases, (
            f"`suite … {name}` in {compose_name}, but init-databases.sh creates no database for it"
        )
        url = urlsplit(service["environment"]["DATABASE_URL"])
        assert url.scheme in {"postgresql", "postgres"}, compose_name
        assert url.hostname == "postgres", compose_name
        assert url.path == f"/{database_of(name)}", f"{compose_name} points at {url.path}"
    for name in servers.keys() & migrate_jobs.keys():
        assert (
            servers[name][1]["environment"]["DATABASE_URL"] == migrate_jobs[name][1]["environment"]["DATABASE_URL"]
        ), f"{name}: the server must use the database its job migrates"


def test_init_script_is_executable() -> None:
    # Otherwise the postgres entrypoint sources it into its own shell instead of running it.
    assert os.access(INIT_DATABASES, os.X_OK)


def test_only_the_gateway_publishes_a_port(compose: dict, servers: dict[str, tuple[str, dict]]) -> None:
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {PUBLIC_SERVER}, f"only the gateway may be reachable from outside; published: {published}"
    assert PUBLIC_SERVER in servers and servers[PUBLIC_SERVER][0] == PUBLIC_SERVER
    [mapping] = compose["services"][PUBLIC_SERVER]["ports"]
    assert str(mapping).endswith(":8000")


def test_the_gateway_knows_where_every_service_is(compose: dict, servers: dict[str, tuple[str, dict]]) -> None:
    environment = compose["services"][PUBLIC_SERVER]["environment"]
    for name, (compose_name, _) in servers.items():
        if name != PUBLIC_SERVER:
            assert environment[f"{name.upper()}_URL"] == f"http://{compose_name}:8000", name
    # The clients come from a file mounted read-only where GATEWAY_CLIENTS_FILE says.
    mounts = [str(v) for v in compose["services"][PUBLIC_SERVER]["volumes"]]
    assert any(m.endswith(f":{environment['GATEWAY_CLIENTS_FILE']}:ro") for m in mounts), mounts
    depends_on = compose["services"][PUBLIC_SERVER]["depends_on"]
    assert all(
        depends_on[compose_name]["condition"] == "service_healthy"
        for name, (compose_name, _) in servers.items()
        if name != PUBLIC_SERVER
    )


# ---- the infrastructure --------------------------------------------------------------------


def test_kafka_runs_kraft_without_zookeeper(compose: dict) -> None:
    services = compose["services"]
    assert not [n for n, s in services.items() if "zookeeper" in f"{n} {s.get('image', '')}".lower()]
    kafka = services["kafka"]
    environment = kafka["environment"]
    assert "controller" in str(environment["KAFKA_PROCESS_ROLES"]).split(",")
    assert "KAFKA_ZOOKEEPER_CONNECT" not in environment
    assert str(environment["KAFKA_CONTROLLER_QUORUM_VOTERS"]).startswith(f"{environment['KAFKA_NODE_ID']}@")
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])


# Replication of the topics, Apache Kafka's names (the image maps KAFKA_A_B to a.b).
REPLICATION = (
    "KAFKA_DEFAULT_REPLICATION_FACTOR",  # every topic
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",  # the consumers' positions
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
)
IN_SYNC = ("KAFKA_MIN_INSYNC_REPLICAS", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR")


def three_broker_settings() -> dict[str, str]:
    """The settings the kafka service's comment gives for three brokers (`#   NAME: value` lines)."""
    text = COMPOSE.read_text()
    start = text.index("# Three brokers (production)")
    block = text[start : text.index("\n      KAFKA_", start)]
    return dict(re.findall(r"^\s*#\s{2,}(KAFKA_[A-Z_]+): (\S+)$", block, re.MULTILINE))


def test_one_broker_replicates_nothing_it_cannot(compose: dict) -> None:
    environment = compose["services"]["kafka"]["environment"]
    assert {name: int(environment[name]) for name in (*REPLICATION, *IN_SYNC)} == dict.fromkeys(
        (*REPLICATION, *IN_SYNC), 1
    ), "one broker cannot hold more than one replica of a topic"
    # The topics the services create themselves (at the first start, after a lost bus) likewise.
    assert int(compose["x-service-env"]["KAFKA_REPLICATION_FACTOR"]) == int(
        environment["KAFKA_DEFAULT_REPLICATION_FACTOR"]
    )


def test_three_brokers_are_documented_with_replication_that_survives_one_lost_broker(compose: dict) -> None:
    documented = three_broker_settings()
    assert documented.keys() == {*REPLICATION, *IN_SYNC, "KAFKA_CONTROLLER_QUORUM_VOTERS"}
    # Each replaces a setting the single broker has: a misspelt name would be ignored by the broker.
    assert documented.keys() <= compose["services"]["kafka"]["environment"].keys()
    assert {name: int(documented[name]) for name in REPLICATION} == dict.fromkeys(REPLICATION, 3)
    for name in IN_SYNC:
        # Two in sync: an acknowledged write (acks=all) is on two brokers, and one broker may be down.
        assert int(documented[name]) == 2, name
    voters = documented["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert [voter.split("@")[0] for voter in voters] == ["1", "2", "3"]


def test_postgres_creates_the_databases_and_is_checked_over_tcp(compose: dict) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:16")
    mounts = [str(v) for v in postgres["volumes"]]
    assert any(m.startswith("./deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/") for m in mounts)
    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in " ".join(test) and "-h" in test


def test_named_volumes_are_declared_and_infrastructure_publishes_no_port(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name in ("postgres", "kafka"):
        service = compose["services"][name]
        assert "ports" not in service, f"{name} should be reachable only inside the compose network"
        named = {str(v).split(":")[0] for v in service["volumes"] if not str(v).startswith((".", "/"))}
        assert named and named <= declared, name


# ---- the image -----------------------------------------------------------------------------


def test_dockerfile_fetches_nothing_by_url_and_runs_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    assert "curl" not in text.lower() and "wget" not in text.lower()
    assert not re.search(r"https?://", text), "the image must not download anything by URL"
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "uv pip sync --python /app/.venv/bin/python requirements.lock" in text
    assert re.search(r"^ENV ENVIRONMENT=production$", text, re.MULTILINE)
    assert re.search(r"^EXPOSE 8000$", text, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image() -> None:
    entries = set(DOCKERIGNORE.read_text().split())
    assert {".venv", ".data", ".git", ".env", "**/__pycache__", ".pytest_cache", ".hypothesis"} <= entries
