-- Every index on members is another page written by every create. The
-- created and modified indexes served only rare meta.* filters (still
-- answered by the database, scanning one workspace), and only owners need
-- indexing for the last-owner check.
DROP INDEX members_created;
DROP INDEX members_modified;
DROP INDEX members_owners;
CREATE INDEX members_owners ON members (workspace_id) WHERE role = 'owner' AND active = TRUE;
