"""Figures: service counters and the dashboard, the weekly report, the working calendar."""
