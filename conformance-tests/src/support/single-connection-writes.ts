import type { Row } from '@highwater/core';
import type { WriteOp } from '../harness.js';

/**
 * The writing half of a `ConformanceHarness` for a SQL database written through one connection:
 * `insert`, `update`, `delete` and `transaction` (BEGIN … COMMIT, ROLLBACK on failure), given how
 * to run one `WriteOp` and one transaction-control statement. Extend it and implement the rest.
 *
 * @example
 * class MyHarness extends SingleConnectionWrites implements ConformanceHarness<MyOffset> {
 *   protected runWrite(op: WriteOp) { … INSERT / UPDATE / DELETE … }
 *   protected control(statement: 'BEGIN' | 'COMMIT' | 'ROLLBACK') { return this.db.query(statement); }
 * }
 */
export abstract class SingleConnectionWrites {
  protected abstract runWrite(op: WriteOp): Promise<void>;
  protected abstract control(statement: 'BEGIN' | 'COMMIT' | 'ROLLBACK'): Promise<unknown>;

  async insert(table: string, row: Row): Promise<void> {
    await this.runWrite({ op: 'insert', table, row });
  }

  async update(table: string, key: Row, changes: Row): Promise<void> {
    await this.runWrite({ op: 'update', table, key, changes });
  }

  async delete(table: string, key: Row): Promise<void> {
    await this.runWrite({ op: 'delete', table, key });
  }

  async transaction(ops: readonly WriteOp[]): Promise<void> {
    await this.control('BEGIN');
    try {
      for (const op of ops) await this.runWrite(op);
      await this.control('COMMIT');
    } catch (error) {
      await this.control('ROLLBACK');
      throw error;
    }
  }
}
