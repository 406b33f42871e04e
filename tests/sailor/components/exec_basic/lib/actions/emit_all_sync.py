def process(self, msg, cfg, snapshot):
    self.emit("data", {"body": {"n": 1}})
    self.emit("error", ValueError("emitted on purpose"))
    self.emit("data", {"body": {"n": 2}})
    self.emit("end")
    self.emit("end")
