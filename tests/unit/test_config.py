from __future__ import annotations

from pathlib import Path

import pytest

from prodsql.config import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_REQUIRED_CLASSES,
    Config,
    Target,
    default_trail_dir,
    load_config,
)
from prodsql.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_default_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(None, {"XDG_CONFIG_HOME": str(tmp_path)})
    assert config.targets == {}
    assert config.path is None


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", {})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(None, {"PRODSQL_CONFIG": str(tmp_path / "nope.toml")})


def test_full_target(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
ticket_pattern = "INC-[0-9]+"
trail_dir = "/var/prodsql"
[targets.prod]
host = "db.example"
port = 5433
dbname = "app"
user = "alice"
auth = "iam"
region = "eu-west-1"
aws_profile = "prod"
sslrootcert = "/etc/rds.pem"
required_audit = ["read", "write"]
statement_timeout = "30s"
connect_timeout = 3
""",
    )
    config = load_config(path, {})
    t = config.target("prod")
    assert (t.host, t.port, t.dbname, t.user, t.auth) == ("db.example", 5433, "app", "alice", "iam")
    assert t.required_audit == ("read", "write")
    assert t.timeouts.statement_timeout == "30s"
    assert t.timeouts.lock_timeout == "10s"
    assert t.timeouts.connect_timeout == 3
    assert config.ticket_pattern == "INC-[0-9]+"
    assert config.trail_dir == Path("/var/prodsql")


def test_defaults(tmp_path: Path) -> None:
    t = load_config(write(tmp_path, "[targets.x]\nhost = 'h'\n"), {}).target("x")
    assert t.auth == "password"
    assert t.required_audit == DEFAULT_REQUIRED_CLASSES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'blue'\n", "colour: unknown key"),
        ("[targets.p]\nprot = 1\n", "targets.p.prot: unknown key"),
        ("[targets.p]\nport = '5432'\n", "targets.p.port: expected an integer"),
        ("[targets.p]\nport = 70000\n", "expected an integer from 1 to 65535"),
        ("[targets.p]\nport = true\n", "expected an integer"),
        ("[targets.p]\nauth = 'kerberos'\n", "expected one of iam, keyring, password"),
        ("[targets.p]\nrequired_audit = ['read', 'everything']\n", "'everything' is not a pgAudit"),
        ("[targets.p]\nrequired_audit = 'read'\n", "expected a list of pgAudit classes"),
        ("targets = 3\n", "expected a table"),
        ("ticket_pattern = '(['\n", "not a valid regular expression"),
        ("[targets.p]\nauth = 'iam'\n", "needs both host and user"),
        ("[targets.p]\nauth = 'iam'\nhost='h'\nuser='u'\nsslmode='disable'\n", "needs TLS"),
        ("x = = 1\n", "not valid TOML"),
        ("[targets.p]\nlock_timeout = '5 min -c x=y'\n", "expected a PostgreSQL duration"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert message in info.value.message
    assert str(path) in info.value.message


def test_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError):
        load_config(path, {})


def test_unknown_target_lists_known(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[targets.a]\n[targets.b]\n"), {})
    with pytest.raises(ConfigError, match="known targets: a, b"):
        config.target("c")


def test_default_trail_dir_follows_xdg(tmp_path: Path) -> None:
    assert default_trail_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "prodsql" / "trails"


def test_break_glass_notify_and_sinks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[targets.prod]
host = "db"
user = "alice"
[targets.prod.break_glass]
user = "oncall_bg"
auth = "iam"
aws_profile = "break-glass"
max_minutes = 0.05
[notify]
sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:oncall"
region = "eu-west-1"
webhook_url = "https://hooks.example/T0/B0/xyz"
command = ["/usr/local/bin/page-oncall", "--json"]
timeout_seconds = 3
[sinks]
cloudwatch_group = "/prodsql/trails"
s3_bucket = "org-trails"
s3_prefix = "/trails/"
s3_lock_mode = "COMPLIANCE"
s3_retention_days = 400
""",
    )
    config = load_config(path, {})
    bg = config.target("prod").break_glass
    assert bg is not None
    assert (bg.user, bg.auth, bg.aws_profile, bg.max_minutes) == (
        "oncall_bg",
        "iam",
        "break-glass",
        0.05,
    )
    assert config.notify.command == ("/usr/local/bin/page-oncall", "--json")
    assert config.notify.timeout_seconds == 3
    assert config.notify.configured
    assert config.sinks.s3_prefix == "trails"
    assert config.sinks.s3_lock_mode == "COMPLIANCE"
    assert config.sinks.s3_retention_days == 400
    assert config.sinks.configured


