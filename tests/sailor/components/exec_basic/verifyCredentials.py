def verify(self, credentials):
    if credentials.get("apiKey") != "good":
        raise PermissionError("Invalid API key")
