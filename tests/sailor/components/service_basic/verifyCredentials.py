"""verify(self, credentials): return to verify, raise to reject."""


def verify(self, credentials):
    api_key = credentials.get("apiKey")
    self.logger.info("Verifying credentials")
    if api_key == "bad-key":
        raise PermissionError("Invalid API key")
    if api_key == "exit-key":
        raise SystemExit("sys.exit() in the verifier")
    if api_key == "good-key":
        return {"verified": True}
    return None
