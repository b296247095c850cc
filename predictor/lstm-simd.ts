/**
 * What the LSTM trainer spends its time in — the matrix product and one time step's gates forward
 * and backward — as WebAssembly SIMD (f32x4), with a plain TypeScript fallback of the same
 * semantics. V8 does not vectorise JavaScript loops, its typed-array loops reach a fraction of a
 * multiply-add per cycle, and Math.tanh costs tens of nanoseconds; 128-bit SIMD does four at once.
 *
 * The module is assembled here from its instructions (3.5 kB) instead of shipping a binary,
 * so what runs can be read. The functions work on one memory and take byte addresses:
 *
 *   mm(C, A, B, M, K, N, strideAm, strideAk):  C[m,:] += Σ_k A[m·strideAm + k·strideAk] · B[k,:]
 *       (rows of B and C are N floats, N a multiple of 4; strides in bytes, so A can be read as is
 *       or transposed; C is held in registers in blocks of 2 rows × 16 columns over the K loop)
 *   gates(Z, Cprev, C, TanhC, H, rows, units):  one LSTM step's activations (units a multiple of 4)
 *   gatesBackward(Z, Cprev, TanhC, dH, dC, rows, units):  the same step's gradients
 *
 * WebAssembly has no tanh instruction: gates() computes it as (1 − e)/(1 + e) with e = exp(−2|x|)
 * (exp by range reduction to 2^k · e^r and a degree-6 polynomial), and by its odd Taylor series
 * below |x| = 0.25 where that quotient would cancel; a few float32 ulps from Math.tanh.
 */

export interface MatrixOps {
  /** Float view of the whole memory; indices below are float indices into it. */
  readonly heap: Float32Array;
  /** Makes the memory at least `floats` long; views taken before may then be stale. */
  ensure(floats: number): void;
  mm(
    c: number,
    a: number,
    b: number,
    m: number,
    k: number,
    n: number,
    strideAm: number,
    strideAk: number,
  ): void;
  /**
   * One LSTM step's gates, in place: z [rows, 4·units] pre-activations (i, f, c, o) become
   * activations (hard sigmoid, hard sigmoid, tanh, hard sigmoid); then cell = f·cPrev + i·g,
   * tanhCell and h = o·tanhCell, each [rows, units].
   */
  gates(
    z: number,
    cPrev: number,
    cell: number,
    tanhCell: number,
    h: number,
    rows: number,
    units: number,
  ): void;
  /**
   * The same step backwards, in place: given the activations in z, cPrev, tanhCell, the gradient
   * dh of h and dc of the cell (from the step after), z becomes the gradient of the
   * pre-activations and dc that of cPrev.
   */
  gatesBackward(
    z: number,
    cPrev: number,
    tanhCell: number,
    dh: number,
    dc: number,
    rows: number,
    units: number,
  ): void;
  readonly kind: "wasm-simd" | "js";
}

/** Keras's hard sigmoid: clip(0.2·x + 0.5, 0, 1). */
function hardSigmoid(x: number): number {
  const y = 0.2 * x + 0.5;
  return y < 0 ? 0 : y > 1 ? 1 : y;
}

function gatesBackwardJs(
  m: Float32Array,
  z: number,
  cPrev: number,
  tanhCell: number,
  dh: number,
  dc: number,
  rows: number,
  U: number,
): void {
  const G = 4 * U;
  for (let b = 0; b < rows; b++) {
    const zr = z + b * G;
    const sr = b * U;
    for (let u = 0; u < U; u++) {
      const ig = m[zr + u]!;
      const fg = m[zr + U + u]!;
      const cg = m[zr + 2 * U + u]!;
      const og = m[zr + 3 * U + u]!;
      const tc = m[tanhCell + sr + u]!;
      const dhv = m[dh + sr + u]!;
      const dcv = m[dc + sr + u]! + dhv * og * (1 - tc * tc);
      m[dc + sr + u] = dcv * fg;
      // The hard sigmoid passes 0.2 of the gradient inside its linear part, none where clipped.
      m[zr + u] = ig > 0 && ig < 1 ? 0.2 * dcv * cg : 0;
      m[zr + U + u] = fg > 0 && fg < 1 ? 0.2 * dcv * m[cPrev + sr + u]! : 0;
      m[zr + 2 * U + u] = dcv * ig * (1 - cg * cg);
      m[zr + 3 * U + u] = og > 0 && og < 1 ? 0.2 * dhv * tc : 0;
    }
  }
}

