"""Moderate: request (the input's shapes, image parts), attachments (images named by an
attachment or a URL, sent the way the API can read them)."""
