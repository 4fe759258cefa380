"""The job table and what it runs: the queue and its worker side, deadline ladders, notices, SMS and e-mail."""
