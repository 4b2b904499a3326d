"""Redshift's user and group statements as procedure calls, without a server (users.py).

What the procedure then does upstream is tested in test_server_users.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from redshift_async_backend.emulator import users
from redshift_async_backend.emulator.rules import RedshiftError

pytestmark = pytest.mark.unit


def call(sql: str) -> tuple[str, str, dict[str, Any], str | None]:
    rw = users.translate(sql)
    assert rw is not None
    match = re.fullmatch(
        r"CALL redshift_emulator\.manage_user\(\$(\w*)\$(.*?)\$\1\$, \$(\w*)\$(.*?)\$\3\$, "
        r"\$(\w*)\$(.*)\$\5\$::jsonb\)",
        rw.sql,
        re.S,
    )
    assert match, rw.sql
    return match.group(2), match.group(4), json.loads(match.group(6)), rw.tag


def test_user_statements_are_found_after_comments_and_in_longer_queries() -> None:
    assert users.is_user_statement("-- note\n/* and */ CREATE USER u PASSWORD DISABLE")
    assert users.is_user_statement("SELECT 1; DROP USER u")
    assert call("/* c */ DROP USER u")[:2] == ("drop_user", "u")


def test_other_statements_are_not_ours() -> None:
    for sql in (
        "SELECT 1",
        "CREATE TABLE users (id int)",
        "GRANT SELECT ON t TO u",
        "CREATE ROLE r",
    ):
        assert users.translate(sql) is None
        assert not users.is_user_statement(sql)


def test_create_user_with_every_option() -> None:
    # DG:r_CREATE_USER.
    op, name, spec, tag = call(
        "CREATE USER Alice WITH PASSWORD 'Ezpass12' CREATEDB CREATEUSER "
        "SYSLOG ACCESS UNRESTRICTED IN GROUP staff, \"Admins\" VALID UNTIL '2030-01-01' "
        "CONNECTION LIMIT 5 SESSION TIMEOUT 600 EXTERNALID 'ext-1';"
    )
    assert (op, name, tag) == ("create_user", "alice", "CREATE USER")
    assert spec == {
        # Clear text never goes upstream: its MD5 form, with the folded user name.
        "password": "md5" + hashlib.md5(b"Ezpass12alice").hexdigest(),
        "password_set": True,
        "createdb": True,
        "superuser": True,
        "groups": ["staff", "admins"],
        "valid_until": "2030-01-01",
        "connection_limit": 5,
        "session_timeout": 600,
    }


def test_create_user_password_forms() -> None:
    assert call("CREATE USER u PASSWORD DISABLE")[2]["password"] is None
    md5 = "md5" + "0" * 32
    assert call(f"CREATE USER u PASSWORD '{md5}'")[2]["password"] == md5
    sha = call("CREATE USER u PASSWORD 'sha256|Ezpass12'")[2]["password"]
    assert sha.startswith("sha256|") and "Ezpass12" not in sha
    assert (
        call(
            "CREATE USER u PASSWORD 'x' CONNECTION LIMIT UNLIMITED".replace("'x'", "$$Ezpass12$$")
        )[2]["connection_limit"]
        == -1
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE USER u", "syntax error at end of input"),  # DG:r_CREATE_USER
        ("CREATE USER u PASSWORD 'short1A'", "8 to 64"),
        ("CREATE USER public PASSWORD 'Ezpass12'", "reserved"),
        ("CREATE USER u PASSWORD 'Ezpass12' SUPERUSER", "syntax error"),
        ("CREATE USER u PASSWORD 'Ezpass12' CONNECTION LIMIT many", "syntax error"),
        ("ALTER USER u", "syntax error"),
        ("ALTER USER u RENAME TO v EXTRA", "syntax error"),
        ("DROP USER", "syntax error"),
        ("ALTER GROUP g ADD x", "syntax error"),
    ],
)
def test_refusals_name_the_problem(sql: str, message: str) -> None:
    with pytest.raises(RedshiftError, match=message):
        users.translate(sql)


def test_create_user_without_password_says_so() -> None:
    # DG:r_CREATE_USER: PASSWORD is not optional.
    with pytest.raises(RedshiftError) as info:
        users.translate("CREATE USER u CREATEDB")
    assert info.value.hint is not None and "PASSWORD DISABLE" in info.value.hint


def test_alter_user_forms() -> None:
    # DG:r_ALTER_USER.
    assert call("ALTER USER u RENAME TO v")[2] == {"rename": "v"}
    assert call("ALTER USER u PASSWORD DISABLE")[2] == {"password": None, "password_set": True}
    assert call("ALTER USER u NOCREATEUSER NOCREATEDB")[2] == {
        "superuser": False,
        "createdb": False,
    }
    assert call("ALTER USER u SET search_path TO 'a', b")[2] == {"set": ["search_path", ["a", "b"]]}
    assert call("ALTER USER u SET statement_timeout = 3000")[2] == {
        "set": ["statement_timeout", ["3000"]]
    }
    assert call("ALTER USER u SET statement_timeout TO DEFAULT")[2] == {
        "set": ["statement_timeout", None]
    }
    assert call("ALTER USER u RESET ALL")[2] == {"reset": "all"}
    assert call("ALTER USER u RESET SESSION TIMEOUT")[2] == {"session_timeout": None}
    assert (
        call("ALTER USER u PASSWORD 'Ezpass12' VALID UNTIL 'infinity'")[2]["valid_until"]
        == "infinity"
    )


def test_drop_and_groups() -> None:
    assert call("DROP USER IF EXISTS a, b")[1:] == (
        "a",
        {"names": ["a", "b"], "if_exists": True},
        "DROP USER",
    )
    assert call("CREATE GROUP staff WITH USER a, b")[1:] == (
        "staff",
        {"users": ["a", "b"]},
        "CREATE GROUP",
    )
    assert call("CREATE GROUP staff")[2] == {"users": []}
    assert call("ALTER GROUP staff ADD USER a")[2] == {"add": ["a"]}
    assert call("ALTER GROUP staff DROP USER a, b")[2] == {"drop": ["a", "b"]}
    assert call("ALTER GROUP staff RENAME TO crew")[2] == {"rename": "crew"}
    assert call("DROP GROUP staff")[2] == {"names": ["staff"], "if_exists": False}


def test_values_cannot_break_out_of_their_literals() -> None:
    # A password is hashed before it reaches SQL; a SET value travels in JSON inside a
    # dollar-quoted literal whose tag it cannot close.
    _, _, spec, _ = call("ALTER USER u SET application_name TO '$rs$); DROP TABLE x; --'")
    assert spec == {"set": ["application_name", ["$rs$); DROP TABLE x; --"]]}
    rw = users.translate("ALTER USER u SET application_name TO '$rs$'")
    assert rw is not None and "$rs$$rs$" not in rw.sql
