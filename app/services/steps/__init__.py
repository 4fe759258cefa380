"""One engine step: planning its rows, writing them in one transaction, the job rows it schedules."""
