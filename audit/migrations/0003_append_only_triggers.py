"""Append-only audit tables, enforced by the database.

PostgreSQL: row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE, unless
the transaction ran `SET LOCAL sgw.audit_purge = 'on'` (only audit.retention does, and the
`flush` override for test teardown). SQLite: BEFORE UPDATE/DELETE triggers RAISE(ABORT) unless
the connection-local function sgw_audit_purge() (registered by audit.apps) returns 1.
auditlog_logentry additionally accepts the one UPDATE Django makes on its own: setting actor_id
to NULL when the acting user is deleted (the seal does not cover actor_id, see audit/sealing.py).
"""

from django.db import migrations

TABLES = ["audit_auditrecord", "audit_sealblock", "auditlog_logentry"]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION sgw_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND coalesce(current_setting('sgw.audit_purge', true), '') = 'on' THEN
        IF TG_LEVEL = 'STATEMENT' THEN RETURN NULL; END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND TG_NARGS > 0 THEN
        -- jsonb, not NEW.actor_id: the same function serves tables without that column.
        IF TG_ARGV[0] = 'actor-may-clear' AND (to_jsonb(NEW) ->> 'actor_id') IS NULL
           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'sgw: % on % refused: audit tables are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _pg_sql(table):
    arg = "'actor-may-clear'" if table == "auditlog_logentry" else ""
    return [
        f"CREATE TRIGGER sgw_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION sgw_audit_append_only({arg})",
        f"CREATE TRIGGER sgw_append_only_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION sgw_audit_append_only()",
    ]


def _sqlite_sql(table, columns):
    update_when = ""
    if table == "auditlog_logentry":
        same = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in columns if c != "actor_id")
        update_when = f" WHEN NOT (NEW.actor_id IS NULL AND {same})"
    return [
        f"CREATE TRIGGER sgw_{table}_no_update BEFORE UPDATE ON {table}{update_when} "
        f"BEGIN SELECT RAISE(ABORT, 'sgw: UPDATE on {table} refused: append-only'); END",
        f"CREATE TRIGGER sgw_{table}_no_delete BEFORE DELETE ON {table} "
        f"WHEN NOT sgw_audit_purge() "
        f"BEGIN SELECT RAISE(ABORT, 'sgw: DELETE on {table} refused: append-only'); END",
    ]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, None)
    for table in TABLES:
        if vendor == "postgresql":
            statements = _pg_sql(table)
        elif vendor == "sqlite":
            model = apps.get_model("auditlog", "LogEntry")
            columns = [f.column for f in model._meta.concrete_fields]
            statements = _sqlite_sql(table, columns)
        else:
            raise RuntimeError(f"no append-only triggers for database vendor {vendor!r}")
        for sql in statements:
            schema_editor.execute(sql, None)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            for name in ("sgw_append_only", "sgw_append_only_truncate"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            for suffix in ("no_update", "no_delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS sgw_{table}_{suffix}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS sgw_audit_append_only()")


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_seal_block"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