def test_break_glass_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[targets.prod.break_glass]\nuser = 'bg'\n"), {})
    bg = config.target("prod").break_glass
    assert bg is not None
    assert bg.max_minutes == 60
    assert bg.auth is None
    assert not config.notify.configured
    assert not config.sinks.configured
    assert config.target("prod").break_glass is not None
    assert load_config(write(tmp_path, "[targets.p]\n"), {}).target("p").break_glass is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[targets.p.break_glass]\nusr = 'x'\n", "targets.p.break_glass.usr: unknown key"),
        ("[targets.p.break_glass]\nmax_minutes = 0\n", "targets.p.break_glass.max_minutes"),
        ("[targets.p.break_glass]\nmax_minutes = '5'\n", "expected a number"),
        ("[targets.p.break_glass]\nauth = 'magic'\n", "targets.p.break_glass.auth"),
        ("[targets.p]\nbreak_glass = 1\n", "targets.p.break_glass: expected a"),
        ("[notify]\nwebhook = 'x'\n", "notify.webhook: unknown key"),
        ("[notify]\nwebhook_url = 'file:///etc/passwd'\n", "notify.webhook_url"),
        ("[notify]\ncommand = 'page-oncall --json'\n", "notify.command: expected a list"),
        ("[notify]\ncommand = []\n", "notify.command: expected a non-empty list"),
        ("[sinks]\ns3_bucket = 5\n", "sinks.s3_bucket: expected a string"),
        ("[sinks]\ns3_lock_mode = 'forever'\n", "sinks.s3_lock_mode: expected one of"),
        ("[sinks]\ncloudwatch = 'g'\n", "sinks.cloudwatch: unknown key"),
        ("notify = 'x'\n", "notify: expected a [notify] table"),
    ],
)
def test_new_tables_are_strict(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(path) in info.value.message
    assert message in info.value.message


def test_idle_timeout_per_target_with_a_top_level_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
idle_timeout = "30min"
[targets.prod]
idle_timeout = "5min"
[targets.staging]
idle_timeout = "off"
[targets.reporting]
host = "r"
""",
    )
    config = load_config(path, {})
    assert config.idle_timeout == 1800
    assert config.idle_timeout_for(config.target("prod")) == 300
    assert config.idle_timeout_for(config.target("staging")) == 0  # switched off
    assert config.idle_timeout_for(config.target("reporting")) == 1800  # the file's default
    assert config.idle_timeout_for(Target(name="dsn", dsn="host=x")) == 1800  # --dsn too


def test_idle_timeout_defaults_to_fifteen_minutes(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[targets.p]\nhost = 'h'\n"), {})
    assert config.idle_timeout_for(config.target("p")) == DEFAULT_IDLE_TIMEOUT == 900
    assert Config().idle_timeout_for(Target(name="libpq-defaults")) == 900


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("900s", 900), ("15min", 900), ("1h", 3600), ("0", 0), ("off", 0), ("0min", 0)],
)
def test_idle_timeout_values(tmp_path: Path, value: str, seconds: float) -> None:
    config = load_config(write(tmp_path, f"idle_timeout = '{value}'\n"), {})
    assert config.idle_timeout == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("idle_timeout = 900\n", "idle_timeout: expected a string, got int 900"),
        ("idle_timeout = '900'\n", "idle_timeout: expected a duration such as '15min'"),
        ("idle_timeout = '15 min'\n", "got '15 min'"),
        ("idle_timeout = '1.5h'\n", "got '1.5h'"),
        ("idle_timeout = '-5min'\n", "got '-5min'"),
        ("[targets.p]\nidle_timeout = 'soon'\n", "targets.p.idle_timeout: expected a duration"),
        ("[targets.p]\nidle_timeot = '5min'\n", "targets.p.idle_timeot: unknown key"),
        ("[shell]\nidle_timeout = '5min'\n", "shell: unknown key"),
    ],
)
def test_idle_timeout_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(path) in info.value.message
    assert message in info.value.message


def test_trail_hmac_key_names_a_keyring_key(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, 'trail_hmac_key = "ops-2026"\n')).trail_hmac_key == (
        "ops-2026"
    )
    assert load_config(write(tmp_path, "")).trail_hmac_key is None
    for bad in ('trail_hmac_key = ""', 'trail_hmac_key = "a b"', "trail_hmac_key = 3"):
        with pytest.raises(ConfigError, match="trail_hmac_key"):
            load_config(write(tmp_path, bad + "\n"))
