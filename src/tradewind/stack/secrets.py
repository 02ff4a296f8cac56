"""The stack's variables: generate ``.env``, check secrets before anything starts.

Standard library only: this file is also copied into the Superset image and run there as a
plain script (``python secrets.py check --env --only ...``), and every container's
entrypoint runs it before starting its server, so it must import nothing else and stay fast.

    python -m tradewind.stack.secrets env [--file .env] [--rotate] [--only A,B]
    python -m tradewind.stack.secrets check [--file .env | --env] [--only A,B]
    python -m tradewind.stack.secrets example      # the text of .env.example

``VARIABLES`` is the one table: ``.env``, ``.env.example`` and the checks all come from it,
so adding a variable is adding one line there. Problems name the variable and what is wrong,
never its value.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import re
import string
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from random import SystemRandom

# Not ``import secrets``: run as a script, this file's directory comes first on sys.path and
# ``secrets`` would be this very file. SystemRandom and os.urandom are what ``secrets`` uses.
_RNG = SystemRandom()


class Kind(Enum):
    PASSWORD = "password"
    FERNET_KEY = "fernet key"
    HEX_TOKEN = "hex token"
    USERNAME = "username"
    SETTING = "setting"
    PORT = "port"
    IMAGE = "image"


GENERATED = frozenset({Kind.PASSWORD, Kind.FERNET_KEY, Kind.HEX_TOKEN, Kind.USERNAME})
SECRET = frozenset({Kind.PASSWORD, Kind.FERNET_KEY, Kind.HEX_TOKEN})

PASSWORD_LENGTH = 40
MIN_PASSWORD = 16
MIN_TOKEN = 32  # hex digits: 16 bytes
USERNAME_PREFIX = "tradewind-"

HOW = {
    Kind.PASSWORD: f"{PASSWORD_LENGTH} random letters and digits (at least {MIN_PASSWORD}; "
    "letters, digits, . _ ~ - only: URLs hold them)",
    Kind.FERNET_KEY: "URL-safe base64 of 32 random bytes (as Fernet.generate_key() makes)",
    Kind.HEX_TOKEN: f"64 random hex digits (32 bytes; at least {MIN_TOKEN} characters)",
    Kind.USERNAME: f"{USERNAME_PREFIX} and 10 random lowercase letters and digits",
    Kind.SETTING: "a setting",
    Kind.PORT: "a TCP port, 1-65535",
    Kind.IMAGE: "an image pinned by a tag other than latest, or by a digest",
}


@dataclass(frozen=True)
class Variable:
    name: str
    kind: Kind
    description: str
    default: str = ""

    @property
    def secret(self) -> bool:
        return self.kind in SECRET

    @property
    def generated(self) -> bool:
        return self.kind in GENERATED

    @property
    def how(self) -> str:
        return HOW[self.kind]


def _pw(name: str, description: str) -> Variable:
    return Variable(name, Kind.PASSWORD, description)


def _port(name: str, default: str, what: str) -> Variable:
    return Variable(name, Kind.PORT, f"Host port of {what} (published on 127.0.0.1 only)", default)


def _image(name: str, default: str, what: str) -> Variable:
    return Variable(name, Kind.IMAGE, f"Image of {what}", default)


# fmt: off
VARIABLES: tuple[Variable, ...] = (
    _pw("POSTGRES_PASSWORD", "The Postgres superuser (postgres): creates the databases and roles on the first start"),  # noqa: E501
    _pw("TRADEWIND_DB_PASSWORD", "Postgres role tradewind: owns the security master"),
    _pw("MLFLOW_DB_PASSWORD", "Postgres role mlflow: MLflow's tracking and registry database"),
    _pw("AIRFLOW_DB_PASSWORD", "Postgres role airflow: Airflow's metadata database"),
    _pw("SUPERSET_DB_PASSWORD", "Postgres role superset: Superset's metadata database"),
    _pw("TRADEWIND_REPORTING_PASSWORD", "Postgres role tradewind_reporting: read-only, what the dashboards connect as"),  # noqa: E501
    Variable("MINIO_ROOT_USER", Kind.USERNAME, "MinIO's root user (the S3 access key id)"),
    _pw("MINIO_ROOT_PASSWORD", "MinIO's root password (the S3 secret access key)"),
    _pw("REDIS_PASSWORD", "Redis's password (requirepass), for every client of the stack's Redis"),
    _pw("MLFLOW_ADMIN_PASSWORD", "MLflow's admin (basic auth of the UI and the API)"),
    Variable("MLFLOW_FLASK_SECRET_KEY", Kind.HEX_TOKEN, "Signs MLflow's sessions and CSRF tokens (Flask SECRET_KEY)"),  # noqa: E501
    _pw("AIRFLOW_ADMIN_PASSWORD", "Airflow's admin (the UI)"),
    Variable("AIRFLOW_FERNET_KEY", Kind.FERNET_KEY, "Encrypts Airflow's connections and variables: keep it, or they cannot be read back"),  # noqa: E501
    Variable("AIRFLOW_JWT_SECRET", Kind.HEX_TOKEN, "Signs the JWTs between Airflow's API server, scheduler and workers"),  # noqa: E501
    Variable("AIRFLOW_API_SECRET_KEY", Kind.HEX_TOKEN, "Signs the sessions of Airflow's API server (Flask secret key)"),  # noqa: E501
    Variable("SUPERSET_SECRET_KEY", Kind.HEX_TOKEN, "Signs Superset's sessions, encrypts the passwords in its metadata DB: keep it"),  # noqa: E501
    _pw("SUPERSET_ADMIN_PASSWORD", "Superset's admin (the UI)"),
    Variable("TRADEWIND_VENUE_TOKEN", Kind.HEX_TOKEN, "Bearer token of the paper venue's API"),
    Variable("COMPOSE_PROJECT_NAME", Kind.SETTING, "Compose project: prefixes the containers, the network and the volumes", "tradewind"),  # noqa: E501
    _image("TRADEWIND_IMAGE", "localhost/tradewind:0.1.0", "Tradewind's services"),
    _image("TRADEWIND_SUPERSET_IMAGE", "localhost/tradewind-superset:0.1.0", "Superset with Tradewind's config and dashboards"),  # noqa: E501
    _image("TRADEWIND_POSTGRES_IMAGE", "postgres:15.10-bookworm", "Postgres"),
    _image("TRADEWIND_MINIO_IMAGE", "minio/minio:RELEASE.2025-04-22T22-12-26Z", "MinIO"),
    _image("TRADEWIND_REDIS_IMAGE", "redis:7.2.7-bookworm", "Redis"),
    _port("AIRFLOW_PORT", "8080", "the Airflow UI"),
    _port("MLFLOW_PORT", "5000", "the MLflow UI"),
    _port("SUPERSET_PORT", "8088", "the Superset UI"),
    _port("VENUE_PORT", "8081", "the paper venue's API"),
    _port("MINIO_PORT", "9000", "MinIO's S3 API (drop files into the landing bucket)"),
    _port("MINIO_CONSOLE_PORT", "9001", "the MinIO console"),
    _port("LIVE_HEALTH_PORT", "8788", "the live trader's health endpoint"),
    Variable("AIRFLOW_WORKER_CONCURRENCY", Kind.SETTING, "Tasks one Airflow worker runs at once (scale with more workers)", "4"),  # noqa: E501
)
# fmt: on
BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}

# -- generating ------------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits


def _random_text(alphabet: str, length: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(length))


def _new_value(kind: Kind) -> str:
    if kind is Kind.PASSWORD:
        return _random_text(_ALNUM, PASSWORD_LENGTH)
    if kind is Kind.FERNET_KEY:
        return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
    if kind is Kind.HEX_TOKEN:
        return os.urandom(32).hex()
    if kind is Kind.USERNAME:
        return USERNAME_PREFIX + _random_text(string.ascii_lowercase + string.digits, 10)
    raise ValueError(f"{kind.value} values are not generated")


def new_value(var: Variable) -> str:
    """A fresh value for a generated variable, one its own check accepts."""
    while True:  # should a random value ever spell a placeholder ("fixme"), draw again
        value = _new_value(var.kind)
        if _value_problem(var, value) is None:
            return value


# -- checking --------------------------------------------------------------------------------

# Whole values that are a default or a stand-in, not something drawn at random
_PLACEHOLDER_WORD = re.compile(
    r"changeit|pass(word|wd)?|secret|admin(istrator)?|test|default|none|null|tbd|root|user"
    r"(name)?|token|key|minioadmin|postgres|airflow|superset|mlflow|redis|tradewind",
    re.IGNORECASE,
)
# ... and text that marks one. Words short enough to turn up in a random value by chance
# (one in ~10^5 for "xxx" or "todo" in 40 letters and digits) count only as a whole word.
_PLACEHOLDER_TEXT = re.compile(
    r"change[-_ .]?me|replace[-_ .]?me|your[-_ .]|placeholder|example|<[^>]*>|\$\{|\$\("
    r"|(^|[-_ .:])(todo|fixme|tbd|x{3,})([-_ .:]|$)",
    re.IGNORECASE,
)
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")
_TOKEN_SAFE = re.compile(r"[A-Za-z0-9._~+/=-]+")
_USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_pinned(image: str) -> bool:
    """True if ``image`` names a tag other than ``latest``, or a digest."""
    if _DIGEST.search(image):
        return True
    last = image.rsplit("/", 1)[-1]  # a registry's :port is before the last slash
    tag = last.partition(":")[2]
    return bool(tag) and tag != "latest" and "@" not in last


def _placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER_WORD.fullmatch(value.strip()) or _PLACEHOLDER_TEXT.search(value))


def _fernet_problem(value: str) -> str | None:
    if not _B64URL.fullmatch(value):
        return "is not a Fernet key: not URL-safe base64"
    try:
        raw = base64.urlsafe_b64decode(value)
    except (binascii.Error, ValueError):
        return "is not a Fernet key: not URL-safe base64"
    if len(raw) != 32:
        return f"is not a Fernet key: decodes to {len(raw)} bytes, needs 32"
    return None


def _secret_problem(var: Variable, value: str) -> str | None:
    if var.kind is Kind.FERNET_KEY:
        return _fernet_problem(value)
    if var.kind is Kind.USERNAME:
        if not _USERNAME.fullmatch(value):
            return "must be 3-64 letters, digits, '.', '_' or '-'"
        return None
    minimum = MIN_PASSWORD if var.kind is Kind.PASSWORD else MIN_TOKEN
    if len(value) < minimum:
        return f"is too short: {len(value)} characters, needs at least {minimum}"
    if len(set(value)) == 1:
        return "is one character repeated"
    if var.kind is Kind.PASSWORD and not _URL_SAFE.fullmatch(value):
        return "may hold only letters, digits and . _ ~ - (it goes into connection URLs and .env)"
    if not _TOKEN_SAFE.fullmatch(value):
        return "may hold only letters, digits and . _ ~ + / = - (it goes into .env unquoted)"
    return None


def _setting_problem(var: Variable, value: str) -> str | None:
    if var.kind is Kind.PORT and not (value.isdigit() and 0 < int(value) < 65536):
        return "is not a TCP port (1-65535)"
    if var.kind is Kind.IMAGE and not image_pinned(value):
        return "is not pinned: give a tag other than latest, or a digest"
    if any(c.isspace() for c in value):
        return "holds whitespace"
    return None


def _value_problem(var: Variable, value: str) -> str | None:
    """What is wrong with ``value`` for ``var``, without saying the value; None if fine."""
    if value == "":
        return "is empty"
    if not var.generated:
        return _setting_problem(var, value)
    # A Fernet key's check is exact (32 bytes in URL-safe base64): no placeholder passes it,
    # and a random key may hold "-xxx-" by chance.
    if var.kind is not Kind.FERNET_KEY and _placeholder(value):
        return "looks like a placeholder, not a generated value"
    return _secret_problem(var, value)


def _lookup(environ: Mapping[str, str], name: str) -> tuple[str | None, str | None]:
    """(value, problem): ``$NAME``, else the contents of the file ``$NAME_FILE``."""
    if name in environ:
        return environ[name], None
    path = environ.get(f"{name}_FILE")
    if not path:
        return None, None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return None, f"{name}_FILE: cannot read {path}: {exc.strerror or exc}"
    return text.rstrip("\r\n"), None


def select(names: Iterable[str] | None) -> list[Variable]:
    """The table's variables named in ``names`` (all if None); ValueError on unknown names."""
    if names is None:
        return list(VARIABLES)
    wanted = [n.strip() for n in names if n.strip()]
    unknown = [n for n in wanted if n not in BY_NAME]
    if unknown:
        raise ValueError(f"not a variable of the stack: {', '.join(unknown)}")
    return [BY_NAME[n] for n in dict.fromkeys(wanted)]


