"""`/seats checklist`, the scheduled month-end checklist and the daily digest."""
