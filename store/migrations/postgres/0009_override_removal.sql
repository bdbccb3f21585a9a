-- DELETE /oncall/overrides/{id} ends an override now; one removed before it began ends where
-- it begins and covers no instant, so an override may have ends_at = starts_at.
ALTER TABLE oncall_overrides DROP CONSTRAINT oncall_overrides_check;
ALTER TABLE oncall_overrides ADD CONSTRAINT oncall_overrides_check CHECK (ends_at >= starts_at);
