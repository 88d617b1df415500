-- The provider that created each provisioned worker (NULL for the tokens issued before), so
-- that a daemon taking the lead takes over the shared providers' workers it did not create.
ALTER TABLE join_tokens ADD COLUMN provider text;
