// ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds and 80 random
// bits in Crockford base 32. Monotonic within a millisecond, so ids made one
// after another sort in the order they were made (the queue relies on it).
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
let lastRandom = null;

function encodeTime(ms) {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

export function ulid(now = Date.now()) {
  let random;
  if (now <= lastTime && lastRandom) {
    now = lastTime;
    random = lastRandom.slice();
    for (let i = random.length - 1; i >= 0; i--) {
      if (random[i] < 31) { random[i]++; break; }
      random[i] = 0;
    }
  } else {
    random = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b % 32);
  }
  lastTime = now;
  lastRandom = random;
  return encodeTime(now) + random.map((d) => ALPHABET[d]).join('');
}
