"""Offline SQL syntax help for the shell's ``\\h``: every SQL command of PostgreSQL 15, with
a short description, a compact synopsis and the page of the manual.

Synopses use the manual's conventions: optional parts in ``[ ]``, alternatives in
``{ | }``, repetition as ``[, ...]``. A placeholder used in a synopsis is defined after a
blank line (``name: ...``); long ones (CREATE TABLE, ALTER TABLE, SELECT) show the main
forms only and say so. Imported only when ``\\h`` is used.
"""

from __future__ import annotations

from typing import NamedTuple

DOCS_URL = "https://www.postgresql.org/docs/15/sql-{}.html"


class Entry(NamedTuple):
    name: str
    slug: str  # the manual's page: DOCS_URL.format(slug)
    description: str
    synopsis: str

    @property
    def url(self) -> str:
        return DOCS_URL.format(self.slug)


def _e(name: str, slug: str, description: str, synopsis: str, *defs: str) -> Entry:
    """An entry; ``defs`` are shared placeholder definitions added after the synopsis."""
    text = synopsis.strip("\n")
    if defs:
        text += ("\n" if "\n\n" in text else "\n\n") + "\n".join(defs)
    return Entry(name, slug, description, text)


# Placeholder definitions shared by several commands.
ROLE_SPEC = "role_spec: role_name | CURRENT_ROLE | CURRENT_USER | SESSION_USER"
ARG = "arg: [ argmode ] [ argname ] argtype"
AGG_SIGNATURE = "signature: * | arg [, ...] | [ arg [, ...] ] ORDER BY arg [, ...]"
GRANTEE = "grantee: [ GROUP ] role_name | PUBLIC | CURRENT_ROLE | CURRENT_USER\n  | SESSION_USER"
USER_SPEC = "user_spec: user_name | USER | CURRENT_ROLE | CURRENT_USER | SESSION_USER\n  | PUBLIC"
OPTIONS_CHANGE = "options_change: OPTIONS ( [ ADD | SET | DROP ] option [ 'value' ] [, ...] )"
TRANSACTION_MODE = """\
transaction_mode:
  ISOLATION LEVEL { SERIALIZABLE | REPEATABLE READ | READ COMMITTED
                    | READ UNCOMMITTED }
  READ WRITE | READ ONLY
  [ NOT ] DEFERRABLE"""
ROLE_ATTRIBUTES = """\
  SUPERUSER | NOSUPERUSER | CREATEDB | NOCREATEDB | CREATEROLE | NOCREATEROLE
  INHERIT | NOINHERIT | LOGIN | NOLOGIN | REPLICATION | NOREPLICATION
  BYPASSRLS | NOBYPASSRLS | CONNECTION LIMIT connlimit
  [ ENCRYPTED ] PASSWORD 'password' | PASSWORD NULL | VALID UNTIL 'timestamp'"""
ROLE_OPTION = "option:\n" + ROLE_ATTRIBUTES
CREATE_ROLE_OPTION = (
    ROLE_OPTION
    + """
  IN ROLE role_name [, ...] | IN GROUP role_name [, ...]
  ROLE role_name [, ...] | ADMIN role_name [, ...] | USER role_name [, ...]
  SYSID uid"""
)
CURSOR_DIRECTION = """\
direction:
  NEXT | PRIOR | FIRST | LAST | ABSOLUTE count | RELATIVE count | count | ALL
  FORWARD [ count | ALL ] | BACKWARD [ count | ALL ]"""
GRANT_OBJECT = """\
object (the privileges it takes):
  [ TABLE ] table_name [, ...] | ALL TABLES IN SCHEMA schema_name [, ...]
      (SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER)
  SEQUENCE sequence_name [, ...] | ALL SEQUENCES IN SCHEMA schema_name [, ...]
      (USAGE, SELECT, UPDATE)
  DATABASE database_name [, ...]  (CREATE, CONNECT, TEMPORARY | TEMP)
  DOMAIN domain_name [, ...]  (USAGE)
  FOREIGN DATA WRAPPER fdw_name [, ...]  (USAGE)
  FOREIGN SERVER server_name [, ...]  (USAGE)
  { FUNCTION | PROCEDURE | ROUTINE } name [ ( [ arg [, ...] ] ) ] [, ...]
  | ALL { FUNCTIONS | PROCEDURES | ROUTINES } IN SCHEMA schema_name [, ...]
      (EXECUTE)
  LANGUAGE lang_name [, ...]  (USAGE)
  LARGE OBJECT large_object_oid [, ...]  (SELECT, UPDATE)
  PARAMETER configuration_parameter [, ...]  (SET, ALTER SYSTEM)
  SCHEMA schema_name [, ...]  (CREATE, USAGE)
  TABLESPACE tablespace_name [, ...]  (CREATE)
  TYPE type_name [, ...]  (USAGE)
column_privilege: SELECT | INSERT | UPDATE | REFERENCES"""
RETURNING = "[ RETURNING { * | output_expression [ [ AS ] output_name ] } [, ...] ]"
WITH_CLAUSE = "[ WITH [ RECURSIVE ] with_query [, ...] ]"
FUNCTION_ACTION = """\
action:
  CALLED ON NULL INPUT | RETURNS NULL ON NULL INPUT | STRICT
  IMMUTABLE | STABLE | VOLATILE | [ NOT ] LEAKPROOF
  [ EXTERNAL ] SECURITY INVOKER | [ EXTERNAL ] SECURITY DEFINER
  PARALLEL { UNSAFE | RESTRICTED | SAFE }
  COST execution_cost | ROWS result_rows | SUPPORT support_function
  SET parameter { TO | = } { value | DEFAULT } | SET parameter FROM CURRENT
  RESET parameter | RESET ALL"""
ROUTINE_ACTION = """\
action:
  IMMUTABLE | STABLE | VOLATILE | [ NOT ] LEAKPROOF
  [ EXTERNAL ] SECURITY INVOKER | [ EXTERNAL ] SECURITY DEFINER
  PARALLEL { UNSAFE | RESTRICTED | SAFE }
  COST execution_cost | ROWS result_rows
  SET parameter { TO | = } { value | DEFAULT } | SET parameter FROM CURRENT
  RESET parameter | RESET ALL"""
PROCEDURE_ACTION = """\
action:
  [ EXTERNAL ] SECURITY INVOKER | [ EXTERNAL ] SECURITY DEFINER
  SET parameter { TO | = } { value | DEFAULT } | SET parameter FROM CURRENT
  RESET parameter | RESET ALL"""
COLUMN_CONSTRAINT = """\
column_constraint:
  [ CONSTRAINT constraint_name ]
  { NOT NULL | NULL | CHECK ( expression ) [ NO INHERIT ] | DEFAULT default_expr
    | GENERATED ALWAYS AS ( generation_expr ) STORED
    | GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY [ ( sequence_options ) ]
    | UNIQUE [ NULLS [ NOT ] DISTINCT ] index_parameters
    | PRIMARY KEY index_parameters
    | REFERENCES reftable [ ( refcolumn ) ]
        [ MATCH { FULL | PARTIAL | SIMPLE } ]
        [ ON DELETE referential_action ] [ ON UPDATE referential_action ] }
  [ DEFERRABLE | NOT DEFERRABLE ] [ INITIALLY DEFERRED | INITIALLY IMMEDIATE ]"""
TABLE_CONSTRAINT = """\
table_constraint:
  [ CONSTRAINT constraint_name ]
  { CHECK ( expression ) [ NO INHERIT ]
    | UNIQUE [ NULLS [ NOT ] DISTINCT ] ( column_name [, ...] ) index_parameters
    | PRIMARY KEY ( column_name [, ...] ) index_parameters
    | EXCLUDE [ USING index_method ] ( exclude_element WITH operator [, ...] )
        index_parameters [ WHERE ( predicate ) ]
    | FOREIGN KEY ( column_name [, ...] )
        REFERENCES reftable [ ( refcolumn [, ...] ) ]
        [ MATCH { FULL | PARTIAL | SIMPLE } ]
        [ ON DELETE referential_action ] [ ON UPDATE referential_action ] }
  [ DEFERRABLE | NOT DEFERRABLE ] [ INITIALLY DEFERRED | INITIALLY IMMEDIATE ]"""
CONSTRAINT_PARTS = """\
index_parameters: [ INCLUDE ( column_name [, ...] ) ]
  [ WITH ( storage_parameter [= value] [, ...] ) ]
  [ USING INDEX TABLESPACE tablespace_name ]
exclude_element: { column_name | ( expression ) } [ opclass ] [ ASC | DESC ]
  [ NULLS { FIRST | LAST } ]
referential_action: NO ACTION | RESTRICT | CASCADE
  | SET NULL [ ( column_name [, ...] ) ]
  | SET DEFAULT [ ( column_name [, ...] ) ]"""
PARTITION_BOUND = """\
partition_bound:
  IN ( expression [, ...] )
  FROM ( { expression | MINVALUE | MAXVALUE } [, ...] )
    TO ( { expression | MINVALUE | MAXVALUE } [, ...] )
  WITH ( MODULUS numeric_literal, REMAINDER numeric_literal )"""
SEQUENCE_OPTIONS = """\
    [ AS data_type ] [ INCREMENT [ BY ] increment ]
    [ MINVALUE minvalue | NO MINVALUE ] [ MAXVALUE maxvalue | NO MAXVALUE ]
    [ START [ WITH ] start ] [ CACHE cache ] [ [ NO ] CYCLE ]"""
FROM_ITEM = """\
from_item:
  [ ONLY ] table_name [ * ] [ [ AS ] alias [ ( column_alias [, ...] ) ] ]
      [ TABLESAMPLE sampling_method ( argument [, ...] )
          [ REPEATABLE ( seed ) ] ]
  [ LATERAL ] ( select ) [ AS ] alias [ ( column_alias [, ...] ) ]
  with_query_name [ [ AS ] alias [ ( column_alias [, ...] ) ] ]
  [ LATERAL ] function_name ( [ argument [, ...] ] ) [ WITH ORDINALITY ]
      [ [ AS ] alias [ ( column_alias [, ...] ) ] ]
  [ LATERAL ] ROWS FROM ( function_name ( [ argument [, ...] ] ) [, ...] )
      [ WITH ORDINALITY ] [ [ AS ] alias [ ( column_alias [, ...] ) ] ]
  from_item join_type from_item
      { ON join_condition
      | USING ( join_column [, ...] ) [ AS join_using_alias ] }
  from_item NATURAL join_type from_item
  from_item CROSS JOIN from_item
join_type: [ INNER ] JOIN | { LEFT | RIGHT | FULL } [ OUTER ] JOIN"""
WITH_QUERY = """\
with_query: with_query_name [ ( column_name [, ...] ) ]
  AS [ [ NOT ] MATERIALIZED ] ( select | values | insert | update | delete )
  [ SEARCH { BREADTH | DEPTH } FIRST BY column_name [, ...] SET search_seq_col ]
  [ CYCLE column_name [, ...] SET cycle_mark_col
      [ TO cycle_mark_value DEFAULT cycle_mark_default ] USING cycle_path_col ]"""
POLICY_ROLE = "role: role_name | PUBLIC | CURRENT_ROLE | CURRENT_USER | SESSION_USER"
ANALYZE_TARGET = "table_and_columns: table_name [ ( column_name [, ...] ) ]"
PUBLICATION_OBJECT = """\
publication_object:
  TABLE [ ONLY ] table_name [ * ] [ ( column_name [, ...] ) ]
      [ WHERE ( expression ) ] [, ...]
  TABLES IN SCHEMA { schema_name | CURRENT_SCHEMA } [, ...]"""
