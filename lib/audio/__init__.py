"""Transcribe Audio and Create Speech: the audio API surface.

``request`` builds the form (transcriptions, translations) and the JSON body (speech),
``attachments`` says which files are audio the API takes and how they are named,
``output`` turns the answers into the outgoing body.
"""
