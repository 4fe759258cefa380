"""People: users, sign-in and tokens, projects and departments, the personal-data access log."""