COMMENT_OBJECT = """\
object:
  { ACCESS METHOD | COLLATION | CONVERSION | DATABASE | DOMAIN | EVENT TRIGGER
    | EXTENSION | FOREIGN DATA WRAPPER | FOREIGN TABLE | INDEX
    | [ PROCEDURAL ] LANGUAGE | MATERIALIZED VIEW | PUBLICATION | ROLE | SCHEMA
    | SEQUENCE | SERVER | STATISTICS | SUBSCRIPTION | TABLE | TABLESPACE
    | TEXT SEARCH { CONFIGURATION | DICTIONARY | PARSER | TEMPLATE }
    | TYPE | VIEW } object_name
  COLUMN relation_name.column_name
  AGGREGATE aggregate_name ( signature )
  CAST ( source_type AS target_type )
  CONSTRAINT constraint_name ON { table_name | DOMAIN domain_name }
  { FUNCTION | PROCEDURE | ROUTINE } name [ ( [ arg [, ...] ] ) ]
  LARGE OBJECT large_object_oid
  OPERATOR operator_name ( { left_type | NONE }, right_type )
  OPERATOR { CLASS | FAMILY } object_name USING index_method
  { POLICY | RULE | TRIGGER } object_name ON table_name
  TRANSFORM FOR type_name LANGUAGE lang_name"""
SECURITY_LABEL_OBJECT = """\
object:
  { TABLE | DATABASE | DOMAIN | EVENT TRIGGER | FOREIGN TABLE
    | MATERIALIZED VIEW | [ PROCEDURAL ] LANGUAGE | PUBLICATION | ROLE | SCHEMA
    | SEQUENCE | SUBSCRIPTION | TABLESPACE | TYPE | VIEW } object_name
  COLUMN table_name.column_name
  AGGREGATE aggregate_name ( signature )
  { FUNCTION | PROCEDURE | ROUTINE } name [ ( [ arg [, ...] ] ) ]
  LARGE OBJECT large_object_oid"""
MOVE_ALL = """\
{0} ALL IN TABLESPACE name [ OWNED BY role_name [, ...] ]
    SET TABLESPACE new_tablespace [ NOWAIT ]"""


def _rename_owner_schema(prefix: str) -> str:
    return (
        f"{prefix} RENAME TO new_name\n{prefix} OWNER TO role_spec\n{prefix} SET SCHEMA new_schema"
    )


