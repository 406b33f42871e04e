"""Generate Image and Edit Image: the images API surface.

``request`` builds the generation body and the edit form's fields, ``attachments`` holds
which files the edit endpoint takes and their limits, ``output`` names the images made
and builds the outgoing body; the calls, and the decoding of the images as the answer
arrives, are ``lib.openai.images``'.
"""
