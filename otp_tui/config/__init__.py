"""Configuration: the settings model (`schema`), how it is loaded (`loading`), default paths
(`paths`)."""
