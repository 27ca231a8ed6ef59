// The Internet checksum (RFC 1071): the ones'-complement sum of 16-bit big-endian words. Used by IPv4, ICMP,
// UDP and TCP on both input and output, so it reads 32 bits at a time and folds only at the end.
// A plain 16-bit reference (`checksumNaive`) lives beside it for differential tests.

// Views over the last two buffers summed: receive checks run over the device's slab and transmit sums over
// the IP layer's frame buffer, alternately, so one slot would build a DataView per packet.
let cachedBytesA: Uint8Array | null = null;
let cachedViewA: DataView = new DataView(new ArrayBuffer(0));
let cachedBytesB: Uint8Array | null = null;
let cachedViewB: DataView = cachedViewA;

function viewOver(bytes: Uint8Array): DataView {
  if (bytes === cachedBytesA) return cachedViewA;
  if (bytes !== cachedBytesB) {
    cachedBytesB = bytes;
    cachedViewB = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  // Swap so the most recent buffer is checked first next time.
  const b = cachedBytesB;
  const v = cachedViewB;
  cachedBytesB = cachedBytesA;
  cachedViewB = cachedViewA;
  cachedBytesA = b;
  cachedViewA = v;
  return v;
}

/**
 * Adds `bytes[offset, offset+length)` as 16-bit words to `initial` and returns the unfolded sum. The result
 * can be passed as `initial` again to continue (for example pseudo-header, then header, then payload) as long
 * as every piece but the last has even length. Sums are exact in a double up to 2^53, far beyond 64 KiB.
 */
export function sumWords(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  const view = viewOver(bytes);
  let sum = initial;
  let i = offset;
  const end32 = offset + (length & ~3);
  // RFC 1071 §2(B): the sum may be taken over 32-bit words and folded later; 2^16 ≡ 1 (mod 2^16 - 1).
  for (; i < end32; i += 4) sum += view.getUint32(i);
  const end = offset + length;
  if (i + 1 < end) {
    sum += view.getUint16(i);
    i += 2;
  }
  if (i < end) sum += view.getUint8(i) << 8;
  return sum;
}

/** Folds an unfolded sum into 16 bits (end-around carry). */
export function foldSum(sum: number): number {
  // Split into 16-bit pieces with arithmetic, not bit operations: `sum` may exceed 32 bits.
  let s = (sum % 0x10000) + Math.floor(sum / 0x10000);
  // Still arithmetic here: after one step `s` can exceed 2^32 (for sums over 2^48), and `>>>` would first
  // truncate it to 32 bits, losing the high carries.
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for the given unfolded sum: ones' complement of the folded sum. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** Checksum of one contiguous range. A range whose stored checksum is right yields 0. */
export function checksum(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  return finishChecksum(sumWords(bytes, offset, length, initial));
}

/** Sum of the IPv4 pseudo-header used by UDP and TCP (RFC 768, RFC 9293 §3.1). Addresses are u32. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** Reference implementation: one 16-bit word at a time, folded as it goes. For tests only. */
export function checksumNaive(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  let sum = foldSum(initial);
  for (let i = 0; i < length; i += 2) {
    const hi = bytes[offset + i] ?? 0;
    const lo = i + 1 < length ? (bytes[offset + i + 1] ?? 0) : 0;
    sum += (hi << 8) | lo;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}
