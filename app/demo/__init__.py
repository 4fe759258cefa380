"""Demo data for a development database: seed users, estate and a simulated month of tickets."""
