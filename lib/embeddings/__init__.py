"""Create Embeddings: request (texts, split into requests the API takes), output (the
answers merged back in order), run (the requests sent one after another), errors."""
