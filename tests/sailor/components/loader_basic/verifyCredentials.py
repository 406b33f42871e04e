def verify(self, credentials):
    return {"verified": credentials.get("apiKey") == "good"}
