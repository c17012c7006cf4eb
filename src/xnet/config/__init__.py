"""Configuration: composing conf/, the schema every key is checked against, Trainer flags."""
