-- The display text an IdP sent with a group member ({"value": id,
-- "display": "…"}), echoed back in the Group's members.
ALTER TABLE group_members ADD COLUMN display TEXT NOT NULL DEFAULT '';
