-- Tenant deletion across nodes: `deleted_ms` marks a tenant being deleted (set before its data is purged), and
-- `purged_ms` one whose data is gone. The row stays as a tombstone, so a write racing the deletion finds the mark
-- whenever it lands; creating the tenant again clears both.
ALTER TABLE tenants ADD COLUMN deleted_ms INTEGER;
ALTER TABLE tenants ADD COLUMN purged_ms INTEGER;
