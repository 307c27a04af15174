-- The role tenant transactions run as when nano connects as a superuser or a BYPASSRLS role (both skip row-level
-- security): `SET LOCAL ROLE nano_tenant` makes the policies apply. Roles are cluster-wide, so this tolerates an
-- existing role and a connecting user that may not create roles (then nano's own user is not exempt anyway).
DO $$
BEGIN
    CREATE ROLE nano_tenant NOLOGIN;
EXCEPTION WHEN duplicate_object OR insufficient_privilege THEN NULL;
END $$;
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO nano_tenant', current_schema());
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN NULL;
END $$;