def targets(names: Iterable[str] | None) -> list[tuple[Variable, str]]:
    """(variable, the environment variable that holds it) for each of ``names``: ``NAME``, or
    ``NAME=ENV_NAME`` when a container gets the value under another name (e.g.
    ``AIRFLOW_FERNET_KEY=AIRFLOW__CORE__FERNET_KEY``). All of the table if None."""
    if names is None:
        return [(v, v.name) for v in VARIABLES]
    pairs = [
        (name.strip(), env.strip() or name.strip())
        for name, _, env in (n.partition("=") for n in names)
        if name.strip()
    ]
    select(name for name, _ in pairs)  # unknown names: ValueError
    return list(dict.fromkeys((BY_NAME[name], env) for name, env in pairs))


def check(environ: Mapping[str, str], names: Iterable[str] | None = None) -> list[str]:
    """Problems of the variables (all, or those in ``names``, see ``targets``) as ``environ``
    has them.

    A generated variable must be set (or ``NAME_FILE`` name a readable file) to a value that
    is not empty, not a placeholder, long enough and of its kind's shape. A setting may be
    absent (the compose file has its default) unless named in ``names``; if set, it must be
    valid. Messages name the variable, never the value.
    """
    problems: list[str] = []
    for var, env_name in targets(names):
        label = var.name if env_name == var.name else f"{env_name} ({var.name})"
        value, problem = _lookup(environ, env_name)
        if problem is not None:
            problems.append(problem)
        elif value is None:
            if var.generated or names is not None:
                problems.append(f"{label} is not set")
        else:
            what = _value_problem(var, value)
            if what is not None:
                problems.append(f"{label} {what}")
    return problems


