"""Uploads msg.body.text (repeated msg.body.repeat times, streamed) as the attachment
msg.body.name and emits it."""

from elasticio_sailor.attachments import attachments_field


def process(self, msg, cfg, snapshot):
    body = msg["body"]
    piece = body["text"].encode()
    chunks = (piece for _ in range(body.get("repeat", 1)))
    attachment = self.attachments.upload(body["name"], chunks,
                                         content_type=body.get("contentType"))
    return {"body": {"uploaded": attachment.name}, "attachments": attachments_field(attachment)}
