"""Create Response's surface, the Responses API: request, attachments, output, and the
life of a background job (run, polling, jobs); the calls are ``lib.openai.responses``'."""
