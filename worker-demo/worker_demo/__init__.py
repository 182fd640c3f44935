"""An example Arkindex worker."""
