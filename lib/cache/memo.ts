// In-process memo of promises (data read once per worker, clients built once): concurrent callers share one
// promise, and one that fails is forgotten so the next call tries again instead of failing for ever.

/** The promise memoised under `key` in `map`, made by `make` when there is none. */
export function memoise<K, T>(map: Map<K, Promise<T>>, key: K, make: () => Promise<T>): Promise<T> {
  let pending = map.get(key);
  if (!pending) {
    const made = make();
    pending = made;
    map.set(key, made);
    // Only this promise is forgotten: a newer one made after a reset stays.
    made.catch(() => {
      if (map.get(key) === made) map.delete(key);
    });
  }
  return pending;
}