ENTRIES: tuple[Entry, ...] = (
    _e(
        "ABORT",
        "abort",
        "Roll back the current transaction (the same as ROLLBACK).",
        "ABORT [ WORK | TRANSACTION ] [ AND [ NO ] CHAIN ]",
    ),
    _e(
        "ALTER AGGREGATE",
        "alteraggregate",
        "Rename an aggregate function, or change its owner or schema.",
        _rename_owner_schema("ALTER AGGREGATE name ( signature )"),
        AGG_SIGNATURE,
        ARG,
        ROLE_SPEC,
    ),
    _e(
        "ALTER COLLATION",
        "altercollation",
        "Rename a collation, change its owner or schema, or refresh its version.",
        "ALTER COLLATION name REFRESH VERSION\n" + _rename_owner_schema("ALTER COLLATION name"),
        ROLE_SPEC,
    ),
    _e(
        "ALTER CONVERSION",
        "alterconversion",
        "Rename an encoding conversion, or change its owner or schema.",
        _rename_owner_schema("ALTER CONVERSION name"),
        ROLE_SPEC,
    ),
    _e(
        "ALTER DATABASE",
        "alterdatabase",
        "Change a database's settings, name, owner, tablespace or parameter defaults.",
        """
ALTER DATABASE name [ [ WITH ] option [ ... ] ]
ALTER DATABASE name RENAME TO new_name
ALTER DATABASE name OWNER TO role_spec
ALTER DATABASE name SET TABLESPACE new_tablespace
ALTER DATABASE name REFRESH COLLATION VERSION
ALTER DATABASE name SET parameter { TO | = } { value | DEFAULT }
ALTER DATABASE name SET parameter FROM CURRENT
ALTER DATABASE name RESET { parameter | ALL }

option: ALLOW_CONNECTIONS allowconn | CONNECTION LIMIT connlimit
  | IS_TEMPLATE istemplate
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER DEFAULT PRIVILEGES",
        "alterdefaultprivileges",
        "Set the privileges that objects created later will be given.",
        """
ALTER DEFAULT PRIVILEGES [ FOR { ROLE | USER } target_role [, ...] ]
    [ IN SCHEMA schema_name [, ...] ]
    { GRANT privileges ON kind TO grantee [, ...] [ WITH GRANT OPTION ]
    | REVOKE [ GRANT OPTION FOR ] privileges ON kind
        FROM grantee [, ...] [ CASCADE | RESTRICT ] }

privileges: { privilege [, ...] | ALL [ PRIVILEGES ] }
kind (the privileges it takes):
  TABLES  (SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER)
  SEQUENCES  (USAGE, SELECT, UPDATE)
  FUNCTIONS | ROUTINES  (EXECUTE)
  TYPES  (USAGE)
  SCHEMAS  (USAGE, CREATE; not with IN SCHEMA)
""",
        GRANTEE,
    ),
    _e(
        "ALTER DOMAIN",
        "alterdomain",
        "Change a domain's default, constraints, name, owner or schema.",
        """
ALTER DOMAIN name { SET DEFAULT expression | DROP DEFAULT }
ALTER DOMAIN name { SET | DROP } NOT NULL
ALTER DOMAIN name ADD [ CONSTRAINT constraint_name ] CHECK ( expression )
    [ NOT VALID ]
ALTER DOMAIN name DROP CONSTRAINT [ IF EXISTS ] constraint_name
    [ RESTRICT | CASCADE ]
ALTER DOMAIN name RENAME CONSTRAINT constraint_name TO new_constraint_name
ALTER DOMAIN name VALIDATE CONSTRAINT constraint_name
"""
        + _rename_owner_schema("ALTER DOMAIN name"),
        ROLE_SPEC,
    ),
    _e(
        "ALTER EVENT TRIGGER",
        "altereventtrigger",
        "Enable or disable an event trigger, rename it or change its owner.",
        """
ALTER EVENT TRIGGER name DISABLE
ALTER EVENT TRIGGER name ENABLE [ REPLICA | ALWAYS ]
ALTER EVENT TRIGGER name OWNER TO role_spec
ALTER EVENT TRIGGER name RENAME TO new_name
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER EXTENSION",
        "alterextension",
        "Update an installed extension, move it, or add or remove member objects.",
        """
ALTER EXTENSION name UPDATE [ TO new_version ]
ALTER EXTENSION name SET SCHEMA new_schema
ALTER EXTENSION name { ADD | DROP } member_object

member_object: an object named as in COMMENT ON, e.g. TABLE table_name,
  FUNCTION name [ ( [ arg [, ...] ] ) ], TYPE type_name (\\h COMMENT)
""",
        ARG,
    ),
    _e(
        "ALTER FOREIGN DATA WRAPPER",
        "alterforeigndatawrapper",
        "Change a foreign-data wrapper's functions, options, owner or name.",
        """
ALTER FOREIGN DATA WRAPPER name
    [ HANDLER handler_function | NO HANDLER ]
    [ VALIDATOR validator_function | NO VALIDATOR ]
    [ options_change ]
ALTER FOREIGN DATA WRAPPER name OWNER TO role_spec
ALTER FOREIGN DATA WRAPPER name RENAME TO new_name
""",
        OPTIONS_CHANGE,
        ROLE_SPEC,
    ),
    _e(
        "ALTER FOREIGN TABLE",
        "alterforeigntable",
        "Change the columns, constraints, options or other properties of a foreign table.",
        """
ALTER FOREIGN TABLE [ IF EXISTS ] [ ONLY ] name [ * ] action [, ...]
ALTER FOREIGN TABLE [ IF EXISTS ] [ ONLY ] name [ * ]
    RENAME [ COLUMN ] column_name TO new_column_name
ALTER FOREIGN TABLE [ IF EXISTS ] name RENAME TO new_name
ALTER FOREIGN TABLE [ IF EXISTS ] name SET SCHEMA new_schema

action (main forms):
  ADD [ COLUMN ] column_name data_type [ COLLATE collation ]
      [ column_constraint [ ... ] ]
  DROP [ COLUMN ] [ IF EXISTS ] column_name [ RESTRICT | CASCADE ]
  ALTER [ COLUMN ] column_name [ SET DATA ] TYPE data_type [ COLLATE collation ]
  ALTER [ COLUMN ] column_name { SET DEFAULT expression | DROP DEFAULT }
  ALTER [ COLUMN ] column_name { SET | DROP } NOT NULL
  ALTER [ COLUMN ] column_name SET STATISTICS integer
  ALTER [ COLUMN ] column_name options_change
  ADD table_constraint [ NOT VALID ]
  VALIDATE CONSTRAINT constraint_name
  DROP CONSTRAINT [ IF EXISTS ] constraint_name [ RESTRICT | CASCADE ]
  { ENABLE | DISABLE } TRIGGER [ trigger_name | ALL | USER ]
  INHERIT parent_table | NO INHERIT parent_table
  OWNER TO role_spec
  options_change
column_constraint, table_constraint: as in CREATE FOREIGN TABLE
""",
        OPTIONS_CHANGE,
        ROLE_SPEC,
    ),
    _e(
        "ALTER FUNCTION",
        "alterfunction",
        "Change a function's attributes, name, owner or schema.",
        """
ALTER FUNCTION name [ ( [ arg [, ...] ] ) ] action [ ... ] [ RESTRICT ]
ALTER FUNCTION name [ ( [ arg [, ...] ] ) ] RENAME TO new_name
ALTER FUNCTION name [ ( [ arg [, ...] ] ) ] OWNER TO role_spec
ALTER FUNCTION name [ ( [ arg [, ...] ] ) ] SET SCHEMA new_schema
ALTER FUNCTION name [ ( [ arg [, ...] ] ) ]
    [ NO ] DEPENDS ON EXTENSION extension_name
""",
        ARG,
        FUNCTION_ACTION,
        ROLE_SPEC,
    ),
    _e(
        "ALTER GROUP",
        "altergroup",
        "Add users to a role or remove them (kept for compatibility; see GRANT).",
        """
ALTER GROUP role_spec { ADD | DROP } USER user_name [, ...]
ALTER GROUP group_name RENAME TO new_name
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER INDEX",
        "alterindex",
        "Rename an index or change its tablespace, storage parameters or statistics.",
        """
ALTER INDEX [ IF EXISTS ] name RENAME TO new_name
ALTER INDEX [ IF EXISTS ] name SET TABLESPACE tablespace_name
ALTER INDEX name ATTACH PARTITION index_name
ALTER INDEX name [ NO ] DEPENDS ON EXTENSION extension_name
ALTER INDEX [ IF EXISTS ] name SET ( storage_parameter [= value] [, ...] )
ALTER INDEX [ IF EXISTS ] name RESET ( storage_parameter [, ...] )
ALTER INDEX [ IF EXISTS ] name ALTER [ COLUMN ] column_number
    SET STATISTICS integer
"""
        + MOVE_ALL.format("ALTER INDEX"),
    ),
    _e(
        "ALTER LANGUAGE",
        "alterlanguage",
        "Rename a procedural language or change its owner.",
        """
ALTER [ PROCEDURAL ] LANGUAGE name RENAME TO new_name
ALTER [ PROCEDURAL ] LANGUAGE name OWNER TO role_spec
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER LARGE OBJECT",
        "alterlargeobject",
        "Give a large object to another owner.",
        "ALTER LARGE OBJECT large_object_oid OWNER TO role_spec",
        ROLE_SPEC,
    ),
    _e(
        "ALTER MATERIALIZED VIEW",
        "altermaterializedview",
        "Change the columns, storage, name, owner or schema of a materialized view.",
        """
ALTER MATERIALIZED VIEW [ IF EXISTS ] name action [, ...]
ALTER MATERIALIZED VIEW name [ NO ] DEPENDS ON EXTENSION extension_name
ALTER MATERIALIZED VIEW [ IF EXISTS ] name
    RENAME [ COLUMN ] column_name TO new_column_name
ALTER MATERIALIZED VIEW [ IF EXISTS ] name RENAME TO new_name
ALTER MATERIALIZED VIEW [ IF EXISTS ] name SET SCHEMA new_schema
"""
        + MOVE_ALL.format("ALTER MATERIALIZED VIEW")
        + """

action:
  ALTER [ COLUMN ] column_name SET STATISTICS integer
  ALTER [ COLUMN ] column_name SET ( attribute_option = value [, ...] )
  ALTER [ COLUMN ] column_name RESET ( attribute_option [, ...] )
  ALTER [ COLUMN ] column_name SET STORAGE { PLAIN | EXTERNAL | EXTENDED
      | MAIN }
  ALTER [ COLUMN ] column_name SET COMPRESSION compression_method
  CLUSTER ON index_name | SET WITHOUT CLUSTER
  SET ACCESS METHOD new_access_method | SET TABLESPACE new_tablespace
  SET ( storage_parameter [= value] [, ...] )
  RESET ( storage_parameter [, ...] )
  OWNER TO role_spec
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER OPERATOR",
        "alteroperator",
        "Change an operator's owner, schema or selectivity estimators.",
        """
ALTER OPERATOR name ( { left_type | NONE }, right_type ) OWNER TO role_spec
ALTER OPERATOR name ( { left_type | NONE }, right_type ) SET SCHEMA new_schema
ALTER OPERATOR name ( { left_type | NONE }, right_type ) SET
    ( { RESTRICT = { res_proc | NONE } | JOIN = { join_proc | NONE } } [, ...] )
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER OPERATOR CLASS",
        "alteropclass",
        "Rename an operator class, or change its owner or schema.",
        _rename_owner_schema("ALTER OPERATOR CLASS name USING index_method"),
        ROLE_SPEC,
    ),
    _e(
        "ALTER OPERATOR FAMILY",
        "alteropfamily",
        "Add operators and support functions to an operator family, or remove them.",
        """
ALTER OPERATOR FAMILY name USING index_method ADD
    { OPERATOR strategy_number operator_name ( op_type, op_type )
        [ FOR SEARCH | FOR ORDER BY sort_family_name ]
    | FUNCTION support_number [ ( op_type [, op_type ] ) ]
        function_name [ ( argument_type [, ...] ) ] } [, ...]
ALTER OPERATOR FAMILY name USING index_method DROP
    { OPERATOR strategy_number ( op_type [, op_type ] )
    | FUNCTION support_number ( op_type [, op_type ] ) } [, ...]
"""
        + _rename_owner_schema("ALTER OPERATOR FAMILY name USING index_method"),
        ROLE_SPEC,
    ),
    _e(
        "ALTER POLICY",
        "alterpolicy",
        "Rename a row-level security policy or change its roles and expressions.",
        """
ALTER POLICY name ON table_name RENAME TO new_name
ALTER POLICY name ON table_name
    [ TO role [, ...] ]
    [ USING ( using_expression ) ]
    [ WITH CHECK ( check_expression ) ]
""",
        POLICY_ROLE,
    ),
    _e(
        "ALTER PROCEDURE",
        "alterprocedure",
        "Change a procedure's attributes, name, owner or schema.",
        """
ALTER PROCEDURE name [ ( [ arg [, ...] ] ) ] action [ ... ] [ RESTRICT ]
ALTER PROCEDURE name [ ( [ arg [, ...] ] ) ] RENAME TO new_name
ALTER PROCEDURE name [ ( [ arg [, ...] ] ) ] OWNER TO role_spec
ALTER PROCEDURE name [ ( [ arg [, ...] ] ) ] SET SCHEMA new_schema
ALTER PROCEDURE name [ ( [ arg [, ...] ] ) ]
    [ NO ] DEPENDS ON EXTENSION extension_name
""",
        ARG,
        PROCEDURE_ACTION,
        ROLE_SPEC,
    ),
    _e(
        "ALTER PUBLICATION",
        "alterpublication",
        "Change what a publication replicates, or its parameters, owner or name.",
        """
ALTER PUBLICATION name { ADD | SET | DROP } publication_object [, ...]
ALTER PUBLICATION name SET ( publication_parameter [= value] [, ...] )
ALTER PUBLICATION name OWNER TO role_spec
ALTER PUBLICATION name RENAME TO new_name
""",
        PUBLICATION_OBJECT + "\n  (DROP takes neither a column list nor WHERE)",
        ROLE_SPEC,
    ),
    _e(
        "ALTER ROLE",
        "alterrole",
        "Change a role's attributes, password, name or per-database settings.",
        """
ALTER ROLE role_spec [ WITH ] option [ ... ]
ALTER ROLE name RENAME TO new_name
ALTER ROLE { role_spec | ALL } [ IN DATABASE database_name ]
    SET parameter { TO | = } { value | DEFAULT }
ALTER ROLE { role_spec | ALL } [ IN DATABASE database_name ]
    SET parameter FROM CURRENT
ALTER ROLE { role_spec | ALL } [ IN DATABASE database_name ]
    RESET { parameter | ALL }
""",
        ROLE_OPTION,
        ROLE_SPEC,
    ),
    _e(
        "ALTER ROUTINE",
        "alterroutine",
        "Change the attributes, name, owner or schema of a function or procedure.",
        """
ALTER ROUTINE name [ ( [ arg [, ...] ] ) ] action [ ... ] [ RESTRICT ]
ALTER ROUTINE name [ ( [ arg [, ...] ] ) ] RENAME TO new_name
ALTER ROUTINE name [ ( [ arg [, ...] ] ) ] OWNER TO role_spec
ALTER ROUTINE name [ ( [ arg [, ...] ] ) ] SET SCHEMA new_schema
ALTER ROUTINE name [ ( [ arg [, ...] ] ) ]
    [ NO ] DEPENDS ON EXTENSION extension_name
""",
        ARG,
        ROUTINE_ACTION,
        ROLE_SPEC,
    ),
    _e(
        "ALTER RULE",
        "alterrule",
        "Give a rewrite rule a new name.",
        "ALTER RULE name ON table_name RENAME TO new_name",
    ),
    _e(
        "ALTER SCHEMA",
        "alterschema",
        "Rename a schema or give it to another owner.",
        """
ALTER SCHEMA name RENAME TO new_name
ALTER SCHEMA name OWNER TO role_spec
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER SEQUENCE",
        "altersequence",
        "Change a sequence's parameters, persistence, owner, name or schema.",
        "ALTER SEQUENCE [ IF EXISTS ] name\n"
        + SEQUENCE_OPTIONS
        + """
    [ RESTART [ [ WITH ] restart ] ]
    [ OWNED BY { table_name.column_name | NONE } ]
ALTER SEQUENCE [ IF EXISTS ] name SET { LOGGED | UNLOGGED }
"""
        + _rename_owner_schema("ALTER SEQUENCE [ IF EXISTS ] name"),
        ROLE_SPEC,
    ),
    _e(
        "ALTER SERVER",
        "alterserver",
        "Change a foreign server's version, options, owner or name.",
        """
ALTER SERVER name [ VERSION 'new_version' ] [ options_change ]
ALTER SERVER name OWNER TO role_spec
ALTER SERVER name RENAME TO new_name
""",
        OPTIONS_CHANGE,
        ROLE_SPEC,
    ),
    _e(
        "ALTER STATISTICS",
        "alterstatistics",
        "Change an extended statistics object's owner, name, schema or target.",
        _rename_owner_schema("ALTER STATISTICS name")
        + "\nALTER STATISTICS name SET STATISTICS new_target",
        ROLE_SPEC,
    ),
    _e(
        "ALTER SUBSCRIPTION",
        "altersubscription",
        "Change a subscription's connection, publications, state or parameters.",
        """
ALTER SUBSCRIPTION name CONNECTION 'conninfo'
ALTER SUBSCRIPTION name { SET | ADD | DROP } PUBLICATION
    publication_name [, ...] [ WITH ( publication_option [= value] [, ...] ) ]
ALTER SUBSCRIPTION name REFRESH PUBLICATION
    [ WITH ( refresh_option [= value] [, ...] ) ]
ALTER SUBSCRIPTION name { ENABLE | DISABLE }
ALTER SUBSCRIPTION name SET ( subscription_parameter [= value] [, ...] )
ALTER SUBSCRIPTION name SKIP ( skip_option = value )
ALTER SUBSCRIPTION name OWNER TO role_spec
ALTER SUBSCRIPTION name RENAME TO new_name
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER SYSTEM",
        "altersystem",
        "Write a server parameter to postgresql.auto.conf, or take it out again.",
        """
ALTER SYSTEM SET parameter { TO | = } { value [, ...] | DEFAULT }
ALTER SYSTEM RESET { parameter | ALL }
""",
    ),
    _e(
        "ALTER TABLE",
        "altertable",
        "Change a table's columns, constraints, triggers, storage, partitions or owner.",
        """
ALTER TABLE [ IF EXISTS ] [ ONLY ] name [ * ] action [, ...]
ALTER TABLE [ IF EXISTS ] [ ONLY ] name [ * ]
    RENAME [ COLUMN ] column_name TO new_column_name
ALTER TABLE [ IF EXISTS ] [ ONLY ] name [ * ]
    RENAME CONSTRAINT constraint_name TO new_constraint_name
ALTER TABLE [ IF EXISTS ] name RENAME TO new_name
ALTER TABLE [ IF EXISTS ] name SET SCHEMA new_schema
ALTER TABLE [ IF EXISTS ] name
    ATTACH PARTITION partition_name { FOR VALUES partition_bound | DEFAULT }
ALTER TABLE [ IF EXISTS ] name
    DETACH PARTITION partition_name [ CONCURRENTLY | FINALIZE ]
"""
        + MOVE_ALL.format("ALTER TABLE")
        + """

action (main forms):
  ADD [ COLUMN ] [ IF NOT EXISTS ] column_name data_type [ COLLATE collation ]
      [ column_constraint [ ... ] ]
  DROP [ COLUMN ] [ IF EXISTS ] column_name [ RESTRICT | CASCADE ]
  ALTER [ COLUMN ] column_name [ SET DATA ] TYPE data_type
      [ COLLATE collation ] [ USING expression ]
  ALTER [ COLUMN ] column_name { SET DEFAULT expression | DROP DEFAULT }
  ALTER [ COLUMN ] column_name { SET | DROP } NOT NULL
  ALTER [ COLUMN ] column_name DROP EXPRESSION [ IF EXISTS ]
  ALTER [ COLUMN ] column_name ADD GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY
      [ ( sequence_options ) ]
  ALTER [ COLUMN ] column_name DROP IDENTITY [ IF EXISTS ]
  ALTER [ COLUMN ] column_name SET STATISTICS integer
  ALTER [ COLUMN ] column_name SET STORAGE { PLAIN | EXTERNAL | EXTENDED
      | MAIN }
  ALTER [ COLUMN ] column_name SET COMPRESSION compression_method
  ADD table_constraint [ NOT VALID ]
  ADD [ CONSTRAINT constraint_name ] { UNIQUE | PRIMARY KEY }
      USING INDEX index_name [ DEFERRABLE | NOT DEFERRABLE ]
      [ INITIALLY DEFERRED | INITIALLY IMMEDIATE ]
  ALTER CONSTRAINT constraint_name [ DEFERRABLE | NOT DEFERRABLE ]
      [ INITIALLY DEFERRED | INITIALLY IMMEDIATE ]
  VALIDATE CONSTRAINT constraint_name
  DROP CONSTRAINT [ IF EXISTS ] constraint_name [ RESTRICT | CASCADE ]
  { ENABLE | DISABLE } TRIGGER [ trigger_name | ALL | USER ]
  ENABLE { REPLICA | ALWAYS } TRIGGER trigger_name
  { ENABLE | DISABLE } RULE rewrite_rule_name
  ENABLE { REPLICA | ALWAYS } RULE rewrite_rule_name
  { ENABLE | DISABLE | FORCE | NO FORCE } ROW LEVEL SECURITY
  CLUSTER ON index_name | SET WITHOUT CLUSTER
  SET WITHOUT OIDS | SET ACCESS METHOD new_access_method
  SET TABLESPACE new_tablespace | SET { LOGGED | UNLOGGED }
  SET ( storage_parameter [= value] [, ...] )
  RESET ( storage_parameter [, ...] )
  INHERIT parent_table | NO INHERIT parent_table
  OF type_name | NOT OF
  OWNER TO role_spec
  REPLICA IDENTITY { DEFAULT | USING INDEX index_name | FULL | NOTHING }
column_constraint, table_constraint, partition_bound: as in CREATE TABLE
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER TABLESPACE",
        "altertablespace",
        "Rename a tablespace or change its owner or options.",
        """
ALTER TABLESPACE name RENAME TO new_name
ALTER TABLESPACE name OWNER TO role_spec
ALTER TABLESPACE name SET ( tablespace_option = value [, ...] )
ALTER TABLESPACE name RESET ( tablespace_option [, ...] )
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER TEXT SEARCH CONFIGURATION",
        "altertsconfig",
        "Change the dictionaries a text search configuration uses per token type.",
        """
ALTER TEXT SEARCH CONFIGURATION name
    { ADD | ALTER } MAPPING FOR token_type [, ...] WITH dictionary_name [, ...]
ALTER TEXT SEARCH CONFIGURATION name
    ALTER MAPPING [ FOR token_type [, ...] ]
    REPLACE old_dictionary WITH new_dictionary
ALTER TEXT SEARCH CONFIGURATION name
    DROP MAPPING [ IF EXISTS ] FOR token_type [, ...]
"""
        + _rename_owner_schema("ALTER TEXT SEARCH CONFIGURATION name"),
        ROLE_SPEC,
    ),
    _e(
        "ALTER TEXT SEARCH DICTIONARY",
        "altertsdictionary",
        "Change a text search dictionary's options, name, owner or schema.",
        "ALTER TEXT SEARCH DICTIONARY name ( option [ = value ] [, ...] )\n"
        + _rename_owner_schema("ALTER TEXT SEARCH DICTIONARY name"),
        ROLE_SPEC,
    ),
    _e(
        "ALTER TEXT SEARCH PARSER",
        "altertsparser",
        "Rename a text search parser or move it to another schema.",
        """
ALTER TEXT SEARCH PARSER name RENAME TO new_name
ALTER TEXT SEARCH PARSER name SET SCHEMA new_schema
""",
    ),
    _e(
        "ALTER TEXT SEARCH TEMPLATE",
        "altertstemplate",
        "Rename a text search template or move it to another schema.",
        """
ALTER TEXT SEARCH TEMPLATE name RENAME TO new_name
ALTER TEXT SEARCH TEMPLATE name SET SCHEMA new_schema
""",
    ),
    _e(
        "ALTER TRIGGER",
        "altertrigger",
        "Rename a trigger, or mark it as depending on an extension.",
        """
ALTER TRIGGER name ON table_name RENAME TO new_name
ALTER TRIGGER name ON table_name [ NO ] DEPENDS ON EXTENSION extension_name
""",
    ),
    _e(
        "ALTER TYPE",
        "altertype",
        "Change a data type's attributes, enum labels, properties, name, owner or schema.",
        _rename_owner_schema("ALTER TYPE name")
        + """
ALTER TYPE name RENAME ATTRIBUTE attribute_name TO new_attribute_name
    [ CASCADE | RESTRICT ]
ALTER TYPE name action [, ...]
ALTER TYPE name ADD VALUE [ IF NOT EXISTS ] new_enum_value
    [ { BEFORE | AFTER } neighbor_enum_value ]
ALTER TYPE name RENAME VALUE existing_enum_value TO new_enum_value
ALTER TYPE name SET ( property = value [, ...] )

action:
  ADD ATTRIBUTE attribute_name data_type [ COLLATE collation ]
      [ CASCADE | RESTRICT ]
  DROP ATTRIBUTE [ IF EXISTS ] attribute_name [ CASCADE | RESTRICT ]
  ALTER ATTRIBUTE attribute_name [ SET DATA ] TYPE data_type
      [ COLLATE collation ] [ CASCADE | RESTRICT ]
""",
        ROLE_SPEC,
    ),
    _e(
        "ALTER USER",
        "alteruser",
        "Change a role's attributes (another spelling of ALTER ROLE).",
        """
ALTER USER role_spec [ WITH ] option [ ... ]
ALTER USER name RENAME TO new_name
ALTER USER { role_spec | ALL } [ IN DATABASE database_name ]
    SET parameter { TO | = } { value | DEFAULT }
ALTER USER { role_spec | ALL } [ IN DATABASE database_name ]
    SET parameter FROM CURRENT
ALTER USER { role_spec | ALL } [ IN DATABASE database_name ]
    RESET { parameter | ALL }
""",
        ROLE_OPTION,
        ROLE_SPEC,
    ),
    _e(
        "ALTER USER MAPPING",
        "alterusermapping",
        "Change the options of a user's mapping to a foreign server.",
        """
ALTER USER MAPPING FOR user_spec SERVER server_name
    OPTIONS ( [ ADD | SET | DROP ] option [ 'value' ] [, ...] )
""",
        USER_SPEC,
    ),
    _e(
        "ALTER VIEW",
        "alterview",
        "Change a view's column defaults, options, name, owner or schema.",
        """
ALTER VIEW [ IF EXISTS ] name ALTER [ COLUMN ] column_name
    { SET DEFAULT expression | DROP DEFAULT }
ALTER VIEW [ IF EXISTS ] name RENAME [ COLUMN ] column_name TO new_column_name
ALTER VIEW [ IF EXISTS ] name SET ( view_option [= value] [, ...] )
ALTER VIEW [ IF EXISTS ] name RESET ( view_option [, ...] )
"""
        + _rename_owner_schema("ALTER VIEW [ IF EXISTS ] name"),
        "view_option: check_option | security_barrier | security_invoker",
        ROLE_SPEC,
    ),
    _e(
        "ANALYZE",
        "analyze",
        "Sample tables and store statistics about their contents for the planner.",
        """
ANALYZE [ ( option [, ...] ) ] [ table_and_columns [, ...] ]
ANALYZE [ VERBOSE ] [ table_and_columns [, ...] ]

option: VERBOSE [ boolean ] | SKIP_LOCKED [ boolean ]
""",
        ANALYZE_TARGET,
    ),
    _e(
        "BEGIN",
        "begin",
        "Open a transaction block: what follows runs in it until COMMIT or ROLLBACK.",
        "BEGIN [ WORK | TRANSACTION ] [ transaction_mode [, ...] ]",
        TRANSACTION_MODE,
    ),
    _e(
        "CALL",
        "call",
        "Run a procedure.",
        "CALL name ( [ argument ] [, ...] )",
    ),
    _e(
        "CHECKPOINT",
        "checkpoint",
        "Make the server write all dirty buffers and a checkpoint record now.",
        "CHECKPOINT",
    ),
    _e(
        "CLOSE",
        "close",
        "Release an open cursor, or all of them.",
        "CLOSE { name | ALL }",
    ),
    _e(
        "CLUSTER",
        "cluster",
        "Rewrite a table in the order of one of its indexes.",
        """
CLUSTER [ VERBOSE ] table_name [ USING index_name ]
CLUSTER ( option [, ...] ) table_name [ USING index_name ]
CLUSTER [ VERBOSE ]

option: VERBOSE [ boolean ]
""",
    ),
    _e(
        "COMMENT",
        "comment",
        "Attach a comment to a database object, or remove it.",
        "COMMENT ON object IS { 'text' | NULL }",
        COMMENT_OBJECT,
        AGG_SIGNATURE,
        ARG,
    ),
    _e(
        "COMMIT",
        "commit",
        "Make the changes of the current transaction permanent and visible.",
        "COMMIT [ WORK | TRANSACTION ] [ AND [ NO ] CHAIN ]",
    ),
    _e(
        "COMMIT PREPARED",
        "commit-prepared",
        "Commit a transaction that was prepared for two-phase commit.",
        "COMMIT PREPARED transaction_id",
    ),
    _e(
        "COPY",
        "copy",
        "Move rows between a table (or a query) and a server file, a program or the client.",
        """
COPY table_name [ ( column_name [, ...] ) ]
    FROM { 'filename' | PROGRAM 'command' | STDIN }
    [ [ WITH ] ( option [, ...] ) ] [ WHERE condition ]
COPY { table_name [ ( column_name [, ...] ) ] | ( query ) }
    TO { 'filename' | PROGRAM 'command' | STDOUT }
    [ [ WITH ] ( option [, ...] ) ]

option:
  FORMAT { text | csv | binary } | FREEZE [ boolean ] | DELIMITER 'char'
  NULL 'null_string' | HEADER [ boolean | MATCH ] | QUOTE 'char' | ESCAPE 'char'
  FORCE_QUOTE { ( column_name [, ...] ) | * }
  FORCE_NOT_NULL ( column_name [, ...] ) | FORCE_NULL ( column_name [, ...] )
  ENCODING 'encoding_name'
""",
    ),
    _e(
        "CREATE ACCESS METHOD",
        "create-access-method",
        "Register a table or index access method and its handler function.",
        "CREATE ACCESS METHOD name TYPE { TABLE | INDEX } HANDLER handler_function",
    ),
    _e(
        "CREATE AGGREGATE",
        "createaggregate",
        "Define an aggregate function from a state transition function.",
        """
CREATE [ OR REPLACE ] AGGREGATE name ( arg [, ...] ) (
    SFUNC = sfunc, STYPE = state_data_type [, option [, ...] ] )
CREATE [ OR REPLACE ] AGGREGATE name ( [ arg [, ...] ] ORDER BY arg [, ...] ) (
    SFUNC = sfunc, STYPE = state_data_type [, option [, ...] ]
    [, HYPOTHETICAL ] )

arg: [ argmode ] [ argname ] arg_data_type
option (the ORDER BY form takes the first three lines only):
  SSPACE = state_data_size | FINALFUNC = ffunc | FINALFUNC_EXTRA
  FINALFUNC_MODIFY = { READ_ONLY | SHAREABLE | READ_WRITE }
  INITCOND = initial_condition | PARALLEL = { SAFE | RESTRICTED | UNSAFE }
  COMBINEFUNC = combinefunc | SORTOP = sort_operator
  SERIALFUNC = serialfunc | DESERIALFUNC = deserialfunc
  MSFUNC = msfunc | MINVFUNC = minvfunc | MSTYPE = mstate_data_type
  MSSPACE = mstate_data_size | MFINALFUNC = mffunc | MFINALFUNC_EXTRA
  MFINALFUNC_MODIFY = { READ_ONLY | SHAREABLE | READ_WRITE }
  MINITCOND = minitial_condition
""",
    ),
    _e(
        "CREATE CAST",
        "createcast",
        "Define how values of one data type are converted to another.",
        """
CREATE CAST ( source_type AS target_type )
    { WITH FUNCTION function_name [ ( argument_type [, ...] ) ]
    | WITHOUT FUNCTION
    | WITH INOUT }
    [ AS ASSIGNMENT | AS IMPLICIT ]
""",
    ),
    _e(
        "CREATE COLLATION",
        "createcollation",
        "Define a collation from locale settings, or copy an existing one.",
        """
CREATE COLLATION [ IF NOT EXISTS ] name ( option = value [, ...] )
CREATE COLLATION [ IF NOT EXISTS ] name FROM existing_collation

option: LOCALE | LC_COLLATE | LC_CTYPE | PROVIDER (icu or libc)
  | DETERMINISTIC (boolean) | VERSION
""",
    ),
    _e(
        "CREATE CONVERSION",
        "createconversion",
        "Define a conversion between two character set encodings.",
        """
CREATE [ DEFAULT ] CONVERSION name
    FOR source_encoding TO dest_encoding FROM function_name
""",
    ),
    _e(
        "CREATE DATABASE",
        "createdatabase",
        "Make a new database by copying a template database.",
        """
CREATE DATABASE name [ [ WITH ] option [ ... ] ]

option:
  OWNER [=] role_name | TEMPLATE [=] template | ENCODING [=] encoding
  STRATEGY [=] { WAL_LOG | FILE_COPY } | LOCALE [=] locale
  LC_COLLATE [=] lc_collate | LC_CTYPE [=] lc_ctype | ICU_LOCALE [=] icu_locale
  LOCALE_PROVIDER [=] { icu | libc } | COLLATION_VERSION = version
  TABLESPACE [=] tablespace_name | ALLOW_CONNECTIONS [=] allowconn
  CONNECTION LIMIT [=] connlimit | IS_TEMPLATE [=] istemplate | OID [=] oid
""",
    ),
    _e(
        "CREATE DOMAIN",
        "createdomain",
        "Define a data type that is an existing type plus constraints and a default.",
        """
CREATE DOMAIN name [ AS ] data_type [ COLLATE collation ]
    [ DEFAULT expression ] [ domain_constraint [ ... ] ]

domain_constraint: [ CONSTRAINT constraint_name ]
  { NOT NULL | NULL | CHECK ( expression ) }
""",
    ),
    _e(
        "CREATE EVENT TRIGGER",
        "createeventtrigger",
        "Define a trigger that runs a function on DDL events of the database.",
        """
CREATE EVENT TRIGGER name ON event
    [ WHEN filter_variable IN ( filter_value [, ...] ) [ AND ... ] ]
    EXECUTE { FUNCTION | PROCEDURE } function_name ()

event: ddl_command_start | ddl_command_end | table_rewrite | sql_drop
filter_variable: TAG
""",
    ),
    _e(
        "CREATE EXTENSION",
        "createextension",
        "Load an extension's objects into the current database.",
        """
CREATE EXTENSION [ IF NOT EXISTS ] extension_name
    [ WITH ] [ SCHEMA schema_name ] [ VERSION version ] [ CASCADE ]
""",
    ),
    _e(
        "CREATE FOREIGN DATA WRAPPER",
        "createforeigndatawrapper",
        "Define a foreign-data wrapper: the handler that reaches external data.",
        """
CREATE FOREIGN DATA WRAPPER name
    [ HANDLER handler_function | NO HANDLER ]
    [ VALIDATOR validator_function | NO VALIDATOR ]
    [ OPTIONS ( option 'value' [, ...] ) ]
""",
    ),
    _e(
        "CREATE FOREIGN TABLE",
        "createforeigntable",
        "Define a table whose rows live on a foreign server.",
        """
CREATE FOREIGN TABLE [ IF NOT EXISTS ] table_name ( [
    { column_name data_type [ OPTIONS ( option 'value' [, ...] ) ]
        [ COLLATE collation ] [ column_constraint [ ... ] ]
    | table_constraint } [, ...] ] )
    [ INHERITS ( parent_table [, ...] ) ]
    SERVER server_name [ OPTIONS ( option 'value' [, ...] ) ]
CREATE FOREIGN TABLE [ IF NOT EXISTS ] table_name PARTITION OF parent_table
    [ ( { column_name [ WITH OPTIONS ] [ column_constraint [ ... ] ]
        | table_constraint } [, ...] ) ]
    { FOR VALUES partition_bound | DEFAULT }
    SERVER server_name [ OPTIONS ( option 'value' [, ...] ) ]

column_constraint: [ CONSTRAINT constraint_name ]
  { NOT NULL | NULL | CHECK ( expression ) [ NO INHERIT ] | DEFAULT default_expr
    | GENERATED ALWAYS AS ( generation_expr ) STORED }
table_constraint: [ CONSTRAINT constraint_name ]
  CHECK ( expression ) [ NO INHERIT ]
partition_bound: as in CREATE TABLE
""",
    ),
    _e(
        "CREATE FUNCTION",
        "createfunction",
        "Define a function, or replace the definition of an existing one.",
        """
CREATE [ OR REPLACE ] FUNCTION name ( [ arg [, ...] ] )
    [ RETURNS rettype | RETURNS TABLE ( column_name column_type [, ...] ) ]
    attribute [ ... ]

arg: [ argmode ] [ argname ] argtype [ { DEFAULT | = } default_expr ]
argmode: IN | OUT | INOUT | VARIADIC
attribute:
  LANGUAGE lang_name | TRANSFORM { FOR TYPE type_name } [, ...] | WINDOW
  IMMUTABLE | STABLE | VOLATILE | [ NOT ] LEAKPROOF
  CALLED ON NULL INPUT | RETURNS NULL ON NULL INPUT | STRICT
  [ EXTERNAL ] SECURITY INVOKER | [ EXTERNAL ] SECURITY DEFINER
  PARALLEL { UNSAFE | RESTRICTED | SAFE }
  COST execution_cost | ROWS result_rows
  SUPPORT support_function | SET parameter { TO value | = value | FROM CURRENT }
  AS 'definition' | AS 'obj_file', 'link_symbol' | sql_body
sql_body: RETURN expression | BEGIN ATOMIC statement; [ ... ] END
""",
    ),
    _e(
        "CREATE GROUP",
        "creategroup",
        "Create a role (an old spelling of CREATE ROLE).",
        "CREATE GROUP name [ [ WITH ] option [ ... ] ]",
        CREATE_ROLE_OPTION,
    ),
    _e(
        "CREATE INDEX",
        "createindex",
        "Build an index on columns or expressions of a table.",
        """
CREATE [ UNIQUE ] INDEX [ CONCURRENTLY ] [ [ IF NOT EXISTS ] name ]
    ON [ ONLY ] table_name [ USING method ] ( element [, ...] )
    [ INCLUDE ( column_name [, ...] ) ] [ NULLS [ NOT ] DISTINCT ]
    [ WITH ( storage_parameter [= value] [, ...] ) ]
    [ TABLESPACE tablespace_name ] [ WHERE predicate ]

element: { column_name | ( expression ) } [ COLLATE collation ]
  [ opclass [ ( opclass_parameter = value [, ...] ) ] ]
  [ ASC | DESC ] [ NULLS { FIRST | LAST } ]
""",
    ),
    _e(
        "CREATE LANGUAGE",
        "createlanguage",
        "Register a procedural language and its handler functions.",
        """
CREATE [ OR REPLACE ] [ TRUSTED ] [ PROCEDURAL ] LANGUAGE name
    HANDLER call_handler [ INLINE inline_handler ] [ VALIDATOR valfunction ]
CREATE [ OR REPLACE ] [ TRUSTED ] [ PROCEDURAL ] LANGUAGE name
""",
    ),
    _e(
        "CREATE MATERIALIZED VIEW",
        "creatematerializedview",
        "Define a view whose result is stored, and refreshed on request.",
        """
CREATE MATERIALIZED VIEW [ IF NOT EXISTS ] table_name
    [ ( column_name [, ...] ) ]
    [ USING method ]
    [ WITH ( storage_parameter [= value] [, ...] ) ]
    [ TABLESPACE tablespace_name ]
    AS query
    [ WITH [ NO ] DATA ]
""",
    ),
    _e(
        "CREATE OPERATOR",
        "createoperator",
        "Define an operator implemented by a function.",
        """
CREATE OPERATOR name (
    { FUNCTION | PROCEDURE } = function_name
    [, LEFTARG = left_type ] [, RIGHTARG = right_type ]
    [, COMMUTATOR = com_op ] [, NEGATOR = neg_op ]
    [, RESTRICT = res_proc ] [, JOIN = join_proc ]
    [, HASHES ] [, MERGES ] )
""",
    ),
    _e(
        "CREATE OPERATOR CLASS",
        "createopclass",
        "Define how an index method handles a data type: its operators and functions.",
        """
CREATE OPERATOR CLASS name [ DEFAULT ] FOR TYPE data_type
    USING index_method [ FAMILY family_name ] AS
    { OPERATOR strategy_number operator_name [ ( op_type, op_type ) ]
        [ FOR SEARCH | FOR ORDER BY sort_family_name ]
    | FUNCTION support_number [ ( op_type [, op_type ] ) ]
        function_name ( argument_type [, ...] )
    | STORAGE storage_type
    } [, ...]
""",
    ),
    _e(
        "CREATE OPERATOR FAMILY",
        "createopfamily",
        "Define an empty operator family for an index method.",
        "CREATE OPERATOR FAMILY name USING index_method",
    ),
    _e(
        "CREATE POLICY",
        "createpolicy",
        "Define a row-level security policy for a table.",
        """
CREATE POLICY name ON table_name
    [ AS { PERMISSIVE | RESTRICTIVE } ]
    [ FOR { ALL | SELECT | INSERT | UPDATE | DELETE } ]
    [ TO role [, ...] ]
    [ USING ( using_expression ) ]
    [ WITH CHECK ( check_expression ) ]
""",
        POLICY_ROLE,
    ),
    _e(
        "CREATE PROCEDURE",
        "createprocedure",
        "Define a procedure, or replace the definition of an existing one.",
        """
CREATE [ OR REPLACE ] PROCEDURE name ( [ arg [, ...] ] )
    attribute [ ... ]

arg: [ argmode ] [ argname ] argtype [ { DEFAULT | = } default_expr ]
argmode: IN | OUT | INOUT | VARIADIC
attribute:
  LANGUAGE lang_name | TRANSFORM { FOR TYPE type_name } [, ...]
  [ EXTERNAL ] SECURITY INVOKER | [ EXTERNAL ] SECURITY DEFINER
  SET parameter { TO value | = value | FROM CURRENT }
  AS 'definition' | AS 'obj_file', 'link_symbol' | sql_body
sql_body: BEGIN ATOMIC statement; [ ... ] END
""",
    ),
    _e(
        "CREATE PUBLICATION",
        "createpublication",
        "Define a set of tables whose changes are sent by logical replication.",
        """
CREATE PUBLICATION name
    [ FOR ALL TABLES | FOR publication_object [, ...] ]
    [ WITH ( publication_parameter [= value] [, ...] ) ]
""",
        PUBLICATION_OBJECT,
    ),
    _e(
        "CREATE ROLE",
        "createrole",
        "Define a role: a user, a group, or both.",
        "CREATE ROLE name [ [ WITH ] option [ ... ] ]",
        CREATE_ROLE_OPTION,
    ),
    _e(
        "CREATE RULE",
        "createrule",
        "Define a rule that rewrites queries on a table or view.",
        """
CREATE [ OR REPLACE ] RULE name AS ON event TO table_name
    [ WHERE condition ]
    DO [ ALSO | INSTEAD ] { NOTHING | command | ( command ; command ... ) }

event: SELECT | INSERT | UPDATE | DELETE
""",
    ),
    _e(
        "CREATE SCHEMA",
        "createschema",
        "Define a schema, optionally with objects created in it at once.",
        """
CREATE SCHEMA schema_name [ AUTHORIZATION role_spec ] [ schema_element [ ... ] ]
CREATE SCHEMA AUTHORIZATION role_spec [ schema_element [ ... ] ]
CREATE SCHEMA IF NOT EXISTS schema_name [ AUTHORIZATION role_spec ]
CREATE SCHEMA IF NOT EXISTS AUTHORIZATION role_spec

schema_element: a CREATE TABLE, CREATE VIEW, CREATE INDEX, CREATE SEQUENCE,
  CREATE TRIGGER or GRANT statement, without its semicolon
""",
        ROLE_SPEC,
    ),
    _e(
        "CREATE SEQUENCE",
        "createsequence",
        "Define a sequence number generator.",
        "CREATE [ { TEMPORARY | TEMP } | UNLOGGED ] SEQUENCE [ IF NOT EXISTS ] name\n"
        + SEQUENCE_OPTIONS
        + "\n    [ OWNED BY { table_name.column_name | NONE } ]",
    ),
    _e(
        "CREATE SERVER",
        "createserver",
        "Define a foreign server: where a foreign-data wrapper connects to.",
        """
CREATE SERVER [ IF NOT EXISTS ] server_name
    [ TYPE 'server_type' ] [ VERSION 'server_version' ]
    FOREIGN DATA WRAPPER fdw_name
    [ OPTIONS ( option 'value' [, ...] ) ]
""",
    ),
    _e(
        "CREATE STATISTICS",
        "createstatistics",
        "Collect statistics on several columns together, or on an expression.",
        """
CREATE STATISTICS [ IF NOT EXISTS ] statistics_name
    ON ( expression )
    FROM table_name
CREATE STATISTICS [ IF NOT EXISTS ] statistics_name
    [ ( statistics_kind [, ...] ) ]
    ON element, element [, ...]
    FROM table_name

statistics_kind: ndistinct | dependencies | mcv
element: column_name | ( expression )
""",
    ),
    _e(
        "CREATE SUBSCRIPTION",
        "createsubscription",
        "Subscribe to publications of another server (logical replication).",
        """
CREATE SUBSCRIPTION subscription_name
    CONNECTION 'conninfo'
    PUBLICATION publication_name [, ...]
    [ WITH ( subscription_parameter [= value] [, ...] ) ]
""",
    ),
    _e(
        "CREATE TABLE",
        "createtable",
        "Define a table: its columns, constraints, partitioning and storage.",
        """
CREATE [ persistence ] TABLE [ IF NOT EXISTS ] table_name ( [
    { column_name data_type [ COMPRESSION method ] [ COLLATE collation ]
          [ column_constraint [ ... ] ]
      | table_constraint
      | LIKE source_table [ like_option ... ] } [, ...] ] )
    [ INHERITS ( parent_table [, ...] ) ]
    [ PARTITION BY { RANGE | LIST | HASH } ( partition_key [, ...] ) ]
    [ table_options ]
CREATE [ persistence ] TABLE [ IF NOT EXISTS ] table_name OF type_name
    [ ( { column_name [ WITH OPTIONS ] [ column_constraint [ ... ] ]
        | table_constraint } [, ...] ) ]
    [ PARTITION BY { RANGE | LIST | HASH } ( partition_key [, ...] ) ]
    [ table_options ]
CREATE [ persistence ] TABLE [ IF NOT EXISTS ] table_name
    PARTITION OF parent_table
    [ ( { column_name [ WITH OPTIONS ] [ column_constraint [ ... ] ]
        | table_constraint } [, ...] ) ]
    { FOR VALUES partition_bound | DEFAULT }
    [ PARTITION BY { RANGE | LIST | HASH } ( partition_key [, ...] ) ]
    [ table_options ]

persistence: [ GLOBAL | LOCAL ] { TEMPORARY | TEMP } | UNLOGGED
table_options: [ USING method ]
  [ WITH ( storage_parameter [= value] [, ...] ) | WITHOUT OIDS ]
  [ ON COMMIT { PRESERVE ROWS | DELETE ROWS | DROP } ]
  [ TABLESPACE tablespace_name ]
partition_key: { column_name | ( expression ) } [ COLLATE collation ]
  [ opclass ]
like_option: { INCLUDING | EXCLUDING } { COMMENTS | COMPRESSION | CONSTRAINTS
  | DEFAULTS | GENERATED | IDENTITY | INDEXES | STATISTICS | STORAGE | ALL }
""",
        COLUMN_CONSTRAINT,
        TABLE_CONSTRAINT,
        CONSTRAINT_PARTS,
        PARTITION_BOUND,
    ),
    _e(
        "CREATE TABLE AS",
        "createtableas",
        "Define a table and fill it with the result of a query.",
        """
CREATE [ persistence ] TABLE [ IF NOT EXISTS ] table_name
    [ ( column_name [, ...] ) ]
    [ USING method ]
    [ WITH ( storage_parameter [= value] [, ...] ) | WITHOUT OIDS ]
    [ ON COMMIT { PRESERVE ROWS | DELETE ROWS | DROP } ]
    [ TABLESPACE tablespace_name ]
    AS query
    [ WITH [ NO ] DATA ]

persistence: [ GLOBAL | LOCAL ] { TEMPORARY | TEMP } | UNLOGGED
""",
    ),
    _e(
        "CREATE TABLESPACE",
        "createtablespace",
        "Define a tablespace: a directory of the server where relations can be stored.",
        """
CREATE TABLESPACE tablespace_name
    [ OWNER role_spec ]
    LOCATION 'directory'
    [ WITH ( tablespace_option = value [, ...] ) ]
""",
        ROLE_SPEC,
    ),
    _e(
        "CREATE TEXT SEARCH CONFIGURATION",
        "createtsconfig",
        "Define a text search configuration from a parser or another configuration.",
        """
CREATE TEXT SEARCH CONFIGURATION name
    ( { PARSER = parser_name | COPY = source_config } )
""",
    ),
    _e(
        "CREATE TEXT SEARCH DICTIONARY",
        "createtsdictionary",
        "Define a text search dictionary from a template and options.",
        """
CREATE TEXT SEARCH DICTIONARY name
    ( TEMPLATE = template [, option = value [, ...] ] )
""",
    ),
    _e(
        "CREATE TEXT SEARCH PARSER",
        "createtsparser",
        "Define a text search parser from its C functions.",
        """
CREATE TEXT SEARCH PARSER name (
    START = start_function, GETTOKEN = gettoken_function,
    END = end_function, LEXTYPES = lextypes_function
    [, HEADLINE = headline_function ] )
""",
    ),
    _e(
        "CREATE TEXT SEARCH TEMPLATE",
        "createtstemplate",
        "Define a text search template from its C functions.",
        """
CREATE TEXT SEARCH TEMPLATE name (
    [ INIT = init_function, ] LEXIZE = lexize_function )
""",
    ),
    _e(
        "CREATE TRANSFORM",
        "createtransform",
        "Define how a data type is passed to and from a procedural language.",
        """
CREATE [ OR REPLACE ] TRANSFORM FOR type_name LANGUAGE lang_name (
    transform_function [, transform_function ] )

transform_function: { FROM | TO } SQL WITH FUNCTION function_name
  [ ( argument_type [, ...] ) ]
""",
    ),
    _e(
        "CREATE TRIGGER",
        "createtrigger",
        "Define a trigger: a function run on changes to a table or view.",
        """
CREATE [ OR REPLACE ] [ CONSTRAINT ] TRIGGER name
    { BEFORE | AFTER | INSTEAD OF } event [ OR ... ]
    ON table_name
    [ FROM referenced_table_name ]
    [ NOT DEFERRABLE | [ DEFERRABLE ]
        [ INITIALLY IMMEDIATE | INITIALLY DEFERRED ] ]
    [ REFERENCING { { OLD | NEW } TABLE [ AS ] transition_relation_name }
        [ ... ] ]
    [ FOR [ EACH ] { ROW | STATEMENT } ]
    [ WHEN ( condition ) ]
    EXECUTE { FUNCTION | PROCEDURE } function_name ( arguments )

event: INSERT | UPDATE [ OF column_name [, ...] ] | DELETE | TRUNCATE
""",
    ),
    _e(
        "CREATE TYPE",
        "createtype",
        "Define a composite, enum, range, base or shell data type.",
        """
CREATE TYPE name AS
    ( [ attribute_name data_type [ COLLATE collation ] [, ...] ] )
CREATE TYPE name AS ENUM ( [ 'label' [, ...] ] )
CREATE TYPE name AS RANGE (
    SUBTYPE = subtype [, SUBTYPE_OPCLASS = subtype_operator_class ]
    [, COLLATION = collation ] [, CANONICAL = canonical_function ]
    [, SUBTYPE_DIFF = subtype_diff_function ]
    [, MULTIRANGE_TYPE_NAME = multirange_type_name ] )
CREATE TYPE name (
    INPUT = input_function, OUTPUT = output_function [, option [, ...] ] )
CREATE TYPE name

option:
  { RECEIVE | SEND | TYPMOD_IN | TYPMOD_OUT | ANALYZE | SUBSCRIPT } = function
  INTERNALLENGTH = { internallength | VARIABLE } | PASSEDBYVALUE
  ALIGNMENT = alignment | STORAGE = storage | LIKE = like_type
  CATEGORY = category | PREFERRED = preferred | DEFAULT = default
  ELEMENT = element | DELIMITER = delimiter | COLLATABLE = collatable
""",
    ),
    _e(
        "CREATE USER",
        "createuser",
        "Create a role that may log in (CREATE ROLE with LOGIN).",
        "CREATE USER name [ [ WITH ] option [ ... ] ]",
        CREATE_ROLE_OPTION,
    ),
    _e(
        "CREATE USER MAPPING",
        "createusermapping",
        "Say which credentials a user has on a foreign server.",
        """
CREATE USER MAPPING [ IF NOT EXISTS ] FOR user_spec
    SERVER server_name
    [ OPTIONS ( option 'value' [, ...] ) ]
""",
        USER_SPEC,
    ),
    _e(
        "CREATE VIEW",
        "createview",
        "Define a view, or replace the query of an existing one.",
        """
CREATE [ OR REPLACE ] [ TEMP | TEMPORARY ] [ RECURSIVE ] VIEW name
    [ ( column_name [, ...] ) ]
    [ WITH ( view_option [= value] [, ...] ) ]
    AS query
    [ WITH [ CASCADED | LOCAL ] CHECK OPTION ]

view_option: check_option | security_barrier | security_invoker
""",
    ),
    _e(
        "DEALLOCATE",
        "deallocate",
        "Forget a prepared statement, or all of them.",
        "DEALLOCATE [ PREPARE ] { name | ALL }",
    ),
    _e(
        "DECLARE",
        "declare",
        "Open a cursor to read a query's result a few rows at a time.",
        """
DECLARE name [ BINARY ] [ ASENSITIVE | INSENSITIVE ] [ [ NO ] SCROLL ]
    CURSOR [ { WITH | WITHOUT } HOLD ] FOR query
""",
    ),
    _e(
        "DELETE",
        "delete",
        "Remove the rows of a table that satisfy a condition.",
        WITH_CLAUSE
        + """
DELETE FROM [ ONLY ] table_name [ * ] [ [ AS ] alias ]
    [ USING from_item [, ...] ]
    [ WHERE condition | WHERE CURRENT OF cursor_name ]
    """
        + RETURNING
        + """

from_item, with_query: as in SELECT
""",
    ),
    _e(
        "DISCARD",
        "discard",
        "Throw away session state: cached plans, sequence values, temporary tables.",
        "DISCARD { ALL | PLANS | SEQUENCES | TEMPORARY | TEMP }",
    ),
    _e(
        "DO",
        "do",
        "Run a block of procedural code once, without creating a function.",
        "DO [ LANGUAGE lang_name ] code",
    ),
    _e(
        "DROP ACCESS METHOD",
        "drop-access-method",
        "Drop an access method.",
        "DROP ACCESS METHOD [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP AGGREGATE",
        "dropaggregate",
        "Drop aggregate functions.",
        "DROP AGGREGATE [ IF EXISTS ] name ( signature ) [, ...] [ CASCADE | RESTRICT ]",
        AGG_SIGNATURE,
        ARG,
    ),
    _e(
        "DROP CAST",
        "dropcast",
        "Drop a cast between two data types.",
        "DROP CAST [ IF EXISTS ] ( source_type AS target_type ) [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP COLLATION",
        "dropcollation",
        "Drop a collation.",
        "DROP COLLATION [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP CONVERSION",
        "dropconversion",
        "Drop an encoding conversion.",
        "DROP CONVERSION [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP DATABASE",
        "dropdatabase",
        "Drop a database and everything in it; FORCE ends its sessions first.",
        "DROP DATABASE [ IF EXISTS ] name [ [ WITH ] ( FORCE [, ...] ) ]",
    ),
    _e(
        "DROP DOMAIN",
        "dropdomain",
        "Drop domains.",
        "DROP DOMAIN [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP EVENT TRIGGER",
        "dropeventtrigger",
        "Drop an event trigger.",
        "DROP EVENT TRIGGER [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP EXTENSION",
        "dropextension",
        "Drop extensions together with their member objects.",
        "DROP EXTENSION [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP FOREIGN DATA WRAPPER",
        "dropforeigndatawrapper",
        "Drop foreign-data wrappers.",
        "DROP FOREIGN DATA WRAPPER [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP FOREIGN TABLE",
        "dropforeigntable",
        "Drop foreign tables (the remote data is not touched).",
        "DROP FOREIGN TABLE [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP FUNCTION",
        "dropfunction",
        "Drop functions.",
        """
DROP FUNCTION [ IF EXISTS ] name [ ( [ arg [, ...] ] ) ] [, ...]
    [ CASCADE | RESTRICT ]
""",
        ARG,
    ),
    _e(
        "DROP GROUP",
        "dropgroup",
        "Drop roles (an old spelling of DROP ROLE).",
        "DROP GROUP [ IF EXISTS ] name [, ...]",
    ),
    _e(
        "DROP INDEX",
        "dropindex",
        "Drop indexes; CONCURRENTLY avoids blocking the table.",
        "DROP INDEX [ CONCURRENTLY ] [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP LANGUAGE",
        "droplanguage",
        "Drop a procedural language.",
        "DROP [ PROCEDURAL ] LANGUAGE [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP MATERIALIZED VIEW",
        "dropmaterializedview",
        "Drop materialized views.",
        "DROP MATERIALIZED VIEW [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP OPERATOR",
        "dropoperator",
        "Drop operators.",
        """
DROP OPERATOR [ IF EXISTS ] name ( { left_type | NONE }, right_type ) [, ...]
    [ CASCADE | RESTRICT ]
""",
    ),
    _e(
        "DROP OPERATOR CLASS",
        "dropopclass",
        "Drop an operator class.",
        "DROP OPERATOR CLASS [ IF EXISTS ] name USING index_method [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP OPERATOR FAMILY",
        "dropopfamily",
        "Drop an operator family and the classes in it.",
        """
DROP OPERATOR FAMILY [ IF EXISTS ] name USING index_method
    [ CASCADE | RESTRICT ]
""",
    ),
    _e(
        "DROP OWNED",
        "drop-owned",
        "Drop the objects roles own in this database and revoke their privileges.",
        "DROP OWNED BY role_spec [, ...] [ CASCADE | RESTRICT ]",
        ROLE_SPEC,
    ),
    _e(
        "DROP POLICY",
        "droppolicy",
        "Drop a row-level security policy from a table.",
        "DROP POLICY [ IF EXISTS ] name ON table_name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP PROCEDURE",
        "dropprocedure",
        "Drop procedures.",
        """
DROP PROCEDURE [ IF EXISTS ] name [ ( [ arg [, ...] ] ) ] [, ...]
    [ CASCADE | RESTRICT ]
""",
        ARG,
    ),
    _e(
        "DROP PUBLICATION",
        "droppublication",
        "Drop publications.",
        "DROP PUBLICATION [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP ROLE",
        "droprole",
        "Drop roles (they must own nothing and hold no privileges).",
        "DROP ROLE [ IF EXISTS ] name [, ...]",
    ),
    _e(
        "DROP ROUTINE",
        "droproutine",
        "Drop functions or procedures.",
        """
DROP ROUTINE [ IF EXISTS ] name [ ( [ arg [, ...] ] ) ] [, ...]
    [ CASCADE | RESTRICT ]
""",
        ARG,
    ),
    _e(
        "DROP RULE",
        "droprule",
        "Drop a rewrite rule.",
        "DROP RULE [ IF EXISTS ] name ON table_name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP SCHEMA",
        "dropschema",
        "Drop schemas (with CASCADE, everything in them too).",
        "DROP SCHEMA [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP SEQUENCE",
        "dropsequence",
        "Drop sequences.",
        "DROP SEQUENCE [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP SERVER",
        "dropserver",
        "Drop foreign servers.",
        "DROP SERVER [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP STATISTICS",
        "dropstatistics",
        "Drop extended statistics objects.",
        "DROP STATISTICS [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP SUBSCRIPTION",
        "dropsubscription",
        "Drop a subscription (and, normally, its replication slot).",
        "DROP SUBSCRIPTION [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP TABLE",
        "droptable",
        "Drop tables with their data, indexes, rules, triggers and constraints.",
        "DROP TABLE [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP TABLESPACE",
        "droptablespace",
        "Drop an empty tablespace.",
        "DROP TABLESPACE [ IF EXISTS ] name",
    ),
    _e(
        "DROP TEXT SEARCH CONFIGURATION",
        "droptsconfig",
        "Drop a text search configuration.",
        "DROP TEXT SEARCH CONFIGURATION [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP TEXT SEARCH DICTIONARY",
        "droptsdictionary",
        "Drop a text search dictionary.",
        "DROP TEXT SEARCH DICTIONARY [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP TEXT SEARCH PARSER",
        "droptsparser",
        "Drop a text search parser.",
        "DROP TEXT SEARCH PARSER [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP TEXT SEARCH TEMPLATE",
        "droptstemplate",
        "Drop a text search template.",
        "DROP TEXT SEARCH TEMPLATE [ IF EXISTS ] name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP TRANSFORM",
        "droptransform",
        "Drop a transform.",
        """
DROP TRANSFORM [ IF EXISTS ] FOR type_name LANGUAGE lang_name
    [ CASCADE | RESTRICT ]
""",
    ),
    _e(
        "DROP TRIGGER",
        "droptrigger",
        "Drop a trigger from a table.",
        "DROP TRIGGER [ IF EXISTS ] name ON table_name [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP TYPE",
        "droptype",
        "Drop data types.",
        "DROP TYPE [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "DROP USER",
        "dropuser",
        "Drop roles (another spelling of DROP ROLE).",
        "DROP USER [ IF EXISTS ] name [, ...]",
    ),
    _e(
        "DROP USER MAPPING",
        "dropusermapping",
        "Drop a user's mapping to a foreign server.",
        "DROP USER MAPPING [ IF EXISTS ] FOR user_spec SERVER server_name",
        USER_SPEC,
    ),
    _e(
        "DROP VIEW",
        "dropview",
        "Drop views.",
        "DROP VIEW [ IF EXISTS ] name [, ...] [ CASCADE | RESTRICT ]",
    ),
    _e(
        "END",
        "end",
        "Commit the current transaction (the same as COMMIT).",
        "END [ WORK | TRANSACTION ] [ AND [ NO ] CHAIN ]",
    ),
    _e(
        "EXECUTE",
        "execute",
        "Run a statement made with PREPARE, with these parameter values.",
        "EXECUTE name [ ( parameter [, ...] ) ]",
    ),
    _e(
        "EXPLAIN",
        "explain",
        "Show the plan chosen for a statement; with ANALYZE, run it and show real counts.",
        """
EXPLAIN [ ( option [, ...] ) ] statement
EXPLAIN [ ANALYZE ] [ VERBOSE ] statement

option:
  { ANALYZE | VERBOSE | COSTS | SETTINGS | BUFFERS | WAL | TIMING | SUMMARY }
      [ boolean ]
  FORMAT { TEXT | XML | JSON | YAML }
""",
    ),
    _e(
        "FETCH",
        "fetch",
        "Read rows from an open cursor.",
        "FETCH [ direction ] [ FROM | IN ] cursor_name",
        CURSOR_DIRECTION,
    ),
    _e(
        "GRANT",
        "grant",
        "Give privileges on database objects, or membership in a role.",
        """
GRANT { privilege [, ...] | ALL [ PRIVILEGES ] } ON object
    TO grantee [, ...] [ WITH GRANT OPTION ] [ GRANTED BY role_spec ]
GRANT { column_privilege ( column_name [, ...] ) [, ...]
      | ALL [ PRIVILEGES ] ( column_name [, ...] ) }
    ON [ TABLE ] table_name [, ...]
    TO grantee [, ...] [ WITH GRANT OPTION ] [ GRANTED BY role_spec ]
GRANT role_name [, ...] TO grantee [, ...]
    [ WITH ADMIN OPTION ] [ GRANTED BY role_spec ]
""",
        GRANT_OBJECT,
        ARG,
        GRANTEE,
        ROLE_SPEC,
    ),
    _e(
        "IMPORT FOREIGN SCHEMA",
        "importforeignschema",
        "Create foreign tables for the tables of a schema on a foreign server.",
        """
IMPORT FOREIGN SCHEMA remote_schema
    [ { LIMIT TO | EXCEPT } ( table_name [, ...] ) ]
    FROM SERVER server_name
    INTO local_schema
    [ OPTIONS ( option 'value' [, ...] ) ]
""",
    ),
    _e(
        "INSERT",
        "insert",
        "Add rows to a table, from values or a query, optionally handling conflicts.",
        WITH_CLAUSE
        + """
INSERT INTO table_name [ AS alias ] [ ( column_name [, ...] ) ]
    [ OVERRIDING { SYSTEM | USER } VALUE ]
    { DEFAULT VALUES | VALUES ( { expression | DEFAULT } [, ...] ) [, ...]
      | query }
    [ ON CONFLICT [ conflict_target ] conflict_action ]
    """
        + RETURNING
        + """

conflict_target:
  ( { index_column_name | ( index_expression ) } [ COLLATE collation ]
    [ opclass ] [, ...] ) [ WHERE index_predicate ]
  ON CONSTRAINT constraint_name
conflict_action:
  DO NOTHING
  DO UPDATE SET { column_name = { expression | DEFAULT }
      | ( column_name [, ...] ) = [ ROW ] ( { expression | DEFAULT } [, ...] )
      | ( column_name [, ...] ) = ( sub-SELECT ) } [, ...]
    [ WHERE condition ]
with_query: as in SELECT
""",
    ),
    _e(
        "LISTEN",
        "listen",
        "Start receiving the notifications sent on a channel.",
        "LISTEN channel",
    ),
    _e(
        "LOAD",
        "load",
        "Load a shared library file into this session.",
        "LOAD 'filename'",
    ),
    _e(
        "LOCK",
        "lock",
        "Take a lock on tables, held until the transaction ends.",
        """
LOCK [ TABLE ] [ ONLY ] name [ * ] [, ...] [ IN lockmode MODE ] [ NOWAIT ]

lockmode: ACCESS SHARE | ROW SHARE | ROW EXCLUSIVE | SHARE UPDATE EXCLUSIVE
  | SHARE | SHARE ROW EXCLUSIVE | EXCLUSIVE | ACCESS EXCLUSIVE
""",
    ),
    _e(
        "MERGE",
        "merge",
        "Insert, update or delete rows of a table according to how they match a source.",
        """
[ WITH with_query [, ...] ]
MERGE INTO [ ONLY ] target_table_name [ * ] [ [ AS ] target_alias ]
    USING data_source ON join_condition
    when_clause [ ... ]

data_source: { [ ONLY ] source_table_name [ * ] | ( source_query ) }
  [ [ AS ] source_alias ]
when_clause:
  WHEN MATCHED [ AND condition ] THEN { merge_update | DELETE | DO NOTHING }
  WHEN NOT MATCHED [ AND condition ] THEN { merge_insert | DO NOTHING }
merge_update: UPDATE SET { column_name = { expression | DEFAULT }
  | ( column_name [, ...] ) = ( { expression | DEFAULT } [, ...] ) } [, ...]
merge_insert: INSERT [ ( column_name [, ...] ) ]
  [ OVERRIDING { SYSTEM | USER } VALUE ]
  { VALUES ( { expression | DEFAULT } [, ...] ) | DEFAULT VALUES }
with_query: as in SELECT
""",
    ),
    _e(
        "MOVE",
        "move",
        "Reposition an open cursor without reading rows.",
        "MOVE [ direction ] [ FROM | IN ] cursor_name",
        CURSOR_DIRECTION,
    ),
    _e(
        "NOTIFY",
        "notify",
        "Send a notification, with an optional payload string, to a channel.",
        "NOTIFY channel [ , payload ]",
    ),
    _e(
        "PREPARE",
        "prepare",
        "Parse a statement once, to run it later with EXECUTE.",
        "PREPARE name [ ( data_type [, ...] ) ] AS statement",
    ),
    _e(
        "PREPARE TRANSACTION",
        "prepare-transaction",
        "Get the current transaction ready for two-phase commit.",
        "PREPARE TRANSACTION transaction_id",
    ),
    _e(
        "REASSIGN OWNED",
        "reassign-owned",
        "Hand every object some roles own in this database over to another role.",
        "REASSIGN OWNED BY role_spec [, ...] TO role_spec",
        ROLE_SPEC,
    ),
    _e(
        "REFRESH MATERIALIZED VIEW",
        "refreshmaterializedview",
        "Run a materialized view's query again and store the new result.",
        "REFRESH MATERIALIZED VIEW [ CONCURRENTLY ] name [ WITH [ NO ] DATA ]",
    ),
    _e(
        "REINDEX",
        "reindex",
        "Rebuild an index, or every index of a table, schema or database.",
        """
REINDEX [ ( option [, ...] ) ] { INDEX | TABLE | SCHEMA } [ CONCURRENTLY ] name
REINDEX [ ( option [, ...] ) ] { DATABASE | SYSTEM } [ CONCURRENTLY ] name

option: CONCURRENTLY [ boolean ] | TABLESPACE new_tablespace
  | VERBOSE [ boolean ]
""",
    ),
    _e(
        "RELEASE SAVEPOINT",
        "release-savepoint",
        "Forget a savepoint, keeping what was done after it.",
        "RELEASE [ SAVEPOINT ] savepoint_name",
    ),
    _e(
        "RESET",
        "reset",
        "Put a run-time parameter back to its default value.",
        """
RESET configuration_parameter
RESET ALL
""",
    ),
    _e(
        "REVOKE",
        "revoke",
        "Take back privileges on database objects, or membership in a role.",
        """
REVOKE [ GRANT OPTION FOR ] { privilege [, ...] | ALL [ PRIVILEGES ] } ON object
    FROM grantee [, ...] [ GRANTED BY role_spec ] [ CASCADE | RESTRICT ]
REVOKE [ GRANT OPTION FOR ]
    { column_privilege ( column_name [, ...] ) [, ...]
    | ALL [ PRIVILEGES ] ( column_name [, ...] ) }
    ON [ TABLE ] table_name [, ...]
    FROM grantee [, ...] [ GRANTED BY role_spec ] [ CASCADE | RESTRICT ]
REVOKE [ ADMIN OPTION FOR ] role_name [, ...] FROM grantee [, ...]
    [ GRANTED BY role_spec ] [ CASCADE | RESTRICT ]
""",
        GRANT_OBJECT,
        ARG,
        GRANTEE,
        ROLE_SPEC,
    ),
    _e(
        "ROLLBACK",
        "rollback",
        "Undo everything the current transaction did.",
        "ROLLBACK [ WORK | TRANSACTION ] [ AND [ NO ] CHAIN ]",
    ),
    _e(
        "ROLLBACK PREPARED",
        "rollback-prepared",
        "Roll back a transaction that was prepared for two-phase commit.",
        "ROLLBACK PREPARED transaction_id",
    ),
    _e(
        "ROLLBACK TO SAVEPOINT",
        "rollback-to",
        "Undo what was done since a savepoint; the savepoint stays.",
        "ROLLBACK [ WORK | TRANSACTION ] TO [ SAVEPOINT ] savepoint_name",
    ),
    _e(
        "SAVEPOINT",
        "savepoint",
        "Mark a point in the current transaction that you can roll back to.",
        "SAVEPOINT savepoint_name",
    ),
    _e(
        "SECURITY LABEL",
        "security-label",
        "Attach a security label (for a label provider) to an object, or remove it.",
        "SECURITY LABEL [ FOR provider ] ON object IS { 'label' | NULL }",
        SECURITY_LABEL_OBJECT,
        AGG_SIGNATURE,
        ARG,
    ),
    _e(
        "SELECT",
        "select",
        "Read rows from tables, views, functions, subqueries or expressions.",
        WITH_CLAUSE
        + """
SELECT [ ALL | DISTINCT [ ON ( expression [, ...] ) ] ]
    [ { * | expression [ [ AS ] output_name ] } [, ...] ]
    [ FROM from_item [, ...] ]
    [ WHERE condition ]
    [ GROUP BY [ ALL | DISTINCT ] grouping_element [, ...] ]
    [ HAVING condition ]
    [ WINDOW window_name AS ( window_definition ) [, ...] ]
    [ { UNION | INTERSECT | EXCEPT } [ ALL | DISTINCT ] select ]
    [ ORDER BY expression [ ASC | DESC | USING operator ]
        [ NULLS { FIRST | LAST } ] [, ...] ]
    [ LIMIT { count | ALL } ]
    [ OFFSET start [ ROW | ROWS ] ]
    [ FETCH { FIRST | NEXT } [ count ] { ROW | ROWS } { ONLY | WITH TIES } ]
    [ FOR { UPDATE | NO KEY UPDATE | SHARE | KEY SHARE }
        [ OF table_name [, ...] ] [ NOWAIT | SKIP LOCKED ] [ ... ] ]

grouping_element: ( ) | expression | ( expression [, ...] )
  | { ROLLUP | CUBE } ( { expression | ( expression [, ...] ) } [, ...] )
  | GROUPING SETS ( grouping_element [, ...] )
""",
        FROM_ITEM,
        WITH_QUERY,
    ),
    _e(
        "SELECT INTO",
        "selectinto",
        "Create a table from the result of a query (CREATE TABLE AS is preferred).",
        WITH_CLAUSE
        + """
SELECT [ ALL | DISTINCT [ ON ( expression [, ...] ) ] ]
    { * | expression [ [ AS ] output_name ] } [, ...]
    INTO [ TEMPORARY | TEMP | UNLOGGED ] [ TABLE ] new_table
    [ FROM from_item [, ...] ]
    [ WHERE condition ]
    [ GROUP BY grouping_element [, ...] ]
    [ HAVING condition ]
    [ WINDOW window_name AS ( window_definition ) [, ...] ]
    [ { UNION | INTERSECT | EXCEPT } [ ALL | DISTINCT ] select ]
    [ ORDER BY expression [ ASC | DESC | USING operator ] [, ...] ]
    [ LIMIT { count | ALL } ]
    [ OFFSET start [ ROW | ROWS ] ]
    [ FETCH { FIRST | NEXT } [ count ] { ROW | ROWS } ONLY ]

from_item, grouping_element, with_query: as in SELECT
""",
    ),
    _e(
        "SET",
        "set",
        "Change a run-time parameter for the session or the current transaction.",
        """
SET [ SESSION | LOCAL ] configuration_parameter { TO | = }
    { value [, ...] | DEFAULT }
SET [ SESSION | LOCAL ] TIME ZONE { value | LOCAL | DEFAULT }
""",
    ),
    _e(
        "SET CONSTRAINTS",
        "set-constraints",
        "Choose whether deferrable constraints are checked now or at commit.",
        "SET CONSTRAINTS { ALL | name [, ...] } { DEFERRED | IMMEDIATE }",
    ),
    _e(
        "SET ROLE",
        "set-role",
        "Act as another role that the session user is a member of.",
        """
SET [ SESSION | LOCAL ] ROLE { role_name | NONE }
RESET ROLE
""",
    ),
    _e(
        "SET SESSION AUTHORIZATION",
        "set-session-authorization",
        "Become another user for the rest of the session (superusers only).",
        """
SET [ SESSION | LOCAL ] SESSION AUTHORIZATION { user_name | DEFAULT }
RESET SESSION AUTHORIZATION
""",
    ),
    _e(
        "SET TRANSACTION",
        "set-transaction",
        "Choose the isolation level and access mode of the current transaction.",
        """
SET TRANSACTION transaction_mode [, ...]
SET TRANSACTION SNAPSHOT snapshot_id
SET SESSION CHARACTERISTICS AS TRANSACTION transaction_mode [, ...]
""",
        TRANSACTION_MODE,
    ),
    _e(
        "SHOW",
        "show",
        "Print the current value of a run-time parameter, or of all of them.",
        """
SHOW name
SHOW ALL
""",
    ),
    _e(
        "START TRANSACTION",
        "start-transaction",
        "Open a transaction block (the same as BEGIN).",
        "START TRANSACTION [ transaction_mode [, ...] ]",
        TRANSACTION_MODE,
    ),
    _e(
        "TABLE",
        "select",
        "Read every row of a table (short for SELECT * FROM table_name).",
        "TABLE [ ONLY ] table_name [ * ]",
    ),
    _e(
        "TRUNCATE",
        "truncate",
        "Remove all rows of tables at once, without scanning them.",
        """
TRUNCATE [ TABLE ] [ ONLY ] name [ * ] [, ...]
    [ RESTART IDENTITY | CONTINUE IDENTITY ] [ CASCADE | RESTRICT ]
""",
    ),
    _e(
        "UNLISTEN",
        "unlisten",
        "Stop receiving notifications from a channel, or from all of them.",
        "UNLISTEN { channel | * }",
    ),
    _e(
        "UPDATE",
        "update",
        "Change column values in the rows of a table that satisfy a condition.",
        WITH_CLAUSE
        + """
UPDATE [ ONLY ] table_name [ * ] [ [ AS ] alias ]
    SET { column_name = { expression | DEFAULT }
        | ( column_name [, ...] ) = [ ROW ] ( { expression | DEFAULT } [, ...] )
        | ( column_name [, ...] ) = ( sub-SELECT ) } [, ...]
    [ FROM from_item [, ...] ]
    [ WHERE condition | WHERE CURRENT OF cursor_name ]
    """
        + RETURNING
        + """

from_item, with_query: as in SELECT
""",
    ),
    _e(
        "VACUUM",
        "vacuum",
        "Reclaim the space of dead rows, and optionally update planner statistics.",
        """
VACUUM [ ( option [, ...] ) ] [ table_and_columns [, ...] ]
VACUUM [ FULL ] [ FREEZE ] [ VERBOSE ] [ ANALYZE ] [ table_and_columns [, ...] ]

option:
  { FULL | FREEZE | VERBOSE | ANALYZE | DISABLE_PAGE_SKIPPING | SKIP_LOCKED
    | PROCESS_TOAST | TRUNCATE } [ boolean ]
  INDEX_CLEANUP { AUTO | ON | OFF } | PARALLEL integer
""",
        ANALYZE_TARGET,
    ),
    _e(
        "VALUES",
        "values",
        "Produce rows from lists of expressions.",
        """
VALUES ( expression [, ...] ) [, ...]
    [ ORDER BY sort_expression [ ASC | DESC | USING operator ] [, ...] ]
    [ LIMIT { count | ALL } ]
    [ OFFSET start [ ROW | ROWS ] ]
    [ FETCH { FIRST | NEXT } [ count ] { ROW | ROWS } ONLY ]
""",
    ),
    _e(
        "WITH",
        "select",
        "Name subqueries (common table expressions) for the statement that follows.",
        """
WITH [ RECURSIVE ] with_query [, ...]
    { select | insert | update | delete }
""",
        WITH_QUERY,
    ),
)