# -- .env files ------------------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)")


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return re.sub(r"\s+#.*$", "", raw)


def parse_env(text: str) -> dict[str, str]:
    """``NAME=value`` lines of a .env file (the last one wins, as in compose)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.fullmatch(line)
        if match and not line.lstrip().startswith("#"):
            values[match.group(1)] = _unquote(match.group(2))
    return values


@dataclass(frozen=True)
class Resolution:
    values: dict[str, str]  # every variable of the table
    notes: list[str]  # what changed, by name, never a value


def resolve(existing: Mapping[str, str] | None, rotate: Iterable[str] = ()) -> Resolution:
    """Keep the valid values of ``existing``, generate or default the rest; ``rotate`` names
    generated variables to draw anew regardless."""
    existing = existing or {}
    rotate = set(rotate)
    values: dict[str, str] = {}
    notes: list[str] = []
    for var in VARIABLES:
        old = existing.get(var.name)
        problem = None if old is None else _value_problem(var, old)
        if old is not None and problem is None and var.name not in rotate:
            values[var.name] = old
            continue
        values[var.name] = new_value(var) if var.generated else var.default
        if var.name in rotate and old is not None and var.generated:
            notes.append(f"rotated {var.name}")
        elif problem is not None:
            fix = "generated a new one" if var.generated else f"set the default {var.default}"
            notes.append(f"replaced {var.name}: it {problem}; {fix}")
        elif var.generated:
            notes.append(f"generated {var.name}")
    return Resolution(values, notes)


ENV_HEADER = """\
# Tradewind stack: the variables docker-compose.yml reads. Written by `make env`
# (python -m tradewind.stack.secrets env): mode 0600, git-ignored, never commit it.
# `make env` again keeps every valid value and fills in what is missing; `... env --rotate`
# draws new secrets (the databases keep the old passwords until their roles are altered).
"""
EXAMPLE_HEADER = """\
# Tradewind stack: the variables docker-compose.yml reads. Don't copy this file: run
# `make env`, which writes .env (mode 0600, git-ignored) with every secret generated.
# The stack refuses to start while a secret is missing, empty, a placeholder or too short.
# Generated by `python -m tradewind.stack.secrets example` from the table in
# src/tradewind/stack/secrets.py (a unit test keeps the two equal).
"""


def _rule(title: str) -> str:
    return f"# -- {title} ".ljust(96, "-")


# .env.example's last part: the variables of a laptop without the stack, all commented out.
LOCAL_NOTES = """\
# -- without the stack: the CLI, make demo, make airflow, make superset -----------------------
# The CLI reads TRADEWIND_* from the environment or .env; nothing below is needed by the stack.
# TRADEWIND_HOME=./.tradewind
# Embedded default: leave TRADEWIND_DATABASE_URL unset for a SQLite file under TRADEWIND_HOME.
# Postgres (the password comes from the variable or file below, not from this URL):
# TRADEWIND_DATABASE_URL=postgresql://tradewind@127.0.0.1:5432/tradewind
# TRADEWIND_DATABASE_PASSWORD=
# TRADEWIND_DATABASE_PASSWORD_FILE=/run/secrets/tradewind_db_password
# Tests: use an existing Postgres server instead of starting a throwaway one.
# TRADEWIND_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres

