/** A past duration in words: `42 s ago`, `12 min ago`, `5 h ago`, `3 days ago`. */
export function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}
