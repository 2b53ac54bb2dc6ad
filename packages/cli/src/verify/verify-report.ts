/** A key of a row that differs, as readable text (`{"id":42}`). */
export type KeyText = string;

export interface TableReport {
  readonly table: string;
  readonly target: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly chunks: number;
  /** Chunks whose checksums differed, so their rows were compared one by one. */
  readonly chunksCompared: number;
  readonly missing: number;
  readonly extra: number;
  readonly different: number;
  /** At most `VerifyOptions.maxKeys` keys of each kind. */
  readonly missingKeys: readonly KeyText[];
  readonly extraKeys: readonly KeyText[];
  readonly differentKeys: readonly KeyText[];
  /** Set when the table could not be compared (e.g. the target table does not exist). */
  readonly error: string | null;
}

export interface VerifyReport {
  readonly pipeline: string;
  readonly equal: boolean;
  readonly tables: readonly TableReport[];
  readonly totals: {
    readonly tables: number;
    readonly sourceRows: number;
    readonly targetRows: number;
    readonly chunks: number;
    readonly chunksCompared: number;
    readonly missing: number;
    readonly extra: number;
    readonly different: number;
    readonly errors: number;
  };
  readonly elapsedMs: number;
}

export function totalsOf(tables: readonly TableReport[]): VerifyReport['totals'] {
  const sum = (f: (t: TableReport) => number) => tables.reduce((n, t) => n + f(t), 0);
  return {
    tables: tables.length,
    sourceRows: sum((t) => t.sourceRows),
    targetRows: sum((t) => t.targetRows),
    chunks: sum((t) => t.chunks),
    chunksCompared: sum((t) => t.chunksCompared),
    missing: sum((t) => t.missing),
    extra: sum((t) => t.extra),
    different: sum((t) => t.different),
    errors: sum((t) => (t.error === null ? 0 : 1)),
  };
}

/** The report for a terminal. */
export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  for (const t of report.tables) {
    if (t.error !== null) {
      lines.push(`✗ ${t.table}: could not verify: ${t.error}`);
      continue;
    }
    const ok = t.missing + t.extra + t.different === 0;
    lines.push(
      `${ok ? '✓' : '✗'} ${t.table} → ${t.target}: ${t.sourceRows} source rows, ${t.targetRows} target rows, ` +
        `${t.chunks} chunks (${t.chunksCompared} compared row by row)` +
        (ok ? '' : `: ${t.missing} missing, ${t.extra} extra, ${t.different} different`),
    );
    const list = (label: string, keys: readonly string[], count: number) => {
      if (count === 0) return;
      lines.push(`    ${label}: ${keys.join(' ')}${count > keys.length ? ` … and ${count - keys.length} more` : ''}`);
    };
    list('missing', t.missingKeys, t.missing);
    list('extra', t.extraKeys, t.extra);
    list('different', t.differentKeys, t.different);
  }
  const s = report.totals;
  const verdict =
    s.errors > 0
      ? `could not verify ${s.errors} table${s.errors === 1 ? '' : 's'}`
      : report.equal
        ? 'source and target are equal'
        : `differences: ${s.missing} missing, ${s.extra} extra, ${s.different} different`;
  lines.push(
    `${report.pipeline}: ${s.tables} tables, ${s.sourceRows} rows, ${s.chunks} chunks (${s.chunksCompared} compared row by row) in ${(report.elapsedMs / 1000).toFixed(1)} s: ${verdict}`,
  );
  return `${lines.join('\n')}\n`;
}