# MLflow: unset = the embedded store under TRADEWIND_HOME (.tradewind/mlflow). Set it to use a
# tracking server (credentials, if any, also only from the environment).
# MLFLOW_TRACKING_URI=http://127.0.0.1:5000
# MLFLOW_S3_ENDPOINT_URL=http://127.0.0.1:9000   # for artifacts on MinIO / S3

# The paper venue's Bearer token: TRADEWIND_VENUE_TOKEN above, or
# TRADEWIND_VENUE_TOKEN_FILE=/run/secrets/venue-token
# OANDA (practice or live): the token only ever from the environment or a secret file.
# OANDA_TOKEN_FILE=/run/secrets/oanda-token
# OANDA_ENVIRONMENT=practice
# OANDA_ACCOUNT_ID=

# Airflow (`make airflow`, the DAGs in dags/; the UI on 127.0.0.1:$AIRFLOW_PORT): connections as
# AIRFLOW_CONN_<ID> JSON, never in a DAG file. Airflow does not read .env: export them
# (single-quoted) in the shell that runs it. Without tradewind_db / mlflow the DAGs use the
# TRADEWIND_* / MLFLOW_* settings above.
# AIRFLOW_CONN_TRADEWIND_DB={"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "schema": "tradewind", "login": "tradewind", "password": "<password>"}
# AIRFLOW_CONN_OANDA={"conn_type": "http", "host": "http://127.0.0.1:8081", "password": "<venue or OANDA token>", "extra": {"environment": "venue"}}
# AIRFLOW_CONN_MLFLOW={"conn_type": "http", "host": "http://127.0.0.1:5000"}
# AIRFLOW_CONN_MINIO={"conn_type": "aws", "host": "http://127.0.0.1:9000", "login": "<access key>", "password": "<secret key>", "extra": {"bucket": "tradewind-landing"}}

