"""Smoke test of the Highwater MongoDB simulator with a second, independent client: Debian's python3-pymongo.

Run by mongodb-pymongo.test.ts as `/usr/bin/python3 mongodb-pymongo-smoke.py <url>`; prints one JSON line of
results for the test to check, and exits non-zero on the first failure.
"""
import json
import sys

import pymongo
from bson import Int64, ObjectId

url = sys.argv[1]
client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
results = {}

hello = client.admin.command("isMaster")
results["setName"] = hello.get("setName")
results["simulator"] = hello.get("highwaterSimulator", "")

coll = client.smoke.people
coll.insert_many([{"_id": 1, "name": "ada"}, {"_id": "two", "name": "bob"}, {"name": "cy", "n": Int64(2**40)}])
coll.update_one({"_id": 1}, {"$set": {"age": 36}, "$push": {"tags": "math"}})
coll.delete_one({"_id": "two"})
docs = list(coll.find({}, {"_id": 0}).sort("name", pymongo.ASCENDING))
results["docs"] = docs
results["count"] = coll.count_documents({})
results["n"] = str(coll.find_one({"name": "cy"})["n"])
results["generatedId"] = isinstance(coll.find_one({"name": "cy"})["_id"], ObjectId)

with coll.watch(max_await_time_ms=100) as stream:
    stream.try_next()
    coll.insert_one({"_id": "first"})
    coll.update_one({"_id": "first"}, {"$set": {"x": 1}})
    first = stream.next()
    token = stream.resume_token
    results["firstEvent"] = first["operationType"]

with coll.watch(resume_after=token, max_await_time_ms=100) as resumed:
    event = resumed.next()
    results["resumedEvent"] = [event["operationType"], event["updateDescription"]["updatedFields"]]

with client.start_session() as session:
    with session.start_transaction():
        coll.insert_one({"_id": "in-txn"}, session=session)
results["committed"] = coll.find_one({"_id": "in-txn"}) is not None

print(json.dumps(results, sort_keys=True))
