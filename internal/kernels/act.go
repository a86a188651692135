package kernels

// Act is an elementwise activation: applied by Activate, or by Linear's
// and Conv2D's epilogues to each finished block of outputs (after bias and
// residual) while the block is still in cache.
type Act uint8

// The activations the networks use. Each computes the same bits for an
// element wherever it lies in a slice, so fusing one into a product's
// epilogue gives what the separate pass gives.
const (
	ActNone      Act = iota
	ActSiLU          // x·sigmoid(x)
	ActGELU          // exact (erf) GELU
	ActQuickGELU     // x·sigmoid(1.702x), OpenAI CLIP's
)

// String is the activation's name as the networks' configs spell it.
func (a Act) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActSiLU:
		return "silu"
	case ActGELU:
		return "gelu"
	case ActQuickGELU:
		return "quick_gelu"
	}
	return "Act(?)"
}

// apply writes a(src) to dst (which may alias src) on the calling
// goroutine; ActNone copies.
func (a Act) apply(dst, src []float32) {
	switch a {
	case ActNone:
		copy(dst, src)
	case ActSiLU:
		sigmoidMul(dst, src, 1, 0, 1)
	case ActGELU:
		gelu32(dst, src)
	case ActQuickGELU:
		sigmoidMul(dst, src, 1, 0, 1.702)
	}
}

// applyRows applies a to columns [j0, j1) of rows [i0, i1) of c (row
// stride ldc).
func (a Act) applyRows(c []float32, ldc, i0, i1, j0, j1 int) {
	if a == ActNone {
		return
	}
	for i := i0; i < i1; i++ {
		row := c[i*ldc+j0 : i*ldc+j1]
		a.apply(row, row)
	}
}

// Activate writes act(x) to out elementwise (a copy for ActNone); out may
// alias x.
func Activate(act Act, out, x []float32) {
	out = out[:len(x)]
	mapChunks(len(x), func(lo, hi int) { act.apply(out[lo:hi], x[lo:hi]) })
}
