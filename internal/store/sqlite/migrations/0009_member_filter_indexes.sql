-- Filters on meta.created, meta.lastModified and active are answered
-- through an index again, as the SCIM issue asks of every indexed
-- attribute: an IdP's incremental sync asks "meta.lastModified gt T", and
-- without these a million-member workspace is scanned for it. Migration
-- 0005 dropped the first two to save a page write per create; every
-- update also changes modified, so on PostgreSQL an update can no longer
-- be a heap-only (HOT) one and writes every index of the row (measured:
-- no cost beyond the run-to-run spread, BENCHMARKS.md). Building them
-- holds off member writes while it runs: seconds for a million members.
-- active is a partial index of the inactive members only: "active eq
-- false" is the selective question, an active member's create or update
-- never touches it, and a planner cannot mistake it for a better path to
-- other queries.
-- (The query compiler writes booleans as literals so that it matches.)
CREATE INDEX members_created ON members (workspace_id, created);
CREATE INDEX members_modified ON members (workspace_id, modified);
CREATE INDEX members_inactive ON members (workspace_id) WHERE active = FALSE;
