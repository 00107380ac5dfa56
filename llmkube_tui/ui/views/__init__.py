"""The dashboard's views: one table each, switched in place (k9s style)."""
