"""Channel notifications SeatSync posts and keeps current on its own: failure alerts, margin alerts, health
alerts and held-change (approval) messages, each one kept message per key (`kept_messages`)."""
