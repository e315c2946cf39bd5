#!/usr/bin/env bash
# Make sure the system packages prodsql's demo and tests need are present:
# PostgreSQL 15 with pgAudit, the postgres OS user, and a working `python3 -m venv`.
# Idempotent: does nothing when all is there. Never starts a server.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin/postgres
PGAUDIT_SO=/usr/lib/postgresql/15/lib/pgaudit.so
APT_UPDATED=0

say() { printf 'ensure-system: %s\n' "$*"; }
die() { printf 'ensure-system: error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly, through sudo, or not at all.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (no sudo found); run it as root, then re-run this script"
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 \
        || die "apt-get not found; install these packages with your package manager: $*"
    [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1 \
        || die "need root to install $* (no sudo found); run this script as root"
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "running apt-get update"
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    say "installing $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

ensure_postgres() {
    if [ -x "$PG_BIN" ] && [ -f "$PGAUDIT_SO" ]; then
        say "PostgreSQL 15 and pgAudit present"
        return
    fi
    apt_install postgresql-15 postgresql-15-pgaudit
    [ -x "$PG_BIN" ] && [ -f "$PGAUDIT_SO" ] \
        || die "PostgreSQL 15 or pgAudit still missing after installing ($PG_BIN, $PGAUDIT_SO)"
}

# PostgreSQL refuses to run as root, so a root run needs the server user.
ensure_postgres_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    if id -u postgres >/dev/null 2>&1; then
        say "postgres OS user present"
        return
    fi
    say "creating the postgres OS user"
    if command -v adduser >/dev/null 2>&1; then
        adduser --system --quiet --home /var/lib/postgresql --no-create-home \
            --shell /bin/bash --group postgres
    else
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
}

ensure_venv() {
    command -v python3 >/dev/null 2>&1 || die "python3 not found; install Python 3.11 or newer"
    if python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        say "python3 venv module present"
        return
    fi
    # Only Debian's own python3 is fixed by python3-venv; another one must be fixed by its owner.
    local py
    py="$(readlink -f "$(command -v python3)")"
    if command -v dpkg >/dev/null 2>&1 && dpkg -S "$py" >/dev/null 2>&1; then
        apt_install python3-venv
    else
        die "python3 ($py) cannot create virtual environments; install its venv/ensurepip support"
    fi
}

# The IAM tests freeze the clock of a prodsql process (libfaketime) to sign a token
# the test can predict; openssl makes the test CA for TLS verify-full.
ensure_test_tools() {
    local missing=()
    [ -f /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] \
        || [ -n "$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null)" ] \
        || missing+=(libfaketime)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v ps >/dev/null 2>&1 || missing+=(procps)
    if [ "${#missing[@]}" -eq 0 ]; then
        say "test tools (libfaketime, openssl, ps) present"
        return
    fi
    apt_install "${missing[@]}"
}

ensure_postgres
ensure_postgres_user
ensure_venv
if [ "${1:-}" != "--no-test-tools" ]; then
    ensure_test_tools
fi
