"""Reads every incoming attachment the sailor can open and reports its size, type and
SHA-256; names the ones it may not read itself."""

import hashlib


def process(self, msg, cfg, snapshot):
    read, not_ours = {}, []
    for name, entry in msg["attachments"].items():
        if not self.attachments.can_open(entry["url"]):
            not_ours.append(name)
            continue
        digest = hashlib.sha256()
        with self.attachments.open(entry, name=name, max_bytes=1024 * 1024) as stream:
            for chunk in stream.iter_chunks():
                digest.update(chunk)
            read[name] = {"size": stream.bytes_read, "contentType": stream.content_type,
                          "sha256": digest.hexdigest()}
    return {"body": {"read": read, "notOurs": not_ours}}