# Superset (`make superset`; see README "Dashboards with Superset"; the UI on
# 127.0.0.1:$SUPERSET_PORT). The dashboards need the security master on Postgres
# (TRADEWIND_DATABASE_URL). Secrets left unset are generated once into
# $TRADEWIND_HOME/superset/secrets (mode 600), the admin password among them.
# SUPERSET_DATABASE_URL=postgresql+psycopg2://superset@127.0.0.1:5432/superset   # default: SQLite under TRADEWIND_HOME
# SUPERSET_DATABASE_PASSWORD_FILE=/run/secrets/superset_db_password
# SUPERSET_SECRET_KEY_FILE=/run/secrets/superset_secret_key
# SUPERSET_ADMIN_USER=admin
# SUPERSET_ADMIN_PASSWORD_FILE=/run/secrets/superset_admin_password
# TRADEWIND_REPORTING_USER=tradewind_reporting
# TRADEWIND_REPORTING_PASSWORD_FILE=/run/secrets/tradewind_reporting_password
"""  # noqa: E501  (a connection's JSON is one line)
_SECRETS_SECTION = [
    _rule("generated by `make env`: the secrets and the MinIO user"),
    *(f"# {kind.value + ':':12}{HOW[kind]}" for kind in Kind if kind in GENERATED),
]
_SETTINGS_SECTION = [_rule("settings: the defaults, change them here")]
_ADDED_SECTION = _rule("added by `make env`")
_KEPT_SECTION = _rule("kept from the previous file")


def _block(var: Variable, value: str) -> list[str]:
    kind = f" [{var.kind.value}]" if var.generated else ""
    return [f"# {var.description}.{kind}", f"{var.name}={value}"]


def render(values: Mapping[str, str], header: str) -> str:
    """The whole file: ``header``, then every variable with its comment, in table order."""
    lines = header.splitlines()
    for section, generated in ((_SECRETS_SECTION, True), (_SETTINGS_SECTION, False)):
        lines += ["", *section]
        for var in VARIABLES:
            if var.generated is generated:
                lines += ["", *_block(var, values.get(var.name, ""))]
    return "\n".join(lines) + "\n"


def example() -> str:
    """The text of .env.example: generated variables empty, settings at their defaults, then
    the (commented) variables of a laptop without the stack."""
    return render({v.name: v.default for v in VARIABLES}, EXAMPLE_HEADER) + "\n" + LOCAL_NOTES


def generate(existing: Mapping[str, str] | None = None, rotate: Iterable[str] = ()) -> str:
    """A complete .env: ``existing``'s valid values kept, the rest generated or defaulted;
    variables of ``existing`` not in the table are kept at the end."""
    resolved = resolve(existing, rotate)
    text = render(resolved.values, ENV_HEADER)
    others = [f"{k}={v}" for k, v in (existing or {}).items() if k not in BY_NAME]
    return text + "\n".join(["", _KEPT_SECTION, *others, ""]) if others else text


def update(text: str, values: Mapping[str, str]) -> str:
    """``text`` with the table's variables set to ``values`` in place: lines that change are
    rewritten, every other line (comments, variables not in the table) is kept as it is, and
    variables the file lacks are added at the end."""
    if not any(
        (m := _ASSIGNMENT.fullmatch(line)) and m.group(1) in BY_NAME
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
    ):
        kept = text.strip("\n")
        fresh = render(values, ENV_HEADER)
        return f"{fresh}\n{_KEPT_SECTION}\n{kept}\n" if kept else fresh
    out: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        match = None if line.lstrip().startswith("#") else _ASSIGNMENT.fullmatch(line)
        if match and match.group(1) in values:
            name = match.group(1)
            seen.add(name)
            if _unquote(match.group(2)) != values[name]:
                line = f"{name}={values[name]}"
        out.append(line)
    missing = [v for v in VARIABLES if v.name not in seen]
    if missing:
        out += ["", _ADDED_SECTION]
        for var in missing:
            out += ["", *_block(var, values[var.name])]
    return "\n".join(out) + "\n"


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, mode 0600 from the first byte."""
    import tempfile  # only `env` writes; `check` runs in every entrypoint and stays lean

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- command line ----------------------------------------------------------------------------


