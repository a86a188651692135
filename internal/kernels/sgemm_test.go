package kernels

import (
	"math"
	"testing"

	"github.com/x448/float16"
)

// naiveGemm is Sgemm's reference loop in float64; bAt gives op(B)(p, j).
func naiveGemm(transA bool, m, n, k int, alpha float32, a []float32, lda int, bAt func(p, j int) float64, beta float32, c []float32, ldc int) []float64 {
	want := make([]float64, len(c))
	for i := range c {
		want[i] = float64(c[i])
	}
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				av := a[i*lda+p]
				if transA {
					av = a[p*lda+i]
				}
				s += float64(av) * bAt(p, j)
			}
			w := float64(alpha) * s
			if beta != 0 {
				w += float64(beta) * float64(c[i*ldc+j])
			}
			want[i*ldc+j] = w
		}
	}
	return want
}

var gemmSizes = [][3]int{{1, 1, 1}, {1, 37, 5}, {29, 1, 7}, {7, 5, 3}, {13, 17, 19}, {33, 65, 1}, {50, 70, 321}, {97, 130, 700}, {6, 16, 8}, {8, 32, 40}}

func TestSgemm(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, sz := range gemmSizes {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-1.5, 0.25}} {
					lda, ldb, ldc := k+2, n+1, n+3
					if tr[0] {
						lda = m + 1
					}
					if tr[1] {
						ldb = k + 3
					}
					a := randSlice(1, max(m, k)*lda)
					b := randSlice(2, max(n, k)*ldb)
					c := randSlice(3, m*ldc)
					if ab[1] == 0 {
						c = nanSlice(m * ldc)
					}
					bAt := func(p, j int) float64 {
						if tr[1] {
							return float64(b[j*ldb+p])
						}
						return float64(b[p*ldb+j])
					}
					want := naiveGemm(tr[0], m, n, k, ab[0], a, lda, bAt, ab[1], c, ldc)
					if ab[1] == 0 {
						for i := range want {
							if i%ldc >= n {
								want[i] = float64(c[i])
							}
						}
					}
					Sgemm(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					checkNaNPad(t, c, want)
					checkClose(t, name("m%d n%d k%d t%v ab%v", m, n, k, tr, ab), c, want, 1e-5*float64(k), 1e-5)
				}
			}
		}
	})
}

// checkNaNPad makes NaN padding comparable: a NaN the test planted outside C stays NaN.
func checkNaNPad(t *testing.T, got []float32, want []float64) {
	t.Helper()
	for i := range got {
		if want[i] != want[i] && got[i] != got[i] {
			got[i], want[i] = 0, 0
		}
	}
}

func TestSgemmF16B(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, sz := range gemmSizes {
			m, n, k := sz[0], sz[1], sz[2]
			for _, transB := range []bool{false, true} {
				ldb := n + 5
				if transB {
					ldb = k + 9
				}
				a := randSlice(4, m*k)
				bf := randSlice(5, max(n, k)*ldb)
				b := make([]uint16, len(bf))
				for i, v := range bf {
					b[i] = float16.Fromfloat32(v).Bits()
				}
				bAt := func(p, j int) float64 {
					if transB {
						return float64(float16.Frombits(b[j*ldb+p]).Float32())
					}
					return float64(float16.Frombits(b[p*ldb+j]).Float32())
				}
				c := nanSlice(m * n)
				want := naiveGemm(false, m, n, k, 1, a, k, bAt, 0, c, n)
				SgemmF16B(false, transB, m, n, k, 1, a, k, b, ldb, 0, c, n)
				checkClose(t, name("m%d n%d k%d tB%v", m, n, k, transB), c, want, 1e-5*float64(k), 1e-5)
			}
		}
	})
}

func TestSgemmZeroK(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 2, c, 2)
	checkClose(t, "k=0", c, []float64{2, 4, 6, 8}, 0, 0)
}

