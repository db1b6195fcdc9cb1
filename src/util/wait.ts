// Waiting with a bound. A plain `Promise.race([p, sleep(ms)])` leaves the sleep's timer pending when
// `p` wins, and a pending timer keeps Node's event loop alive: `meshprof capture -d 1s` exited 5 s
// after attach, whenever a probe had not connected back on the first turn (the 5 s connect-back bound).

/** `p`'s value, or undefined once `ms` have passed; the timer is cleared as soon as either settles. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const bound = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms) })
  return Promise.race([p, bound]).finally(() => clearTimeout(timer))
}
