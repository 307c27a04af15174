"""The Python hyper-connect client's info.services() against nano."""
import os

from hyper_connect import connect

hyper = connect(os.environ["HYPER"])
result = hyper.info.services()
assert result["name"] == "nano", result
assert isinstance(result["services"], list), result
print("info ok", result["services"])