function gatesJs(
  m: Float32Array,
  z: number,
  cPrev: number,
  cell: number,
  tanhCell: number,
  h: number,
  rows: number,
  U: number,
): void {
  const G = 4 * U;
  for (let b = 0; b < rows; b++) {
    const zr = z + b * G;
    const sr = b * U;
    for (let u = 0; u < U; u++) {
      const ig = hardSigmoid(m[zr + u]!);
      const fg = hardSigmoid(m[zr + U + u]!);
      const cg = Math.tanh(m[zr + 2 * U + u]!);
      const og = hardSigmoid(m[zr + 3 * U + u]!);
      const c = fg * m[cPrev + sr + u]! + ig * cg;
      const tc = Math.tanh(c);
      m[zr + u] = ig;
      m[zr + U + u] = fg;
      m[zr + 2 * U + u] = cg;
      m[zr + 3 * U + u] = og;
      m[cell + sr + u] = c;
      m[tanhCell + sr + u] = tc;
      m[h + sr + u] = og * tc;
    }
  }
}

const PAGE_FLOATS = 65_536 / 4;

class JsOps implements MatrixOps {
  readonly kind = "js";
  heap = new Float32Array(0);

  ensure(floats: number): void {
    if (floats <= this.heap.length) return;
    const next = new Float32Array(Math.ceil(floats / PAGE_FLOATS) * PAGE_FLOATS);
    next.set(this.heap);
    this.heap = next;
  }

  mm(c: number, a: number, b: number, m: number, k: number, n: number, sam: number, sak: number): void {
    const h = this.heap;
    for (let i = 0; i < m; i++) {
      const cr = c + i * n;
      for (let p = 0; p < k; p++) {
        const v = h[a + i * sam + p * sak]!;
        if (v === 0) continue;
        const br = b + p * n;
        for (let j = 0; j < n; j++) h[cr + j] += v * h[br + j]!;
      }
    }
  }

  gates(
    z: number,
    cPrev: number,
    cell: number,
    tanhCell: number,
    h: number,
    rows: number,
    units: number,
  ): void {
    gatesJs(this.heap, z, cPrev, cell, tanhCell, h, rows, units);
  }

  gatesBackward(
    z: number,
    cPrev: number,
    tanhCell: number,
    dh: number,
    dc: number,
    rows: number,
    units: number,
  ): void {
    gatesBackwardJs(this.heap, z, cPrev, tanhCell, dh, dc, rows, units);
  }
}

// ---- a minimal WebAssembly assembler: just what the two functions need ----

const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  mul: [0x6c],
  geU: [0x4f],
  /** `block` and `loop` with no result. */
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  f32Load: [0x2a, 0x02, 0x00],
  f32Store: [0x38, 0x02, 0x00],
  f32Add: [0x92],
  v128Load: (offset: number) => [0xfd, 0x00, 0x04, ...uleb(offset)],
  v128Store: (offset: number) => [0xfd, 0x0b, 0x04, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  splat: [0xfd, 0x13],
  lane: (i: number) => [0xfd, 0x1f, i],
  vAdd: [0xfd, 0xe4, 0x01],
  vMul: [0xfd, 0xe6, 0x01],
  vSub: [0xfd, 0xe5, 0x01],
  vDiv: [0xfd, 0xe7, 0x01],
  vMin: [0xfd, 0xe8, 0x01],
  vMax: [0xfd, 0xe9, 0x01],
  vAbs: [0xfd, 0xe0, 0x01],
  vLt: [0xfd, 0x43],
  vGt: [0xfd, 0x44],
  vNearest: [0xfd, 0x6a],
  vAnd: [0xfd, 0x4e],
  vOr: [0xfd, 0x50],
  bitselect: [0xfd, 0x52],
  i32x4TruncSat: [0xfd, 0xf8, 0x01],
  i32x4Add: [0xfd, 0xae, 0x01],
  i32x4Shl: [0xfd, 0xab, 0x01],
  /** v128.const with four float32 lanes equal to v. */
  f32x4: (v: number) => {
    const bytes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
    return [0xfd, 0x0c, ...bytes];
  },
  i32x4: (v: number) => {
    const bytes = new Uint8Array(new Int32Array([v, v, v, v]).buffer);
    return [0xfd, 0x0c, ...bytes];
  },
};

