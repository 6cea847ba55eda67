"""Who may read what: roles from the policy file, applied on every read path and in the database."""
