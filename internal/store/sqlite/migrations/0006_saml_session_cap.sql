-- The IdP's SessionNotOnOrAfter (microseconds; 0 when it sent none), carried
-- from the ACS to the completion, where it caps the session's expiry.
ALTER TABLE saml_logins ADD COLUMN session_not_on_or_after BIGINT NOT NULL DEFAULT 0;