/** `for (counter = 0; counter < limit; counter++) body` as block/loop. */
function forLoop(counter: number, limit: number, body: number[][]): number[] {
  return [
    ...op.i32(0),
    ...op.set(counter),
    ...op.block,
    ...op.loop,
    ...op.get(counter),
    ...op.get(limit),
    ...op.geU,
    ...op.brIf(1),
    ...body.flat(),
    ...op.get(counter),
    ...op.i32(1),
    ...op.add,
    ...op.set(counter),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** local += delta */
function bump(local: number, delta: number[]): number[] {
  return [...op.get(local), ...delta, ...op.add, ...op.set(local)];
}

function mmBody(): { locals: number[][]; code: number[] } {
  // params: 0 C, 1 A, 2 B, 3 M, 4 K, 5 N, 6 strideAm, 7 strideAk (bytes)
  const [C, A, B, M, K, N, SAM, SAK] = [0, 1, 2, 3, 4, 5, 6, 7];
  // i32 locals
  const [i, j, p, cp, ap, bp, rowBytes, blocks16, blocks4, jb, row, pairs] = [
    8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
  ];
  // v128 locals: accumulators of the first and second row, the two A values, the B vector
  const [c0, c1, c2, c3, d0, d1, d2, d3, s0, s1, bv] = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30];
  /** C[row..row+rows, jb..jb+16·vectors] += A·B, the C block held in registers over the K loop. */
  const accumulate = (vectors: number, rows: number) => {
    const accs = [[c0, c1, c2, c3].slice(0, vectors), [d0, d1, d2, d3].slice(0, vectors)].slice(0, rows);
    const cAt = (r: number) => [...op.get(cp), ...(r === 0 ? [] : [...op.get(rowBytes), ...op.add])];
    return [
      ...accs.flatMap((acc, r) =>
        acc.flatMap((reg, q) => [...cAt(r), ...op.v128Load(16 * q), ...op.set(reg)]),
      ),
      ...[...op.get(A), ...op.get(row), ...op.get(SAM), ...op.mul, ...op.add, ...op.set(ap)],
      ...[...op.get(B), ...op.get(jb), ...op.add, ...op.set(bp)],
      ...forLoop(p, K, [
        [...op.get(ap), ...op.f32Load, ...op.splat, ...op.set(s0)],
        rows === 2
          ? [...op.get(ap), ...op.get(SAM), ...op.add, ...op.f32Load, ...op.splat, ...op.set(s1)]
          : [],
        ...[0, 1, 2, 3]
          .slice(0, vectors)
          .map((q) => [
            ...op.get(bp),
            ...op.v128Load(16 * q),
            ...op.set(bv),
            ...accs.flatMap((acc, r) => [
              ...op.get(acc[q]!),
              ...op.get(r === 0 ? s0 : s1),
              ...op.get(bv),
              ...op.vMul,
              ...op.vAdd,
              ...op.set(acc[q]!),
            ]),
          ]),
        bump(ap, op.get(SAK)),
        bump(bp, op.get(rowBytes)),
      ]),
      ...accs.flatMap((acc, r) =>
        acc.flatMap((reg, q) => [...cAt(r), ...op.get(reg), ...op.v128Store(16 * q)]),
      ),
      ...bump(cp, op.i32(16 * vectors)),
      ...bump(jb, op.i32(16 * vectors)),
    ];
  };
  /** Every column block of `rows` rows starting at local `row`. */
  const rowBlock = (rows: number) => [
    ...[...op.get(C), ...op.get(row), ...op.get(rowBytes), ...op.mul, ...op.add, ...op.set(cp)],
    ...[...op.i32(0), ...op.set(jb)],
    ...forLoop(j, blocks16, [accumulate(4, rows)]),
    ...forLoop(j, blocks4, [accumulate(1, rows)]),
  ];
  const code = [
    [...op.get(N), ...op.i32(4), ...op.mul, ...op.set(rowBytes)],
    [...op.get(N), ...op.i32(16), 0x6e /* i32.div_u */, ...op.set(blocks16)],
    [...op.get(N), ...op.i32(15), 0x71 /* i32.and */, ...op.i32(4), 0x6e, ...op.set(blocks4)],
    [...op.get(M), ...op.i32(1), 0x76 /* i32.shr_u */, ...op.set(pairs)],
    // Two rows at a time share each B vector load; an odd last row on its own.
    forLoop(i, pairs, [[...op.get(i), ...op.i32(1), 0x74 /* i32.shl */, ...op.set(row)], rowBlock(2)]),
    [...op.get(M), ...op.i32(1), 0x71, 0x04, 0x40 /* if */],
    [...op.get(M), ...op.i32(1), 0x6b /* i32.sub */, ...op.set(row)],
    rowBlock(1),
    op.end,
  ].flat();
  return {
    locals: [
      [12, I32],
      [11, V128],
    ],
    code,
  };
}

/** hard sigmoid of the v128 on the stack. */
function hardSigmoidCode(): number[] {
  return [
    ...op.f32x4(0.2),
    ...op.vMul,
    ...op.f32x4(0.5),
    ...op.vAdd,
    ...op.f32x4(0),
    ...op.vMax,
    ...op.f32x4(1),
    ...op.vMin,
  ];
}

/** tanh of local x, left on the stack; uses the temporaries t[0..4]. */
function tanhCode(x: number, t: number[]): number[] {
  const [a, k, r, e, x2] = t as [number, number, number, number, number];
  const horner = (v: number, coefficients: number[]) =>
    coefficients.flatMap((c, i) =>
      i === 0 ? op.f32x4(c) : [...op.get(v), ...op.vMul, ...op.f32x4(c), ...op.vAdd],
    );
  return [
    // a = min(|x|, 9): tanh is 1 in float32 beyond 9.
    ...op.get(x),
    ...op.vAbs,
    ...op.f32x4(9),
    ...op.vMin,
    ...op.set(a),
    // e = exp(−2a) = 2^k · exp(r), k = nearest(−2a / ln 2), r = −2a − k·ln 2 (ln 2 in two parts).
    ...op.get(a),
    ...op.f32x4(-2 / Math.LN2),
    ...op.vMul,
    ...op.vNearest,
    ...op.set(k),
    ...op.get(a),
    ...op.f32x4(-2),
    ...op.vMul,
    ...op.get(k),
    ...op.f32x4(0.693359375),
    ...op.vMul,
    ...op.vSub,
    ...op.get(k),
    ...op.f32x4(-2.1219444e-4),
    ...op.vMul,
    ...op.vSub,
    ...op.set(r),
    ...horner(r, [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]),
    // · 2^k, built in the exponent bits
    ...op.get(k),
    ...op.i32x4TruncSat,
    ...op.i32x4(127),
    ...op.i32x4Add,
    ...op.i32(23),
    ...op.i32x4Shl,
    ...op.vMul,
    ...op.set(e),
    // small |x|: x·(1 − x²/3 + 2x⁴/15 − 17x⁶/315 + 62x⁸/2835)
    ...op.get(a),
    ...op.get(a),
    ...op.vMul,
    ...op.set(x2),
    ...horner(x2, [62 / 2835, -17 / 315, 2 / 15, -1 / 3, 1]),
    ...op.get(a),
    ...op.vMul,
    // large |x|: (1 − e) / (1 + e)
    ...op.f32x4(1),
    ...op.get(e),
    ...op.vSub,
    ...op.f32x4(1),
    ...op.get(e),
    ...op.vAdd,
    ...op.vDiv,
    ...op.get(a),
    ...op.f32x4(0.25),
    ...op.vLt,
    ...op.bitselect,
    // the sign of x
    ...op.get(x),
    ...op.i32x4(-0x80000000),
    ...op.vAnd,
    ...op.vOr,
  ];
}

function gatesBody(): { locals: number[][]; code: number[] } {
  // params: 0 Z, 1 Cprev, 2 C, 3 TanhC, 4 H, 5 rows, 6 units (pointers in bytes)
  const [Z, CP, C, TC, H, ROWS, UNITS] = [0, 1, 2, 3, 4, 5, 6];
  const [b, v, vectors, gateBytes, zp, sp, skip] = [7, 8, 9, 10, 11, 12, 13];
  const [ig, fg, cg, og, cell, tc, ...temps] = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
  const load = (base: number, extra: number[]) => [...op.get(base), ...extra, ...op.add, ...op.v128Load(0)];
  const gateAt = (g: number) => (g === 0 ? [] : [...op.get(gateBytes), ...op.i32(g), ...op.mul, ...op.add]);
  const at = (base: number) => [...op.get(base), ...op.get(sp), ...op.add];
  const code = [
    [...op.get(UNITS), ...op.i32(2), 0x76, ...op.set(vectors)],
    [...op.get(UNITS), ...op.i32(4), ...op.mul, ...op.set(gateBytes)],
    [...op.get(gateBytes), ...op.i32(3), ...op.mul, ...op.set(skip)],
    [...op.get(Z), ...op.set(zp), ...op.i32(0), ...op.set(sp)],
    forLoop(b, ROWS, [
      forLoop(v, vectors, [
        [...op.get(zp), ...op.v128Load(0), ...hardSigmoidCode(), ...op.set(ig)],
        [...op.get(zp), ...gateAt(1), ...op.v128Load(0), ...hardSigmoidCode(), ...op.set(fg)],
        [...op.get(zp), ...gateAt(2), ...op.v128Load(0), ...op.set(cg)],
        [...tanhCode(cg, temps), ...op.set(cg)],
        [...op.get(zp), ...gateAt(3), ...op.v128Load(0), ...hardSigmoidCode(), ...op.set(og)],
        [...op.get(zp), ...op.get(ig), ...op.v128Store(0)],
        [...op.get(zp), ...gateAt(1), ...op.get(fg), ...op.v128Store(0)],
        [...op.get(zp), ...gateAt(2), ...op.get(cg), ...op.v128Store(0)],
        [...op.get(zp), ...gateAt(3), ...op.get(og), ...op.v128Store(0)],
        [
          ...op.get(fg),
          ...load(CP, op.get(sp)),
          ...op.vMul,
          ...op.get(ig),
          ...op.get(cg),
          ...op.vMul,
          ...op.vAdd,
        ],
        [...op.set(cell), ...at(C), ...op.get(cell), ...op.v128Store(0)],
        [...tanhCode(cell, temps), ...op.set(tc), ...at(TC), ...op.get(tc), ...op.v128Store(0)],
        [...at(H), ...op.get(og), ...op.get(tc), ...op.vMul, ...op.v128Store(0)],
        bump(zp, op.i32(16)),
        bump(sp, op.i32(16)),
      ]),
      bump(zp, op.get(skip)),
    ]),
  ].flat();
  return {
    locals: [
      [7, I32],
      [11, V128],
    ],
    code,
  };
}

function gatesBackwardBody(): { locals: number[][]; code: number[] } {
  // params: 0 Z, 1 Cprev, 2 TanhC, 3 dH, 4 dC, 5 rows, 6 units (pointers in bytes)
  const [Z, CP, TC, DH, DC, ROWS, UNITS] = [0, 1, 2, 3, 4, 5, 6];
  const [b, v, vectors, gateBytes, zp, sp, skip] = [7, 8, 9, 10, 11, 12, 13];
  const [ig, fg, cg, og, tc, dhv, dcv] = [14, 15, 16, 17, 18, 19, 20];
  const gateAt = (g: number) => (g === 0 ? [] : [...op.get(gateBytes), ...op.i32(g), ...op.mul, ...op.add]);
  const at = (base: number) => [...op.get(base), ...op.get(sp), ...op.add];
  /** value · 0.2 where 0 < gate < 1 (the hard sigmoid's linear part), else 0; value on the stack. */
  const throughHardSigmoid = (gate: number) => [
    ...op.f32x4(0.2),
    ...op.vMul,
    ...op.get(gate),
    ...op.f32x4(0),
    ...op.vGt,
    ...op.vAnd,
    ...op.get(gate),
    ...op.f32x4(1),
    ...op.vLt,
    ...op.vAnd,
  ];
  const code = [
    [...op.get(UNITS), ...op.i32(2), 0x76, ...op.set(vectors)],
    [...op.get(UNITS), ...op.i32(4), ...op.mul, ...op.set(gateBytes)],
    [...op.get(gateBytes), ...op.i32(3), ...op.mul, ...op.set(skip)],
    [...op.get(Z), ...op.set(zp), ...op.i32(0), ...op.set(sp)],
    forLoop(b, ROWS, [
      forLoop(v, vectors, [
        [...op.get(zp), ...op.v128Load(0), ...op.set(ig)],
        [...op.get(zp), ...gateAt(1), ...op.v128Load(0), ...op.set(fg)],
        [...op.get(zp), ...gateAt(2), ...op.v128Load(0), ...op.set(cg)],
        [...op.get(zp), ...gateAt(3), ...op.v128Load(0), ...op.set(og)],
        [...at(TC), ...op.v128Load(0), ...op.set(tc)],
        [...at(DH), ...op.v128Load(0), ...op.set(dhv)],
        // dc = dc + dh·o·(1 − tanh²c)
        [...at(DC), ...op.v128Load(0), ...op.get(dhv), ...op.get(og), ...op.vMul],
        [
          ...op.f32x4(1),
          ...op.get(tc),
          ...op.get(tc),
          ...op.vMul,
          ...op.vSub,
          ...op.vMul,
          ...op.vAdd,
          ...op.set(dcv),
        ],
        [...at(DC), ...op.get(dcv), ...op.get(fg), ...op.vMul, ...op.v128Store(0)],
        [
          ...op.get(zp),
          ...op.get(dcv),
          ...op.get(cg),
          ...op.vMul,
          ...throughHardSigmoid(ig),
          ...op.v128Store(0),
        ],
        [...op.get(zp), ...gateAt(1), ...op.get(dcv), ...at(CP), ...op.v128Load(0), ...op.vMul],
        [...throughHardSigmoid(fg), ...op.v128Store(0)],
        [...op.get(zp), ...gateAt(2), ...op.get(dcv), ...op.get(ig), ...op.vMul, ...op.f32x4(1)],
        [...op.get(cg), ...op.get(cg), ...op.vMul, ...op.vSub, ...op.vMul, ...op.v128Store(0)],
        [...op.get(zp), ...gateAt(3), ...op.get(dhv), ...op.get(tc), ...op.vMul, ...throughHardSigmoid(og)],
        op.v128Store(0),
        bump(zp, op.i32(16)),
        bump(sp, op.i32(16)),
      ]),
      bump(zp, op.get(skip)),
    ]),
  ].flat();
  return {
    locals: [
      [7, I32],
      [7, V128],
    ],
    code,
  };
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

export function assembleModule(): Uint8Array {
  const functions = [
    { name: "mm", params: 8, ...mmBody() },
    { name: "gates", params: 7, ...gatesBody() },
    { name: "gatesBackward", params: 7, ...gatesBackwardBody() },
  ];
  const types = functions.map((f) => [
    0x60,
    ...uleb(f.params),
    ...new Array<number>(f.params).fill(I32),
    0x00,
  ]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    // import env.memory (min 1 page)
    ...section(2, vector([[...name("env"), ...name("memory"), 0x02, 0x00, 0x01]])),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(
      10,
      vector(
        functions.map((f) => {
          const body = [...vector(f.locals.map(([n, t]) => [...uleb(n!), t!])), ...f.code, ...op.end];
          return [...uleb(body.length), ...body];
        }),
      ),
    ),
  ];
  return Uint8Array.from(bytes);
}

/** The slice of the WebAssembly API used here (the project's lib settings leave it untyped). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

type MmFn = (
  c: number,
  a: number,
  b: number,
  m: number,
  k: number,
  n: number,
  sam: number,
  sak: number,
) => void;
type GatesFn = (
  z: number,
  cPrev: number,
  cell: number,
  tanhCell: number,
  h: number,
  rows: number,
  units: number,
) => void;

class WasmOps implements MatrixOps {
  readonly kind = "wasm-simd";
  heap: Float32Array;
  private readonly memory: WasmMemory;
  private readonly mmFn: MmFn;
  private readonly gatesFn: GatesFn;
  private readonly gatesBackwardFn: GatesFn;

  constructor(api: WasmApi, module: object) {
    this.memory = new api.Memory({ initial: 1 });
    const instance = new api.Instance(module, { env: { memory: this.memory } });
    this.mmFn = instance.exports.mm as MmFn;
    this.gatesFn = instance.exports.gates as GatesFn;
    this.gatesBackwardFn = instance.exports.gatesBackward as GatesFn;
    this.heap = new Float32Array(this.memory.buffer);
  }

  ensure(floats: number): void {
    if (floats > this.heap.length) {
      this.memory.grow(Math.ceil((floats - this.heap.length) / PAGE_FLOATS));
    }
    // A grown memory detaches the old buffer.
    if (this.heap.buffer !== this.memory.buffer) this.heap = new Float32Array(this.memory.buffer);
  }

  mm(c: number, a: number, b: number, m: number, k: number, n: number, sam: number, sak: number): void {
    this.mmFn(c * 4, a * 4, b * 4, m, k, n, sam * 4, sak * 4);
  }

  gates(
    z: number,
    cPrev: number,
    cell: number,
    tanhCell: number,
    h: number,
    rows: number,
    units: number,
  ): void {
    if (units % 4 === 0) this.gatesFn(z * 4, cPrev * 4, cell * 4, tanhCell * 4, h * 4, rows, units);
    else gatesJs(this.heap, z, cPrev, cell, tanhCell, h, rows, units);
  }

  gatesBackward(
    z: number,
    cPrev: number,
    tanhCell: number,
    dh: number,
    dc: number,
    rows: number,
    units: number,
  ): void {
    if (units % 4 === 0) this.gatesBackwardFn(z * 4, cPrev * 4, tanhCell * 4, dh * 4, dc * 4, rows, units);
    else gatesBackwardJs(this.heap, z, cPrev, tanhCell, dh, dc, rows, units);
  }
}

let compiled: object | null | undefined;

/** What createMatrixOps() runs on this runtime: "wasm-simd" or "js". */
export function matrixCodeKind(): MatrixOps["kind"] {
  return createMatrixOps().kind;
}

/** WebAssembly SIMD where the runtime has it (Node ≥ 16.4), else the TypeScript loops. */
export function createMatrixOps(prefer: "auto" | "js" = "auto"): MatrixOps {
  if (prefer === "auto" && wasm) {
    if (compiled === undefined) {
      const bytes = assembleModule();
      compiled = wasm.validate(bytes) ? new wasm.Module(bytes) : null;
    }
    if (compiled) return new WasmOps(wasm, compiled);
  }
  return new JsOps();
}