// TestGemmAPackingSameBits checks that packing A, or B, inside the compute
// tasks gives the bits of packing both in one shared phase, with edge rows
// and columns, several depth blocks (for B inside the tasks, also packed
// for one depth block at a time), an epilogue and both weight types.
func TestGemmAPackingSameBits(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, s := range []struct{ m, n, k int }{{1000, 37, 700}, {130, 300, 50}, {7, 5, 3}, {4100, 33, 20}, {37, 1300, 700}, {13, 4200, 50}, {1000, 1300, 40}} {
			x, w, bias := randSlice(1, s.m*s.k), randSlice(2, s.n*s.k), randSlice(3, s.n)
			w16 := make([]uint16, len(w))
			for i, v := range w {
				w16[i] = float16.Fromfloat32(v).Bits()
			}
			for _, wt := range []Weights{{F32: w}, {F16: w16}} {
				var outs [4][]float32
				for i, mode := range []aPacking{aShared, aLocal, bLocal, bLocal} {
					saved := localBAFloats
					if i == 3 { // B inside the tasks, one depth block per group
						localBAFloats = 1
					}
					out := nanSlice(s.m * s.n)
					g := gemmOp{m: s.m, n: s.n, k: s.k, alpha: 1, c: out, ldc: s.n, aPacking: mode,
						packA: matPacker(x, s.k, s.m, true), packB: wt.packer(s.k, s.n, true),
						epilogue: func(i0, i1, j0, j1 int) {
							for r := i0; r < i1; r++ {
								for c := j0; c < j1; c++ {
									out[r*s.n+c] += bias[c]
								}
							}
						}}
					g.run(active)
					localBAFloats = saved
					outs[i] = out
				}
				sameBits(t, name("%+v f16=%v local A", s, wt.F16 != nil), outs[1], outs[0])
				sameBits(t, name("%+v f16=%v local B", s, wt.F16 != nil), outs[2], outs[0])
				sameBits(t, name("%+v f16=%v local B, depth blocks in groups of one", s, wt.F16 != nil), outs[3], outs[0])
				want := naiveGemm(false, s.m, s.n, s.k, 1, x, s.k, func(p, j int) float64 {
					if wt.F16 != nil {
						return float64(float16.Frombits(w16[j*s.k+p]).Float32())
					}
					return float64(w[j*s.k+p])
				}, 0, make([]float32, s.m*s.n), s.n)
				for i := range want {
					want[i] += float64(bias[i%s.n])
				}
				checkClose(t, name("%+v", s), outs[1], want, 1e-5*float64(s.k), 1e-5)
			}
		}
	})
}

// TestLinearChannels checks LinearFromChannels and LinearToChannels
// against Linear with explicit transposes (and an Add), bit for bit.
func TestLinearChannels(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, s := range []struct{ n, hw, in, out int }{{2, 37, 23, 19}, {1, 300, 330, 40}, {2, 1, 5, 7}} {
			x := randSlice(1, s.n*s.hw*max(s.in, s.out))
			w, bias := randSlice(2, s.out*s.in), randSlice(3, s.out)
			res := randSlice(4, s.n*s.out*s.hw)
			// transpose swaps the last two dimensions of n [r, c] matrices.
			transpose := func(src []float32, r, c int) []float32 {
				dst := make([]float32, s.n*r*c)
				for i := range s.n {
					for a := range r {
						for b := range c {
							dst[i*r*c+b*r+a] = src[i*r*c+a*c+b]
						}
					}
				}
				return dst
			}
			chans := x[:s.n*s.in*s.hw] // [n, in, hw]
			want := make([]float32, s.n*s.hw*s.out)
			Linear(want, transpose(chans, s.in, s.hw), Weights{F32: w}, bias, s.n*s.hw, s.in, s.out)
			got := nanSlice(len(want))
			LinearFromChannels(got, chans, Weights{F32: w}, bias, s.n, s.hw, s.in, s.out)
			sameBits(t, name("from channels %+v", s), got, want)

			tok := x[:s.n*s.hw*s.in] // [n, hw, in]
			lin := make([]float32, s.n*s.hw*s.out)
			Linear(lin, tok, Weights{F32: w}, bias, s.n*s.hw, s.in, s.out)
			want = transpose(lin, s.hw, s.out)
			for i := range want {
				want[i] += res[i]
			}
			got = nanSlice(len(want))
			LinearToChannels(got, tok, Weights{F32: w}, bias, res, s.n, s.hw, s.in, s.out)
			sameBits(t, name("to channels %+v", s), got, want)
		}
	})
}

// TestLinearAdd checks that LinearAdd gives the bits of Linear followed by
// an add, with and without a bias, fp16 and float32 weights, and rows
// longer than rowAddsInKernel (the residual then goes through the
// epilogue pass).
func TestLinearAdd(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, s := range []struct{ rows, in, out int }{{37, 23, 19}, {300, 330, 40}, {1, 5, 7}, {3, 9, rowAddsInKernel + 21}} {
			x, w := randSlice(1, s.rows*s.in), randSlice(2, s.out*s.in)
			bias, res := randSlice(3, s.out), randSlice(4, s.rows*s.out)
			for _, wt := range []Weights{{F32: w}, {F16: toF16(w)}} {
				for _, b := range [][]float32{bias, nil} {
					want := make([]float32, s.rows*s.out)
					Linear(want, x, wt, b, s.rows, s.in, s.out)
					for i := range want {
						want[i] += res[i]
					}
					got := nanSlice(len(want))
					LinearAdd(got, x, wt, b, res, s.rows, s.in, s.out)
					sameBits(t, name("%+v f16 %v bias %v", s, wt.F16 != nil, b != nil), got, want)
				}
			}
		}
	})
}

