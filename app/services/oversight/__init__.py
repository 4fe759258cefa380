"""The admin's oversight of instances: search and saved filters, exports, diagrams, repairs."""
