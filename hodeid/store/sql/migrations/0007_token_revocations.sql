-- Every revocation of an API token is announced on channel hodei_tokens with the token's id,
-- in the revoking transaction, whoever revokes it (hodeid token revoke, or SQL by hand): each
-- daemon sharing the database hears it and ends the streams opened with that token.
CREATE FUNCTION notify_token_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hodei_tokens', NEW.id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_tokens_revoked_notify AFTER UPDATE OF revoked_at ON api_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_token_revoked();
