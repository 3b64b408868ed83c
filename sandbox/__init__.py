"""Local Azure sandbox for the mtls.apim collection (see README.md in this folder)."""
