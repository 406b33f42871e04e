"""Returns msg.body.reply as the output message."""


async def process(self, msg, cfg, snapshot):
    return msg["body"]["reply"]
