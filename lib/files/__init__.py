"""Upload File: the files API surface (and attaching a file to a vector store).

``request`` builds the upload form and the vector store file body, ``attachments`` holds
the upload's limits and how the file is named, ``indexing`` waits until a vector store
has indexed the file, ``output`` builds the outgoing body.
"""
