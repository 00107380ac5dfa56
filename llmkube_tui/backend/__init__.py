"""Everything that talks to a cluster. No Textual imports here: the dashboard
and the CLI are two front ends over the same functions."""
