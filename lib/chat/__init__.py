"""Send Request's surface, the Chat Completions API: request, attachments, output, and the
rewrite for OpenAI-compatible servers (the call itself is ``lib.openai.chat``'s)."""