// TestPanelLanes16MatchesGo checks the vector fp16 lane packing (eight
// lanes by eight depths per block, Go for what is left) against
// panelLanes16Go bit for bit, for every panel width, short and ragged
// depths, partial panels and offsets, over normal, subnormal and signed-zero
// values, with the destination prefilled with garbage.
func TestPanelLanes16MatchesGo(t *testing.T) {
	vals := []uint16{0x0000, 0x8000, 0x0001, 0x83ff, 0x3c00, 0xbc00, 0x7bff, 0x0400, 0x3555, 0xc8a1}
	for _, w := range []int{6, 8, 12, 16, 32} {
		for _, kc := range []int{1, 3, 4, 7, 8, 9, 16, 23, 40} {
			for valid := 1; valid <= w; valid++ {
				for _, p0 := range []int{0, 5} {
					ld, r0 := p0+kc+3, 2
					src := make([]uint16, (r0+w)*ld)
					for i := range src {
						src[i] = vals[(i*7+i/5)%len(vals)] ^ uint16(i%3)<<4
					}
					got, want := nanSlice(kc*w), nanSlice(kc*w)
					panelLanes16(got, src, ld, r0, valid, p0, kc, w)
					panelLanes16Go(want, src, ld, r0, valid, p0, kc, w)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("w %d kc %d valid %d p0 %d: dst[%d] = %v, want %v", w, kc, valid, p0, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestPanelLanesMatchesGo checks the vector float32 lane packing (eight
// lanes, or the six of an AVX2 A panel, by eight depths per block; four by
// four in NEON) against
// panelLanesGo bit for bit, for every panel width, short and ragged depths,
// partial panels and offsets, and that nothing past the panel is written.
func TestPanelLanesMatchesGo(t *testing.T) {
	const guard = 16
	for _, w := range []int{6, 8, 12, 16, 32} {
		for _, kc := range []int{1, 3, 4, 7, 8, 9, 16, 23, 40} {
			for valid := 1; valid <= w; valid++ {
				for _, p0 := range []int{0, 5} {
					ld, r0 := p0+kc+3, 2
					src := randSlice(uint64(w*kc+valid), (r0+w)*ld)
					got, want := nanSlice(kc*w+guard), nanSlice(kc*w+guard)
					panelLanes(got[:kc*w], src, ld, r0, valid, p0, kc, w)
					panelLanesGo(want[:kc*w], src, ld, r0, valid, p0, kc, w)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("w %d kc %d valid %d p0 %d: dst[%d] = %v, want %v", w, kc, valid, p0, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestMicroKernelPanels checks that panels (one call over n A panels, for
// an assembly kernel) writes the same bits as one fn call per tile followed
// by the additions made in Go, with A panels spaced wider than they are
// long, beta 0 and 1, and each combination of column bias, row bias and
// residual.
func TestMicroKernelPanels(t *testing.T) {
	for _, mk := range append(kernels(), genericKernel("generic3x5", 3, 5)) {
		for _, c := range []struct{ n, k, gap, ldc int }{{1, 1, 0, 0}, {3, 7, 5, 3}, {7, 40, 0, 1}, {5, 258, 12, 17}} {
			as := mk.mr*c.k + c.gap
			ldc := mk.nr + c.ldc
			a, b := randSlice(1, c.n*as), randSlice(2, c.k*mk.nr)
			col, row, res := randSlice(4, mk.nr), randSlice(5, c.n*mk.mr), randSlice(6, c.n*mk.mr*ldc)
			for _, beta := range []float32{0, 1} {
				for mask := range 8 {
					add := maskAdds(mask, col, row, res)
					got, want := randSlice(3, c.n*mk.mr*ldc), randSlice(3, c.n*mk.mr*ldc)
					mk.panels(c.n, c.k, a, as, b, got, ldc, 0.5, beta, add)
					for i := range c.n {
						mk.fn(c.k, a[i*as:], b, want[i*mk.mr*ldc:], ldc, 0.5, beta)
					}
					for i := range want {
						r, j := i/ldc, i%ldc
						if j < mk.nr {
							if add.col != nil {
								want[i] += add.col[j]
							}
							if add.row != nil {
								want[i] += add.row[r]
							}
							if add.res != nil {
								want[i] += add.res[i]
							}
						}
						if got[i] != want[i] {
							t.Fatalf("%s n%d k%d beta %v mask %d: element %d is %v, want %v", mk.name, c.n, c.k, beta, mask, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