def _names(raw: str | None) -> list[str] | None:
    return None if raw is None else [n for n in raw.split(",") if n.strip()]


def _cmd_env(path: Path, rotate: bool, only: list[str] | None) -> int:
    if only is not None and not rotate:
        raise ValueError("--only goes with --rotate (env always completes the whole file)")
    targets = [v.name for v in select(only) if v.generated] if rotate else []
    old = path.read_text(encoding="utf-8") if path.exists() else None
    resolved = resolve(parse_env(old or ""), targets)
    text = render(resolved.values, ENV_HEADER) if old is None else update(old, resolved.values)
    for note in resolved.notes:
        if not note.startswith("generated "):
            print(f"env: {note}", file=sys.stderr)
    if text == old and _mode_ok(path):
        print(f"ok: {path} is complete ({len(VARIABLES)} variables), nothing changed")
        return 0
    write_private(path, text)
    made = sum(n.startswith("generated ") for n in resolved.notes)
    changed = len(resolved.notes) - made
    print(f"wrote {path} (mode 0600): {made} generated, {changed} replaced or rotated")
    return 0


def _mode_ok(path: Path) -> bool:
    return path.stat().st_mode & 0o077 == 0


def _cmd_check(path: Path | None, only: list[str] | None) -> int:
    if path is None:
        environ: Mapping[str, str] = os.environ
        where = "the environment"
        problems = []
    else:
        where = str(path)
        try:
            environ = parse_env(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            print(f"check: {path} does not exist: run `make env` to write it", file=sys.stderr)
            return 1
        problems = [] if _mode_ok(path) else [f"{path} is readable by others: chmod 600 {path}"]
    problems += check(environ, only)
    if problems:
        print(f"check: {len(problems)} problem(s) in {where}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        if path is not None:
            print(f"  (`make env` completes {path}, keeping valid values)", file=sys.stderr)
        return 1
    count = len(targets(only))
    print(f"ok: {count} variables")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tradewind.stack.secrets",
        description="The compose stack's variables: write .env, check secrets.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("env", help="write or complete the .env file (mode 0600)")
    env.add_argument("--file", type=Path, default=Path(".env"))
    env.add_argument(
        "--rotate",
        action="store_true",
        help="draw new secrets (all, or those of --only); running databases keep the old ones",
    )
    env.add_argument("--only", metavar="A,B", help="with --rotate: only these variables")
    chk = sub.add_parser("check", help="exit 1 listing problems, 0 if every variable is fine")
    src = chk.add_mutually_exclusive_group()
    src.add_argument("--file", type=Path, help="the .env file to check (default .env)")
    src.add_argument("--env", action="store_true", help="check the process environment")
    chk.add_argument(
        "--only",
        metavar="A,B=ENV_B",
        help="check only these variables; B=ENV_B: B as found in the variable ENV_B",
    )
    sub.add_parser("example", help="print the text of .env.example")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "env":
            return _cmd_env(args.file, args.rotate, _names(args.only))
        if args.command == "check":
            path = None if args.env else (args.file or Path(".env"))
            return _cmd_check(path, _names(args.only))
        sys.stdout.write(example())
        return 0
    except ValueError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
