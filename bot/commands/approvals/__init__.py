"""The approval buttons on a held-change message, and their Reject and Edit modals."""
