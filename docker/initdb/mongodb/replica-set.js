// Run by the compose healthcheck (mongosh) until it succeeds: makes the server a one-node replica set `rs0`, keeps
// pre- and post-images for a day, and creates the `highwater` database's sample collection with pre- and post-images
// enabled. Idempotent. Change streams need a replica set; `fullDocumentBeforeChange` needs the images
// (https://www.mongodb.com/docs/manual/changeStreams/#change-streams-with-document-pre--and-post-images).
try {
  rs.status();
} catch (error) {
  if (error.codeName !== 'NotYetInitialized') throw error;
  rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'localhost:27017' }] });
}
if (!db.hello().isWritablePrimary) quit(1); // not primary yet: the healthcheck tries again
db.adminCommand({ setClusterParameter: { changeStreamOptions: { preAndPostImages: { expireAfterSeconds: 86400 } } } });
const highwater = db.getSiblingDB('highwater');
if (!highwater.getCollectionNames().includes('orders')) {
  highwater.createCollection('orders', { changeStreamPreAndPostImages: { enabled: true } });
}
