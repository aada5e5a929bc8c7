"""`/seats config`: the admins' modal for connections, channels, team and schedule."""
