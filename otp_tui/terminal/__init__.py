"""The terminal under the front ends: how big it is, what is sent to it, what it signals."""
