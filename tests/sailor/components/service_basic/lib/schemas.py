PROMPT = {"type": "string", "title": "Prompt", "required": True}
IN = {"type": "object", "properties": {"prompt": PROMPT}}
OUT = {"type": "object", "properties": {"answer": {"type": "string", "title": "Answer"}}}
