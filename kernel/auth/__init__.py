"""Authentication: users, Argon2id passwords, JWT access/refresh tokens, sessions and login throttling."""
