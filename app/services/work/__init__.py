"""What staff do: tickets, process instances, human tasks, forms, timers and who can do each task."""
