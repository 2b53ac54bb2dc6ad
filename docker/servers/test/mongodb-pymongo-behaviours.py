"""The behaviours the Highwater MongoDB adapter depends on, observed through a second, independent client.

Run by mongodb-pymongo.test.ts as `/usr/bin/python3 mongodb-pymongo-behaviours.py <url>`. It drives the simulator
with Debian's python3-pymongo, mostly through raw commands (`aggregate` with `$changeStream`, `getMore`,
`splitVector`) so what it sees is the server's reply, not a driver's interpretation of it, and prints one JSON line
of observations. The test compares them with what the MongoDB manual documents; this script asserts nothing itself,
so the expectations live in one place.
"""
import json
import sys

import pymongo
from bson import BSON, Binary, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.json_util import CANONICAL_JSON_OPTIONS, dumps
import datetime

url = sys.argv[1]
client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
db = client.behaviours
out = {}


def canonical(value):
    """A BSON value as canonical Extended JSON text (types kept: Int32 vs Int64 vs Double)."""
    return json.loads(dumps(value, json_options=CANONICAL_JSON_OPTIONS))


def change_stream(coll, stage, pipeline=()):
    reply = db.command("aggregate", coll, pipeline=[{"$changeStream": stage}, *pipeline], cursor={})
    return reply["cursor"]


def get_more(coll, cursor_id, max_await_ms=50):
    return db.command("getMore", cursor_id, collection=coll, maxTimeMS=max_await_ms)["cursor"]


def kill(coll, cursor_id):
    if cursor_id:
        db.command("killCursors", coll, cursors=[cursor_id])


def drain(coll, cursor, want):
    """Events of a change stream cursor until `want` arrived (or 20 empty getMores)."""
    events = list(cursor["firstBatch"])
    tries = 0
    while len(events) < want and tries < 20:
        batch = get_more(coll, cursor["id"])
        events.extend(batch["nextBatch"])
        tries += 1
    return events


# --- Change events with pre- and post-images and update descriptions ---
db.create_collection("people", changeStreamPreAndPostImages={"enabled": True})
opened = change_stream("people", {"fullDocument": "required", "fullDocumentBeforeChange": "required"})
people = db.people
people.insert_one({"_id": 1, "name": "ada", "phone": "555", "tags": ["a", "b", "c", "d"], "addr": {"city": "x"}})
people.update_one({"_id": 1}, {"$set": {"email": "ada@example.org", "addr.city": "y"}, "$unset": {"phone": ""}})
# A pipeline update that shortens an array: the manual's case for truncatedArrays.
people.update_one({"_id": 1}, [{"$set": {"tags": {"$slice": ["$tags", 2]}}}])
people.replace_one({"_id": 1}, {"name": "ada lovelace"})
people.delete_one({"_id": 1})
events = drain("people", opened, 5)
out["eventTypes"] = [e["operationType"] for e in events]
out["eventFields"] = [sorted(e.keys()) for e in events]
out["tokenForms"] = [sorted(e["_id"].keys()) for e in events]
out["tokensHex"] = all(
    isinstance(e["_id"]["_data"], str) and all(c in "0123456789ABCDEF" for c in e["_id"]["_data"]) for e in events
)
out["tokensIncrease"] = all(events[i]["_id"]["_data"] < events[i + 1]["_id"]["_data"] for i in range(len(events) - 1))
out["ns"] = events[0]["ns"]
out["documentKey"] = events[0]["documentKey"]
out["clusterTimeIsTimestamp"] = all(isinstance(e["clusterTime"], Timestamp) for e in events)
out["wallTimeIsDate"] = all(isinstance(e.get("wallTime"), datetime.datetime) for e in events)
out["updateDescription"] = canonical(events[1]["updateDescription"])
out["pipelineUpdateDescription"] = canonical(events[2]["updateDescription"])
out["images"] = {
    e["operationType"]: {
        "before": canonical(e.get("fullDocumentBeforeChange")),
        "after": canonical(e.get("fullDocument")),
    }
    for e in events
}
kill("people", opened["id"])

# 'required' on a collection without images: the stream fails rather than leave a gap.
db.create_collection("plain")
db.plain.insert_one({"_id": 1, "n": 1})
plain = change_stream("plain", {"fullDocumentBeforeChange": "required"})
db.plain.update_one({"_id": 1}, {"$set": {"n": 2}})
try:
    drain("plain", plain, 1)
    out["requiredWithoutImages"] = "no error"
