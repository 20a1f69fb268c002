"""WAVE values (reader and printer) and `witgen wire`, which encodes and decodes them."""
