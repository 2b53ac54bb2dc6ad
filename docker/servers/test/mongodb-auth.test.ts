import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MongoSimulator, startMongoSimulator } from '../src/index.js';

// Authentication (SCRAM-SHA-256 through the real driver) and per-user missing privileges of the MongoDB simulator.
describe('MongoDB simulator with users', () => {
  let simulator: MongoSimulator;
  const clients: MongoClient[] = [];
  const connect = (credentials: string) => {
    const url = simulator.url.replace('mongodb://', `mongodb://${credentials}`);
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    simulator = await startMongoSimulator({
      users: [
        { username: 'admin', password: 's3cret' },
        { username: 'reader', password: 'pw', deniedActions: ['changeStream'] },
      ],
    });
  });
  afterAll(async () => {
    for (const client of clients) await client.close(true).catch(() => undefined);
    await simulator?.close();
  });

  it('accepts the right password and checks the server signature', async () => {
    const client = connect('admin:s3cret@');
    await client.db('app').collection<{ _id: number }>('c').insertOne({ _id: 1 });
    expect(await client.db('app').collection('c').countDocuments()).toBe(1);
  });

  it('fails a wrong password with AuthenticationFailed (18)', async () => {
    const error = await connect('admin:wrong@')
      .connect()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 18 });
  });

  it('fails commands without authentication with Unauthorized (13)', async () => {
    const error = await connect('')
      .db('app')
      .collection('c')
      .findOne({})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 13, message: expect.stringMatching(/requires authentication/) });
  });

  it("fails a user's missing privilege action with Unauthorized (13)", async () => {
    const client = connect('reader:pw@');
    expect(await client.db('app').collection('c').findOne({})).toEqual({ _id: 1 });
    const stream = client.db('app').collection('c').watch();
    await expect(stream.next()).rejects.toMatchObject({ code: 13, message: expect.stringMatching(/changeStream/) });
    await stream.close();
  });
});