except pymongo.errors.OperationFailure as error:
    out["requiredWithoutImages"] = "error"
    out["requiredWithoutImagesCode"] = error.code
kill("plain", plain["id"])
when = change_stream("plain", {"fullDocumentBeforeChange": "whenAvailable"})
db.plain.update_one({"_id": 1}, {"$set": {"n": 3}})
got = drain("plain", when, 1)
out["whenAvailableWithoutImages"] = canonical(got[0].get("fullDocumentBeforeChange", "absent"))
kill("plain", when["id"])

# --- Resume tokens and the post-batch resume token ---
quiet = change_stream("people", {})
first_pbrt = quiet["postBatchResumeToken"]
db.elsewhere.insert_one({"_id": "unrelated"})
empty = get_more("people", quiet["id"])
out["quietBatch"] = len(empty["nextBatch"])
out["pbrtAdvancesWhenQuiet"] = empty["postBatchResumeToken"]["_data"] > first_pbrt["_data"]
people.insert_one({"_id": 2, "name": "bob"})
people.insert_one({"_id": 3, "name": "cy"})
two = drain("people", {"id": quiet["id"], "firstBatch": []}, 2)
kill("people", quiet["id"])
resumed = change_stream("people", {"resumeAfter": two[0]["_id"]})
after_first = drain("people", resumed, 1)
out["resumeAfter"] = [e["documentKey"]["_id"] for e in after_first]
kill("people", resumed["id"])
started = change_stream("people", {"startAfter": two[0]["_id"]})
out["startAfter"] = [e["documentKey"]["_id"] for e in drain("people", started, 1)]
kill("people", started["id"])
at = change_stream("people", {"startAtOperationTime": two[1]["clusterTime"]})
out["startAtOperationTime"] = [e["documentKey"]["_id"] for e in drain("people", at, 1)]
kill("people", at["id"])

# --- splitVector ---
sized = db.sized
docs = [{"_id": i, "pad": "x" * 80} for i in range(1000)]
sized.insert_many(docs)
size = sum(len(BSON.encode(d)) for d in docs)
out["sized"] = {"count": len(docs), "size": size}
small = db.command("splitVector", "behaviours.sized", keyPattern={"_id": 1}, maxChunkSizeBytes=size + 1)
out["splitWhenSmallerThanOneChunk"] = len(small["splitKeys"])
split = db.command("splitVector", "behaviours.sized", keyPattern={"_id": 1}, maxChunkSizeBytes=20000)
keys = [k["_id"] for k in split["splitKeys"]]
out["splitKeys"] = keys
out["splitKeyShape"] = sorted(split["splitKeys"][0].keys()) if keys else []

# --- Sort order of mixed BSON types, and index bounds over them ---
mixed = db.mixed
values = [
    ("maxKey", MaxKey()),
    ("regex", Regex("^a", "i")),
    ("timestamp", Timestamp(5, 1)),
    ("date", datetime.datetime(2024, 2, 29, tzinfo=datetime.timezone.utc)),
    ("true", True),
    ("false", False),
    ("objectId", ObjectId("65a1b2c3d4e5f60718293a4b")),
    ("binLong", Binary(b"\x00\x00\x00", 0)),
    ("binShortSubtype5", Binary(b"\xff", 5)),
    ("binShort", Binary(b"\xff", 0)),
    ("object", {"a": 1}),
    ("stringB", "b"),
    ("stringA10", "a10"),
    ("stringA9", "a9"),
    ("decimal", Decimal128("2.5")),
    ("long", Int64(3)),
    ("double", -1.5),
    ("int", 2),
    ("null", None),
    ("minKey", MinKey()),
]
mixed.insert_many([{"_id": v, "name": name} for name, v in values])
out["sortById"] = [d["name"] for d in mixed.find({}, {"name": 1}).sort("_id", 1)]
out["sortByIdDescending"] = [d["name"] for d in mixed.find({}, {"name": 1}).sort("_id", -1)]
# Index bounds (min/max with a hint) cross type brackets; $gte/$lt do not.
bounded = mixed.find({}, {"name": 1}).hint([("_id", 1)]).min([("_id", 2)]).max([("_id", ObjectId("65a1b2c3d4e5f60718293a4b"))])
out["minMaxBounds"] = [d["name"] for d in bounded]
out["gteLtBrackets"] = [d["name"] for d in mixed.find({"_id": {"$gte": 2, "$lt": "zzz"}}, {"name": 1}).sort("_id", 1)]

print(json.dumps(out, sort_keys=True, default=str))
