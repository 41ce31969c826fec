"""Layer tars: compression, diffIDs, applying a layer to a directory, diffing one back out."""
