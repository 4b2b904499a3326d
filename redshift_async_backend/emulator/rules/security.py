"""Users, groups, privileges and logins (the guide's "Managing database security").

The behaviour lives in the server's modules: :mod:`..users` (CREATE / ALTER / DROP USER and
GROUP as calls of the emulator's procedure), :mod:`..auth` (password forms), :mod:`..roles`
(each session runs upstream as its user's own role, never as a PostgreSQL superuser) and
:mod:`..refusals` (what PostgreSQL refuses such a role, worded as Redshift). The rules are
declared here so that docs/emulator-sql.md lists them with their pages and tests.
"""

from __future__ import annotations

from .declare import FULL, PARTLY, STYLE, Part

part = Part(
    "security",
    "Users, groups and privileges",
    "Database users and groups, their passwords and privileges, and what no session may reach.",
    order=7,
)

_USERS = "tests/emulator/test_users.py"
_SERVER_USERS = "tests/emulator/test_server_users.py"

part.rule(
    id="create-alter-drop-user-and-group",
    page="r_CREATE_USER",
    see=("r_ALTER_USER", "r_DROP_USER", "r_CREATE_GROUP", "r_ALTER_GROUP", "r_DROP_GROUP"),
    does="CREATE / ALTER / DROP USER with Redshift's options (CREATEUSER, CREATEDB, SYSLOG "
    "ACCESS, VALID UNTIL, CONNECTION LIMIT, SESSION TIMEOUT, IN GROUP, PASSWORD DISABLE) and "
    "CREATE / ALTER / DROP GROUP make real users and groups; a user who owns objects can't be "
    "dropped; the statements are transactional",
    fidelity=PARTLY,
    gap="SYSLOG ACCESS is accepted and changes nothing (the system views show every "
    "session's rows); SESSION TIMEOUT is PostgreSQL's idle_session_timeout",
    answer="42710 user ... already exists; 2BP01 user ... can't be dropped",
    source=STYLE,
    tests=(
        f"{_USERS}::test_create_user_with_every_option",
        f"{_USERS}::test_alter_user_forms",
        f"{_USERS}::test_drop_and_groups",
        f"{_USERS}::test_refusals_name_the_problem",
        f"{_USERS}::test_values_cannot_break_out_of_their_literals",
        f"{_SERVER_USERS}::test_user_statements_are_transactional_and_checked",
    ),
)
part.rule(
    id="passwords",
    page="r_CREATE_USER",
    see=("r_ALTER_USER",),
    does="A password is clear text (8 to 64 characters, an upper-case letter, a lower-case "
    "letter and a digit), an MD5 hash (`md5` + MD5 of password and user name) or a SHA-256 "
    "hash (`sha256|...`); VALID UNTIL expires it; PASSWORD DISABLE leaves IAM as the only "
    "login; a user changes their own password",
    fidelity=FULL,
    answer="28P01 password authentication failed for user ...",
    source=STYLE,
    tests=(
        f"{_USERS}::test_create_user_password_forms",
        f"{_USERS}::test_create_user_without_password_says_so",
        f"{_SERVER_USERS}::test_clear_text_password_logs_in_as_the_users_role",
        f"{_SERVER_USERS}::test_md5_and_sha256_password_forms",
        f"{_SERVER_USERS}::test_users_change_their_own_password",
        f"{_SERVER_USERS}::test_expired_and_disabled_passwords",
    ),
)
part.rule(
    id="sessions-run-as-their-user",
    page="r_Privileges",
    see=("r_GRANT", "r_REVOKE", "r_superusers"),
    does="A session has its user's privileges and no more: GRANT and REVOKE to users and "
    "groups, `has_table_privilege` and permission denied as on Redshift; a user created with "
    "CREATEUSER is a superuser",
    fidelity=PARTLY,
    gap="a Redshift superuser is no PostgreSQL superuser upstream: it reads and writes every "
    "table and may alter and drop what ordinary users own (their roles are granted to the "
    "superusers' role), but not what another superuser owns unless granted (PostgreSQL "
    "refuses circular role membership); `pg_user.usesuper` is PostgreSQL's",
    tests=(
        f"{_SERVER_USERS}::test_privileges_are_postgresqls_own",
        f"{_SERVER_USERS}::test_groups_carry_privileges",
        f"{_SERVER_USERS}::test_createuser_makes_a_superuser_who_is_no_postgresql_superuser",
    ),
)
part.rule(
    id="nothing-reaches-the-machine",
    page="c_unsupported-postgresql-functions",
    see=("r_COPY", "r_UNLOAD"),
    does="No session reads or writes the server's files or runs its programs: server file "
    "functions, COPY to or from a file or a program, server-side large objects and untrusted "
    "extensions are refused (Redshift's COPY and UNLOAD use Amazon S3 and other AWS sources)",
    fidelity=FULL,
    answer="0A000 COPY from a file on the server is not supported; 42883 function "
    "pg_read_file does not exist",
    source=STYLE,
    tests=(
        "tests/emulator/test_refusals.py::test_machine_refusals_are_reworded",
        "tests/emulator/test_server_security.py::test_nothing_reaches_the_machine",
        "tests/emulator/test_server_security.py::"
        "test_the_emulators_own_functions_and_tables_are_not_a_way_in",
    ),
)
part.not_emulated(
    id="role-based-access-control",
    page="r_CREATE_ROLE",
    see=("t_Roles",),
    does="Role-based access control: CREATE ROLE, GRANT ROLE, system-defined roles "
    "(sys:superuser, sys:dba, ...) and system privileges",
    gap="CREATE ROLE reaches PostgreSQL, which refuses it (a session may not create roles); "
    "use users and groups",
)