_BY_NAME = {e.name: e for e in ENTRIES}


def topic(args: str) -> str:
    """The help topic as matched: upper case, whitespace collapsed, no final semicolon."""
    return " ".join(args.upper().rstrip().rstrip(";").split())


def find(args: str) -> tuple[Entry, ...]:
    """The entries for a topic, as psql finds them: ``*`` is all; an exact name is that
    command; else every command whose name starts with the topic; else the same with the
    topic's last words dropped (``\\h UPDATE t SET`` is UPDATE)."""
    words = topic(args).split()
    if words == ["*"]:
        return ENTRIES
    while words:
        key = " ".join(words)
        if key in _BY_NAME:
            return (_BY_NAME[key],)
        found = tuple(e for e in ENTRIES if e.name.startswith(key))
        if found:
            return found
        words.pop()
    return ()


def describe(entry: Entry) -> str:
    return (
        f"Command:     {entry.name}\nDescription: {entry.description}\nSyntax:\n"
        f"{entry.synopsis}\n\nURL: {entry.url}\n"
    )


def listing(width: int) -> str:
    """Every command name, in as many columns as ``width`` holds, down then across."""
    names = [e.name for e in ENTRIES]
    cell = max(len(n) for n in names) + 2
    columns = max(1, width // cell)
    rows = -(-len(names) // columns)
    lines = ["  " + "".join(n.ljust(cell) for n in names[r::rows]).rstrip() for r in range(rows)]
    return "Available help (\\h COMMAND for its syntax):\n" + "\n".join(lines) + "\n"


def render(args: str, width: int) -> tuple[str, bool]:
    """What ``\\h args`` prints, and whether any command matched."""
    if not topic(args):
        return listing(width), True
    entries = find(args)
    if not entries:
        return (
            f'No help for "{topic(args)}".\nTry \\h with no arguments to list the commands.\n',
            False,
        )
    return "\n".join(describe(e) for e in entries), True
