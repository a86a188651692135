package kernels

// Sgemm computes C = alpha*op(A)*op(B) + beta*C with op(X) = X or Xᵀ, for
// row-major matrices with leading dimensions lda, ldb and ldc (BLAS
// semantics; op(A) is m×k, op(B) is k×n, C is m×n). beta == 0 ignores C's
// old contents, NaNs included. The naive reference is
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += A(i, p) * B(p, j) // A(i, p) = a[i*lda+p], or a[p*lda+i] if transA
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	needOp("Sgemm", "a", len(a), transA, m, k, lda)
	needOp("Sgemm", "b", len(b), transB, k, n, ldb)
	needMat("Sgemm", "c", len(c), m, n, ldc)
	sgemm(active, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemm(mk *microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g := gemmOp{m: m, n: n, k: k, alpha: alpha, beta: beta, c: c, ldc: ldc,
		packA: matPacker(a, lda, m, !transA),
		packB: matPacker(b, ldb, n, transB),
	}
	g.run(mk)
}

// SgemmF16B is Sgemm with B stored as IEEE fp16 bits, decoded to float32
// while packing: B(p, j) = F16(b[p*ldb+j]), or F16(b[j*ldb+p]) if transB.
func SgemmF16B(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	needOp("SgemmF16B", "a", len(a), transA, m, k, lda)
	needOp("SgemmF16B", "b", len(b), transB, k, n, ldb)
	needMat("SgemmF16B", "c", len(c), m, n, ldc)
	sgemmF16B(active, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemmF16B(mk *microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	g := gemmOp{m: m, n: n, k: k, alpha: alpha, beta: beta, c: c, ldc: ldc,
		packA: matPacker(a, lda, m, !transA),
		packB: matPacker16(b, ldb, n, transB),
	}
	g.run(mk)
}

// Weights is a weight tensor held either as float32 or as fp16 bits; exactly
// one of the two is set.
type Weights struct {
	F32 []float32
	F16 []uint16
}

// Row writes row i of w viewed as a matrix with len(dst) columns to dst,
// decoding fp16.
func (w Weights) Row(dst []float32, i int) {
	n := len(dst)
	if w.F16 != nil {
		f16ToF32(dst, w.F16[i*n:(i+1)*n])
		return
	}
	copy(dst, w.F32[i*n:(i+1)*n])
}

// Len is the number of values.
func (w Weights) Len() int {
	if w.F16 != nil {
		return len(w.F16)
	}
	return len(w.F32)
}

// packer returns the packing callback for w as a row-major matrix with the
// given lanes and leading dimension.
func (w Weights) packer(ld, lanes int, laneMajor bool) func(dst []float32, l0, n, p0, kc, wd int) {
	if w.F16 != nil {
		return matPacker16(w.F16, ld, lanes, laneMajor)
	}
	return matPacker(w.F32, ld, lanes, laneMajor)
}

// Linear computes out = x·Wᵀ + bias for x [rows, inF], W [outF, inF]
// (PyTorch's layout) and out [rows, outF]; bias may be nil. The naive reference is
//
//	for r := 0; r < rows; r++ {
//		for o := 0; o < outF; o++ {
//			var s float32
//			for i := 0; i < inF; i++ {
//				s += x[r*inF+i] * W[o*inF+i]
//			}
//			out[r*outF+o] = s + bias[o]
//		}
//	}
func Linear(out, x []float32, w Weights, bias []float32, rows, inF, outF int) {
	checkLinear("Linear", out, x, w, bias, rows, inF, outF)
	linear(active, out, x, w, bias, nil, ActNone, rows, inF, outF)
}

// LinearAct is Linear followed by the activation act, which is applied to
// each finished block of out while it is in cache: the bits of Linear
// followed by Activate, without a pass of its own.
func LinearAct(out, x []float32, w Weights, bias []float32, act Act, rows, inF, outF int) {
	checkLinear("LinearAct", out, x, w, bias, rows, inF, outF)
	linear(active, out, x, w, bias, nil, act, rows, inF, outF)
}

// LinearAdd is Linear plus residual (laid out as out), added as the tiles
// of the product are stored: out = (x·Wᵀ + bias) + residual, rounded as
// Linear followed by an add, without a pass of its own.
func LinearAdd(out, x []float32, w Weights, bias, residual []float32, rows, inF, outF int) {
	checkLinear("LinearAdd", out, x, w, bias, rows, inF, outF)
	needLen("LinearAdd", "residual", len(residual), rows*outF)
	linear(active, out, x, w, bias, residual, ActNone, rows, inF, outF)
}

// checkLinear checks the operands of Linear or LinearAdd (op).
func checkLinear(op string, out, x []float32, w Weights, bias []float32, rows, inF, outF int) {
	needLen(op, "out", len(out), rows*outF)
	needLen(op, "x", len(x), rows*inF)
	needLen(op, "w", w.len(op), outF*inF)
	if bias != nil {
		needLen(op, "bias", len(bias), outF)
	}
}

func linear(mk *microKernel, out, x []float32, w Weights, bias, residual []float32, act Act, rows, inF, outF int) {
	linearWith(mk, out, x, w, bias, residual, act, rows, inF, outF, aAuto)
}

// linearWith is linear with A packed as ap says.
func linearWith(mk *microKernel, out, x []float32, w Weights, bias, residual []float32, act Act, rows, inF, outF int, ap aPacking) {
	g := gemmOp{m: rows, n: outF, k: inF, alpha: 1, c: out, ldc: outF, aPacking: ap,
		packA:   matPacker(x, inF, rows, true),
		packB:   w.packer(inF, outF, true),
		colBias: bias,
		act:     act,
	}
	g.addRows(nil, residual)
	g.run(mk)
}

// addBiasCols returns the loop that adds bias[j] to column j of c (row
// stride ldc) over a block, or nil without a bias; the micro-kernels
// round exactly as it does (see gemmOp.colBias).
func addBiasCols(c []float32, ldc int, bias []float32) func(i0, i1, j0, j1 int) {
	if bias == nil {
		return nil
	}
	return func(i0, i1, j0, j1 int) {
		for i := i0; i < i1; i++ {
			row := c[i*ldc+j0 : i*ldc+j1]
			for j, bj := range bias[j0:j1] {
				row[j] += bj
			}
		}
	}
}

// addBiasRows returns the loop that adds bias[i] (unless nil) and then
// res[i*ldc+j] (unless nil) to row i of c over a block, rounding as
// (y + b) + r, or nil when there is nothing to add; the micro-kernels
// round exactly as it does (see gemmOp.rowBias).
func addBiasRows(c []float32, ldc int, bias, res []float32) func(i0, i1, j0, j1 int) {
	if bias == nil && res == nil {
		return nil
	}
	return func(i0, i1, j0, j1 int) {
		for i := i0; i < i1; i++ {
			row := c[i*ldc+j0 : i*ldc+j1]
			var b float32
			if bias != nil {
				b = bias[i]
			}
			if res == nil {
				for j := range row {
					row[j] += b
				}
				continue
			}
			r := res[i*ldc+j0 : i*ldc+j1]
			r = r[:len(row)]
			if bias == nil {
				for j := range row {
					row[j] += r[j]
				}
				continue
			}
			for j := range row {
				row[j] = row[j] + b + r[j]
			}
		}
	}
}

// LinearFromChannels is Linear applied to the pixels of n channel-major
// images x [n, inF, hw] as tokens, writing token-major out [n, hw, outF]:
// out[i, t, o] = Σ_c x[i, c, t]·w[o, c] + bias[o]. It equals Linear after
// a transpose to [n, hw, inF], bit for bit, without the transpose.
func LinearFromChannels(out, x []float32, w Weights, bias []float32, n, hw, inF, outF int) {
	needLen("LinearFromChannels", "out", len(out), n*hw*outF)
	needLen("LinearFromChannels", "x", len(x), n*hw*inF)
	needLen("LinearFromChannels", "w", w.len("LinearFromChannels"), outF*inF)
	if bias != nil {
		needLen("LinearFromChannels", "bias", len(bias), outF)
	}
	for i := range n {
		img, o := x[i*inF*hw:(i+1)*inF*hw], out[i*hw*outF:(i+1)*hw*outF]
		g := gemmOp{m: hw, n: outF, k: inF, alpha: 1, c: o, ldc: outF,
			packA:   matPacker(img, hw, hw, false),
			packB:   w.packer(inF, outF, true),
			colBias: bias,
		}
		g.run(active)
	}
}

// LinearToChannels is Linear over n token-major images x [n, hw, inF]
// written channel-major, out [n, outF, hw], plus residual (same shape as
// out, may be nil): out[i, o, t] = (Σ_c x[i, t, c]·w[o, c] + bias[o]) +
// residual[i, o, t]. It equals Linear, a transpose and an Add, bit for bit.
func LinearToChannels(out, x []float32, w Weights, bias, residual []float32, n, hw, inF, outF int) {
	needLen("LinearToChannels", "out", len(out), n*hw*outF)
	needLen("LinearToChannels", "x", len(x), n*hw*inF)
	needLen("LinearToChannels", "w", w.len("LinearToChannels"), outF*inF)
	if bias != nil {
		needLen("LinearToChannels", "bias", len(bias), outF)
	}
	if residual != nil {
		needLen("LinearToChannels", "residual", len(residual), n*hw*outF)
	}
	for i := range n {
		tok, o := x[i*hw*inF:(i+1)*hw*inF], out[i*outF*hw:(i+1)*outF*hw]
		var res []float32
		if residual != nil {
			res = residual[i*outF*hw : (i+1)*outF*hw]
		}
		g := gemmOp{m: outF, n: hw, k: inF, alpha: 1, c: o, ldc: hw,
			packA: w.packer(inF, outF, true),
			packB: matPacker(tok, inF, hw, true),
		}
		g.addRows(bias, res)
		g.run(active)
	}
}
